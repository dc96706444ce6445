# One image for every process of the system; the compose file picks the entry point.

# The dashboard, built with the development dependencies (vite, React, codegen) that the image leaves out.
FROM node:20-bookworm-slim AS dashboard
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY dashboard ./dashboard
COPY docs ./docs
COPY gateway ./gateway
COPY shared ./shared
RUN npm run -s dashboard:build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY shared ./shared
COPY scripts ./scripts
COPY profiles ./profiles
COPY config ./config
COPY tsconfig.json ./
# Served by the gateway at /dashboard/ (DASHBOARD_DIR).
COPY --from=dashboard /app/dashboard/dist ./dashboard/dist
USER node
