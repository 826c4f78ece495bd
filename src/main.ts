import { loadClustersFile } from './config/clusters.ts';
import { ConfigError, parseEnv } from './config/env.ts';
import { assertRedisReachable, blockingOptions } from './config/redis.ts';
import { createLogger } from './observability/logger.ts';
import { sandboxRequested } from './sandbox/mode.ts';

/** `npm run bot`, `npm run worker`, `npm start` (both in one process). */
async function main(role: 'bot' | 'worker' | 'all'): Promise<void> {
  const env = parseEnv(process.env, role);
  const clusters = loadClustersFile(env.CWS_CONFIG);
  const logger = createLogger(env.LOG_LEVEL);

  // Fail early and clearly when Redis is not there.
  await assertRedisReachable(env.REDIS_URL);

  const stops: (() => Promise<void>)[] = [];
  // Each role loads only its own modules: a worker never loads Bolt, a bot never loads the
  // cluster clients (which also keeps the worker's memory within its budget).
  if (role === 'worker' || role === 'all') {
    const { startWorkers } = await import('../workers/main.ts');
    const workers = await startWorkers({
      clusters,
      serve: env.WORKER_CLUSTERS,
      connection: blockingOptions(env.REDIS_URL),
      logger: logger.child({ role: 'worker' }),
      lockDurationMs: env.WORKER_LOCK_MS,
      ...(env.WORKER_CONCURRENCY ? { concurrency: env.WORKER_CONCURRENCY } : {}),
    });
    stops.push(() => workers.close());
  }
  if (role === 'bot' || role === 'all') {
    const { createBot } = await import('./bot/app.ts');
    const bot = createBot({
      botToken: env.SLACK_BOT_TOKEN!,
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
      ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
      ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
      redisUrl: env.REDIS_URL,
      clusters,
      logger: logger.child({ role: 'bot' }),
    });
    const port = await bot.start(env.PORT);
    logger.info(port === undefined ? 'bot connected to Slack (Socket Mode)' : `bot listening on :${port} (POST /slack/events)`);
    stops.unshift(() => bot.stop());
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    for (const stop of stops) await stop().catch((err) => logger.warn({ err }, 'shutdown step failed'));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

const role = (process.argv[2] ?? 'all') as 'bot' | 'worker' | 'all';
if (!['bot', 'worker', 'all'].includes(role)) {
  console.error(`usage: tsx src/main.ts [bot|worker|all] (got "${role}")`);
  process.exit(2);
}
// `npm start` without Slack credentials (or with SANDBOX=1): the local sandbox, loaded only then.
const sandbox = role === 'all' && sandboxRequested(process.env);
const run = sandbox ? import('./sandbox/start.ts').then((m) => m.runSandbox(process.env)) : main(role);
run.catch((err) => {
  if (err instanceof ConfigError) {
    console.error(`cws: configuration error: ${err.message}`);
    process.exit(78);
  }
  console.error('cws: failed to start:', err);
  process.exit(1);
});
