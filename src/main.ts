import { loadClustersFile } from './config/clusters.ts';
import { ConfigError, parseEnv } from './config/env.ts';
import { assertRedisReachable, blockingOptions } from './config/redis.ts';
import { createLogger } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { OpsListenError, type OpsServer, type OpsServerOptions, startOpsServer } from './observability/ops-server.ts';
import type { ReadinessCheck } from './observability/readiness.ts';
import { sandboxRequested } from './sandbox/mode.ts';

/** A SIGTERM is answered within this (below Kubernetes' default grace of 30 s); past it the process exits 1. */
const SHUTDOWN_MS = 25_000;
/** Jobs still running this long after SIGTERM go back to the queue (another worker runs them). */
const HAND_BACK_AFTER_MS = 18_000;
/** Time the bot takes at most to post the results of jobs that finished meanwhile. */
const BOT_DRAIN_MS = 5_000;

/** `npm run bot`, `npm run worker`, `npm start` (both in one process). */
async function main(role: 'bot' | 'worker' | 'all'): Promise<void> {
  const env = parseEnv(process.env, role);
  const clusters = loadClustersFile(env.CWS_CONFIG);
  const logger = createLogger(env.LOG_LEVEL);

  // The ops endpoints first, so /livez answers while the rest starts; /readyz says "starting" until it has.
  const metrics = createMetrics();
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  const readiness: ReadinessCheck[] = [async () => (phase === 'running' ? undefined : phase === 'starting' ? 'starting' : 'shutting down')];
  const ops = await startOps({
    host: env.OPS_HOST ?? '0.0.0.0',
    port: env.OPS_PORT,
    registry: metrics.registry,
    readiness,
    logger: logger.child({ component: 'ops' }),
  });

  let bot: import('./bot/app.ts').Bot | undefined;
  let workers: import('../workers/main.ts').WorkerProcess | undefined;
  // SIGTERM (Kubernetes, docker stop) and SIGINT (Ctrl-C): stop taking work, finish or hand back
  // what runs, post what finished, close Redis, exit 0 — within SHUTDOWN_MS. A second signal exits now.
  const shutdown = async (signal: string) => {
    if (phase === 'stopping') {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    phase = 'stopping';
    const t0 = Date.now();
    let waitingFor = 'nothing yet';
    const force = setTimeout(() => {
      logger.error({ waitingFor }, `shutdown did not finish within ${SHUTDOWN_MS / 1000} s (still waiting for ${waitingFor}); exiting`);
      process.exit(1);
    }, SHUTDOWN_MS);
    logger.info({ signal }, `shutting down (at most ${SHUTDOWN_MS / 1000} s)`);
    const step = async (what: string, stop: () => Promise<unknown>) => {
      waitingFor = what;
      const t = Date.now();
      await stop().catch((err: unknown) => logger.warn({ err, step: what }, 'shutdown step failed'));
      logger.info({ step: what, ms: Date.now() - t }, `stopped: ${what}`);
    };
    const b = bot;
    const w = workers;
    if (b) await step("the bot's Slack intake (HTTP server or Socket Mode)", () => b.app.stop());
    if (w) await step('the running jobs', () => w.close({ handBackAfterMs: HAND_BACK_AFTER_MS }));
    if (b)
      await step("the bot's last results and Redis", () => b.stop({ drainMs: Math.max(500, Math.min(BOT_DRAIN_MS, SHUTDOWN_MS - 2000 - (Date.now() - t0))) }));
    if (ops) await step('the ops server', () => ops.close());
    clearTimeout(force);
    logger.info({ ms: Date.now() - t0 }, 'shut down');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  // Fail early and clearly when Redis is not there.
  await assertRedisReachable(env.REDIS_URL);

  // Each role loads only its own modules: a worker never loads Bolt, a bot never loads the
  // cluster clients (which also keeps the worker's memory within its budget).
  if (role === 'worker' || role === 'all') {
    const { startWorkers } = await import('../workers/main.ts');
    const started = await startWorkers({
      clusters,
      serve: env.WORKER_CLUSTERS,
      connection: blockingOptions(env.REDIS_URL),
      logger: logger.child({ role: 'worker' }),
      lockDurationMs: env.WORKER_LOCK_MS,
      ...(env.WORKER_CONCURRENCY ? { concurrency: env.WORKER_CONCURRENCY } : {}),
      metrics,
    });
    workers = started;
    readiness.push(() => started.readiness());
  }
  if (role === 'bot' || role === 'all') {
    const { createBot } = await import('./bot/app.ts');
    const created = createBot({
      botToken: env.SLACK_BOT_TOKEN!,
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
      ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
      ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
      redisUrl: env.REDIS_URL,
      clusters,
      logger: logger.child({ role: 'bot' }),
      metrics,
    });
    bot = created;
    readiness.push(() => created.readiness());
    const port = await created.start(env.PORT);
    logger.info(port === undefined ? 'bot connected to Slack (Socket Mode)' : `bot listening on :${port} (POST /slack/events)`);
  }
  if (phase === 'starting') phase = 'running';
}

/**
 * The ops server, or none when its port is taken (two processes on one machine with the default
 * OPS_PORT: the second serves none, and says so once). Any other failure is a configuration error.
 */
async function startOps(o: OpsServerOptions): Promise<OpsServer | undefined> {
  try {
    return await startOpsServer(o);
  } catch (err) {
    if (err instanceof OpsListenError && err.code === 'EADDRINUSE') {
      o.logger.warn(`${err.message}: this process serves no /livez, /readyz or /metrics`);
      return undefined;
    }
    if (err instanceof OpsListenError) throw new ConfigError(err.message);
    throw err;
  }
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
