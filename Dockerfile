# One image for the bot, the workers and the operator CLI; the command picks the role:
#   node dist/main.js bot | worker | all      (all without Slack credentials: the sandbox)
#   node bin/cws.mjs <same grammar as /cws>    (the operator CLI)
# Build: docker build -t ghcr.io/example/cws-chatops:0.1.0 .   (tag = package.json version)
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, TypeScript sources -> plain JavaScript bundles in dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: esbuild's binary comes from its platform package, and ssh2's optional
# native helper (via dockerode) is not needed.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
# The processes' bundle (scripts/build.mjs), then the CLI's own bundle: the repository's
# bin/cws.mjs runs the CLI's sources through tsx, a development dependency the runtime stage
# does not have, so the image's bin/cws.mjs loads dist/cli.js instead.
RUN node scripts/build.mjs \
 && node_modules/.bin/esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
      --packages=external --sourcemap=linked --log-level=warning --outfile=dist/cli.js \
 && mkdir -p image-bin \
 && printf '%s\n' '#!/usr/bin/env node' "// The image's CLI: the bundle of src/cli/main.ts (Dockerfile)." "await import('../dist/cli.js');" > image-bin/cws.mjs

# ---- runtime: production dependencies and the bundles only
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    OPS_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/image-bin ./bin
# Data files of the sandbox (`node dist/main.js all` with no Slack credentials): its page and
# its simulated cluster, found from the package root (src/sandbox/paths.ts). No code.
COPY src/sandbox/page ./src/sandbox/page
COPY src/sandbox/demo-fleet.yaml ./src/sandbox/demo-fleet.yaml
# `node` (uid 1000) from the base image; nothing under /app is writable by it.
USER 1000:1000
EXPOSE 3000 9464
# The ops port's liveness (every role serves /livez on OPS_PORT). No curl in slim images: node.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OPS_PORT||9464)+'/livez',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-old-space-size=192", "dist/main.js", "bot"]
