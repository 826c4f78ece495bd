/**
 * `npm start` without Slack credentials: the whole product on one machine, no Slack needed.
 *
 *   redis-server (private, unless REDIS_URL)  ←  bot (Bolt, HTTP on a loopback port)  →  Web API emulator
 *                                             ←  worker  →  Kubernetes API simulator (demo fleet) + configured clusters
 *   browser  →  sandbox server (page + JSON/SSE)  →  signed requests to the bot's /slack/events
 *
 * The bot and the worker are the production ones (createBot, startWorkers); only Slack is
 * replaced, by the emulator (Web API) and the sandbox client (what Slack sends to the app).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ClustersFile, KubernetesCluster, loadClustersFile } from '../config/clusters.ts';
import { ConfigError, parseEnv } from '../config/env.ts';
import { assertRedisReachable, blockingOptions } from '../config/redis.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { OpsListenError, type OpsServer, startOpsServer } from '../observability/ops-server.ts';
import type { ReadinessCheck } from '../observability/readiness.ts';
import { type Fleet, FleetError, loadFleet } from '../sim/fleet.ts';
import { type Simulator, startSimulator } from '../sim/index.ts';
import { type Bot, createBot } from '../bot/app.ts';
import { startWorkers } from '../../workers/main.ts';
import { SandboxClient } from './client.ts';
import { demoFleetPath } from './paths.ts';
import { startPrivateRedis } from './redis.ts';
import { type SandboxServer, startSandboxServer } from './server.ts';
import { SlackSigner } from './signer.ts';
import { SlackEmulator } from './slack-api.ts';

export const DEMO_CLUSTER = 'demo';
export const SANDBOX_USER = { id: 'U0SANDBOX', name: 'you' } as const;
export const SANDBOX_CHANNEL = { id: 'C0SANDBOX', name: 'cws-sandbox' } as const;
/** The demo cluster's incident channel: every job and change on `demo` is mirrored there (issue 17). */
export const SANDBOX_INCIDENT_CHANNEL = { id: 'C0INCIDENT', name: 'cws-incident' } as const;
/** A second person, who may approve what `you` ask (two-person approval of "Disable CWS" on `demo`). */
export const SANDBOX_APPROVER = { id: 'U0APPROVER', name: 'alex' } as const;
/** users.info gives it, so the flare's email modal comes prefilled as it would from a Slack profile. */
const SANDBOX_EMAIL = 'you@example.com';

export interface SandboxOptions {
  logger: Logger;
  /** Clusters from CWS_CONFIG, served beside the demo one. */
  configured?: ClustersFile['clusters'];
  /** A running Redis; without it a private redis-server is started (and stopped). */
  redisUrl?: string;
  /** Of the page; defaults 127.0.0.1 and 3000 (0 = a free port). */
  host?: string;
  port?: number;
  /** WORKER_CLUSTERS: the demo cluster is always served. */
  workerClusters?: string[];
  lockDurationMs?: number;
  concurrency?: number;
  /** Default src/sandbox/demo-fleet.yaml. */
  fleetPath?: string;
  /** The process's metrics (`npm start` serves them on OPS_PORT). */
  metrics?: Metrics;
}

export interface Sandbox {
  /** The page, e.g. http://127.0.0.1:3000/ */
  url: string;
  clusters: ClustersFile;
  redisUrl: string;
  /** The demo cluster's fleet spec, as the simulator serves it. */
  fleet: Fleet;
  sim: Simulator;
  emu: SlackEmulator;
  bot: Bot;
  server: SandboxServer;
  /** As in production: the bot's and the worker's readiness (/readyz). */
  readiness: ReadinessCheck;
  /** Stops everything it started, last started first. Idempotent. */
  stop(): Promise<void>;
}

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  const stops: { what: string; stop: () => Promise<void> }[] = [];
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      for (const s of stops.reverse()) await s.stop().catch((err: unknown) => o.logger.warn({ err, step: s.what }, 'sandbox: stopping failed'));
    })());
  try {
    const redisUrl = await redis(o, stops);
    const dir = await mkdtemp(join(tmpdir(), 'cws-sandbox-'));
    stops.push({ what: 'temp dir', stop: () => rm(dir, { recursive: true, force: true }) });

    const fleet = demoFleet(o.fleetPath ?? demoFleetPath());
    const sim = await startSimulator({ fleet });
    stops.push({ what: 'simulator', stop: () => sim.close() });
    const kubeconfig = join(dir, `${DEMO_CLUSTER}.kubeconfig`);
    await sim.writeKubeconfig(kubeconfig);
    const clusters = withDemoCluster(o.configured ?? {}, kubeconfig, sim.contextName);

    const botToken = `xoxb-sandbox-${randomBytes(12).toString('hex')}`;
    const emu = await SlackEmulator.start({ token: botToken, clock: 'wall', strictTriggers: true });
    stops.push({ what: 'emulator', stop: () => emu.close() });
    emu.users.set(SANDBOX_USER.id, { ...SANDBOX_USER, email: SANDBOX_EMAIL });
    emu.channels.set(SANDBOX_CHANNEL.id, SANDBOX_CHANNEL.name);
    emu.channels.set(SANDBOX_INCIDENT_CHANNEL.id, SANDBOX_INCIDENT_CHANNEL.name);
    emu.users.set(SANDBOX_APPROVER.id, { ...SANDBOX_APPROVER, email: 'alex@example.com' });

    const workers = await startWorkers({
      clusters,
      ...(o.workerClusters ? { serve: [...new Set([...o.workerClusters, DEMO_CLUSTER])] } : {}),
      connection: blockingOptions(redisUrl),
      logger: o.logger.child({ role: 'worker' }),
      ...(o.lockDurationMs ? { lockDurationMs: o.lockDurationMs } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.metrics ? { metrics: o.metrics } : {}),
    });
    stops.push({ what: 'worker', stop: () => workers.close() });

    // A fresh secret per run, known only to the bot and the sandbox client.
    const signingSecret = randomBytes(32).toString('hex');
    const bot = createBot({
      botToken,
      signingSecret,
      slackApiUrl: emu.url,
      redisUrl,
      clusters,
      logger: o.logger.child({ role: 'bot' }),
      ...(o.metrics ? { metrics: o.metrics } : {}),
    });
    const botPort = (await bot.start({ port: 0, host: '127.0.0.1' }))!;
    stops.push({ what: 'bot', stop: () => bot.stop() });

    const signer = new SlackSigner({ secret: signingSecret, url: `http://127.0.0.1:${botPort}/slack/events` });
    const clientOf = (user: { id: string; name: string }) =>
      new SandboxClient({ emu, signer, user: { id: user.id, name: user.name }, logger: o.logger.child({ component: 'sandbox-client', user: user.id }) });
    // The page acts as `you` and, through its user switcher, as `alex` (who may approve what `you` ask).
    const client = clientOf(SANDBOX_USER);
    const others = [clientOf(SANDBOX_APPROVER)];
    const server = await listen(
      () => startSandboxServer({ client, others, emu, logger: o.logger.child({ component: 'sandbox' }), host: o.host ?? '127.0.0.1', port: o.port ?? 3000 }),
      o,
    );
    stops.push({ what: 'sandbox server', stop: () => server.close() });

    const readiness = async () => (await bot.readiness()) ?? (await workers.readiness());
    return { url: server.url, clusters, redisUrl, fleet, sim, emu, bot, server, readiness, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The private redis-server, or the given REDIS_URL once it answers. */
async function redis(o: SandboxOptions, stops: { what: string; stop: () => Promise<void> }[]): Promise<string> {
  if (o.redisUrl) {
    await assertRedisReachable(o.redisUrl);
    return o.redisUrl;
  }
  const r = await startPrivateRedis();
  stops.push({ what: 'redis-server', stop: () => r.stop() });
  return r.url;
}

function demoFleet(path: string) {
  try {
    return loadFleet(path);
  } catch (err) {
    if (err instanceof FleetError) throw new ConfigError(`demo fleet: ${err.message.split('\n')[0]}`);
    throw err;
  }
}

/** The configured clusters, then the simulated `demo` one (a configured `demo` would be ambiguous). */
export function withDemoCluster(configured: ClustersFile['clusters'], kubeconfig: string, context: string): ClustersFile {
  if (configured[DEMO_CLUSTER])
    throw new ConfigError(`CWS_CONFIG: cluster "${DEMO_CLUSTER}" is the sandbox's simulated cluster; rename yours (or run with SANDBOX=0)`);
  // Jobs on `demo` are mirrored to #cws-incident; "Disable CWS" waits for a second person's
  // approval: both sandbox people are approvers (never of their own request), named, so their
  // App Homes are republished as a request opens and closes.
  const demo = KubernetesCluster.parse({
    kind: 'kubernetes',
    kubeconfig,
    context,
    incidentChannel: SANDBOX_INCIDENT_CHANNEL.id,
    requireApproval: ['disable_cws'],
    access: { approve: [SANDBOX_USER.id, SANDBOX_APPROVER.id] },
  });
  return ClustersFile.parse({ clusters: { ...configured, [DEMO_CLUSTER]: demo } });
}

async function listen(start: () => Promise<SandboxServer>, o: SandboxOptions): Promise<SandboxServer> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new ConfigError(`SANDBOX_PORT: port ${o.port ?? 3000} on ${o.host ?? '127.0.0.1'} is in use (set SANDBOX_PORT to another port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ConfigError(`SANDBOX_HOST: cannot listen on ${o.host} (${code})`);
    throw err;
  }
}

// ------------------------------------------------------------------------------------ npm start

/** `npm start` in sandbox mode: start, print the banner, stop cleanly on Ctrl-C / SIGTERM. */
export async function runSandbox(source: Record<string, string | undefined>): Promise<void> {
  // The Slack variables are not needed here; they are still validated when set.
  const env = parseEnv(source, 'worker');
  // The banner is the interface; JSON logs only from warnings on unless LOG_LEVEL says otherwise.
  const logger = createLogger(source.LOG_LEVEL ? env.LOG_LEVEL : 'warn');
  // The ops endpoints as in production, on loopback unless OPS_HOST says otherwise.
  const metrics = createMetrics();
  const readiness: ReadinessCheck[] = [async () => 'starting'];
  const ops = await sandboxOps(env.OPS_HOST ?? '127.0.0.1', env.OPS_PORT, metrics, readiness, logger);
  const sandbox = await startSandbox({
    logger,
    metrics,
    configured: configuredClusters(env.CWS_CONFIG, source.CWS_CONFIG !== undefined && source.CWS_CONFIG !== ''),
    ...(source.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    host: env.SANDBOX_HOST,
    port: env.SANDBOX_PORT,
    ...(env.WORKER_CLUSTERS ? { workerClusters: env.WORKER_CLUSTERS } : {}),
    lockDurationMs: env.WORKER_LOCK_MS,
    ...(env.WORKER_CONCURRENCY ? { concurrency: env.WORKER_CONCURRENCY } : {}),
  });
  readiness.splice(0, 1, sandbox.readiness);
  process.stdout.write(banner(sandbox, env.SANDBOX_HOST, Boolean(source.REDIS_URL)));
  stopOnSignals(() => sandbox.stop().finally(() => ops?.close()));
}

/** Its ops server, or none when OPS_PORT is taken (said in one line: the sandbox runs on). */
async function sandboxOps(host: string, port: number, metrics: Metrics, readiness: ReadinessCheck[], logger: Logger): Promise<OpsServer | undefined> {
  try {
    return await startOpsServer({ host, port, registry: metrics.registry, readiness, logger: logger.child({ component: 'ops' }) });
  } catch (err) {
    if (!(err instanceof OpsListenError)) throw err;
    if (err.code !== 'EADDRINUSE') throw new ConfigError(err.message);
    process.stderr.write(`cws sandbox: ${err.message}: no /livez, /readyz or /metrics\n`);
    return undefined;
  }
}

/** CWS_CONFIG when it exists; the default cws.yaml may be absent (a fresh checkout), a named file may not. */
function configuredClusters(path: string, named: boolean): ClustersFile['clusters'] {
  if (!named && !existsSync(path)) return {};
  return loadClustersFile(path).clusters;
}

function banner(s: Sandbox, host: string, externalRedis: boolean): string {
  const others = Object.entries(s.clusters.clusters).filter(([name]) => name !== DEMO_CLUSTER);
  const lines = [
    '',
    'cws sandbox: no Slack credentials, so Slack is simulated on this machine.',
    '',
    `  Open ${s.url} and type /cws selftest ${DEMO_CLUSTER}  (or /cws netcheck ${DEMO_CLUSTER}, /cws help)`,
    `  Every job on ${DEMO_CLUSTER} also shows in #${SANDBOX_INCIDENT_CHANNEL.name}; "Disable CWS" on ${DEMO_CLUSTER} needs a second person's approval: set "Act as" to ${SANDBOX_APPROVER.name} on the page, open Home.`,
    '',
    `  ${DEMO_CLUSTER}: SIMULATED Kubernetes cluster (${describeFleet(s.fleet)}) — nothing real is touched`,
    ...others.map(([name, c]) => `  ${name}: ${c.kind} (from CWS_CONFIG) — real: commands and buttons act on it`),
    `  Redis: ${externalRedis ? s.redisUrl : 'private redis-server, no persistence'}`,
    ...(isLoopbackHost(host) ? [] : [`  WARNING: listening on ${host}: anyone who can reach it can run commands (no authentication).`]),
    '',
    '  Ctrl-C stops everything. With SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) set, npm start runs against Slack.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** "5 nodes, agent 7.39.1, cilium v1.9.5", read from the fleet so the banner follows its file. */
function describeFleet(f: Fleet): string {
  const tag = (image: string) => image.slice(image.lastIndexOf(':') + 1);
  return [`${f.nodes.count} nodes`, `agent ${tag(f.agent.image)}`, ...(f.cni ? [`${f.cni.daemonSet} ${tag(f.cni.image)}`] : [])].join(', ');
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** First signal: stop in order, then exit 0. A second one: exit now (the redis child is killed on exit). */
function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`cws sandbox: ${signal}, stopping…\n`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
