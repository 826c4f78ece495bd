# One image for the bot and the workers; the command picks the role.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
COPY tsconfig.json cws.example.yaml ./
# Processes run the bundle (plain JavaScript): see scripts/build.mjs for why.
RUN node scripts/build.mjs
USER node
CMD ["node", "dist/main.js", "bot"]
