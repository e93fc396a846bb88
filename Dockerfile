# One image for both tiers: the gateway (default command) and the worker
# (command: node dist/apps/worker/src/main.js). Scale them independently.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Builds and test suites clone repositories (git over https and ssh) in the worker, and every
# command a user controls runs in the worker's sandbox (README: "The sandbox"): bubblewrap,
# slirp4netns (network "internet"), util-linux (prlimit, setpriv, nsenter), iproute2 (ip).
RUN apt-get update && apt-get install -y --no-install-recommends \
    git ca-certificates openssh-client bubblewrap slirp4netns util-linux iproute2 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 3001
# V8 flags: see scripts/node-flags.js
CMD ["node", "--min-semi-space-size=8", "dist/apps/gateway/src/main.js"]
