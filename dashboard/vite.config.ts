import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
/** Where `vite dev` sends the graph and the dashboard's runtime routes (a gateway on its default port). */
const gateway = process.env.DASHBOARD_GATEWAY_URL ?? 'http://127.0.0.1:4000';

/**
 * The dashboard (index.html) and the offline GraphQL IDE (ide.html), built into dashboard/dist for
 * the gateway to serve at /dashboard/ (`npm run dashboard:build`).
 */
export default defineConfig({
  root,
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2_000,
    rollupOptions: { input: { index: `${root}index.html`, ide: `${root}ide.html` } },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/graphql': { target: gateway, ws: true, changeOrigin: false },
      '/dashboard/config.json': gateway,
      '/dashboard/dev-token': gateway,
    },
  },
});
