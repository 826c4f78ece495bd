# One image for the bot and the workers; the command picks the role.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY tsconfig.json cws.example.yaml ./
USER node
CMD ["node", "--import", "tsx", "src/main.ts", "bot"]
