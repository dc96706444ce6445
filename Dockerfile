# One image for every process of the system; the compose file picks the entry point.
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
USER node
