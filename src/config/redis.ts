/**
 * Every Redis client of every process comes from here: `redisConnection(REDIS_URL)` knows the
 * topology (a standalone server, TLS, a Sentinel group, a Redis Cluster: `parseRedisUrl`) and
 * makes clients through ioredis's own Sentinel and Cluster support, with the options of their
 * role. A Cluster client is typed as `Redis`: ioredis's `Cluster` has the same commands, and
 * BullMQ takes either as its `connection`.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { ConfigError, parseRedisUrl, type RedisTarget } from './env.ts';

export type { RedisTarget } from './env.ts';

/**
 * - `commands`: fails fast (one retry, no offline queue, 2 s to connect), so a Redis outage turns
 *   into a clear answer instead of a hung command: the bot's and the CLI's own commands and
 *   Queues.
 * - `shared`: never gives up (`maxRetriesPerRequest: null`, as BullMQ requires of anything a
 *   Worker uses): a worker's one client for its Queues, its Workers (BullMQ duplicates it for
 *   each Worker's blocking connection) and its own commands.
 * - `blocking`: like `shared` but lazy: a template BullMQ duplicates for each QueueEvents; it
 *   never connects itself.
 */
export type RedisRole = 'commands' | 'shared' | 'blocking';

const ROLE: Record<RedisRole, RedisOptions> = {
  commands: { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 },
  shared: { maxRetriesPerRequest: null },
  blocking: { maxRetriesPerRequest: null, lazyConnect: true },
};

export interface RedisConnection {
  readonly target: RedisTarget;
  /** `host:port,…` without credentials, for logs. */
  readonly where: string;
  /** A new client for `role`, named `name` in `CLIENT LIST`; the caller disconnects it. */
  client(role: RedisRole, name: string): Redis;
  /** BullMQ's `connection` for QueueEvents: one `blocking` template per connection, duplicated by BullMQ (closed by `close()`). */
  readonly bullmq: Redis;
  close(): void;
}

/** The environment that completes REDIS_URL (TLS files, the Sentinels' own credentials). */
export type RedisEnv = Partial<
  Record<'REDIS_TLS_CA_FILE' | 'REDIS_TLS_CERT_FILE' | 'REDIS_TLS_KEY_FILE' | 'REDIS_SENTINEL_USERNAME' | 'REDIS_SENTINEL_PASSWORD', string | undefined>
>;

/**
 * A connection was demoted under us (a Sentinel failover, a managed failover): writes answer
 * READONLY. Reconnect (ioredis asks the Sentinels for the master again) and resend the command.
 */
export const reconnectOnReadonly = (err: Error): 2 | false => (err.message.startsWith('READONLY') ? 2 : false);

/** The clients of REDIS_URL. TLS files are read here, once: a file that cannot be read is a ConfigError. */
export function redisConnection(url: string, env: RedisEnv = process.env): RedisConnection {
  const target = parseRedisUrl(url);
  const base = nodeOptions(target, tlsOptions(target, env), env);
  let template: Redis | undefined;
  return {
    target,
    where: whereOf(target),
    client: (role, name) => newClient(target, base, role, name),
    get bullmq() {
      if (!template) {
        template = newClient(target, base, 'blocking', 'cws:events');
        template.on('error', () => {});
      }
      return template;
    },
    close() {
      template?.disconnect();
    },
  };
}

const whereOf = (t: RedisTarget) => (t.kind === 'standalone' ? [t] : t.kind === 'sentinel' ? t.sentinels : t.nodes).map((n) => `${n.host}:${n.port}`).join(',');

/** A Redis, or for a cluster a Cluster (typed as Redis: same commands), with the options of `role`. */
function newClient(t: RedisTarget, base: RedisOptions, role: RedisRole, name: string, extra: { redis?: RedisOptions; cluster?: ClusterOptions } = {}): Redis {
  const opts = { ...base, ...ROLE[role], connectionName: name, ...extra.redis };
  if (t.kind !== 'cluster') return new Redis(opts);
  const { enableOfflineQueue, lazyConnect, ...redisOptions } = opts;
  const clusterOptions: ClusterOptions = {
    redisOptions,
    ...(enableOfflineQueue === false ? { enableOfflineQueue } : {}),
    ...(lazyConnect ? { lazyConnect } : {}),
    // A failover moves slots: wait it out rather than fail the command (ioredis retries on MOVED, TRYAGAIN, CLUSTERDOWN).
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    ...extra.cluster,
  };
  return new Cluster(t.nodes, clusterOptions) as unknown as Redis;
}

/** ioredis options of a node (standalone, or the master a Sentinel group names; for a cluster, its nodes' options), any role. */
function nodeOptions(t: RedisTarget, tls: TlsOptions | undefined, env: RedisEnv): RedisOptions {
  const base: RedisOptions = {
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
    ...(tls ? { tls } : {}),
    reconnectOnError: reconnectOnReadonly,
  };
  if (t.kind === 'standalone') return { ...base, host: t.host, port: t.port, db: t.db };
  if (t.kind === 'cluster') return base;
  return {
    ...base,
    sentinels: t.sentinels,
    name: t.master,
    role: 'master',
    ...(env.REDIS_SENTINEL_USERNAME ? { sentinelUsername: env.REDIS_SENTINEL_USERNAME } : {}),
    ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
    // Told of a failover by the Sentinels (+switch-master), the client moves to the new master at
    // once instead of writing on to the old one until it is demoted.
    failoverDetector: true,
  };
}

function tlsOptions(target: RedisTarget, env: RedisEnv): TlsOptions | undefined {
  const files = { ca: env.REDIS_TLS_CA_FILE, cert: env.REDIS_TLS_CERT_FILE, key: env.REDIS_TLS_KEY_FILE };
  const set = Object.entries(files).filter(([, v]) => v);
  const tls = target.kind === 'standalone' && target.tls;
  if (!tls) {
    if (set.length) throw new ConfigError(`REDIS_TLS_${set[0]![0].toUpperCase()}_FILE: is for a rediss:// REDIS_URL (TLS); REDIS_URL is not one`);
    return undefined;
  }
  if (Boolean(files.cert) !== Boolean(files.key))
    throw new ConfigError(files.cert ? 'REDIS_TLS_KEY_FILE: is required with REDIS_TLS_CERT_FILE' : 'REDIS_TLS_CERT_FILE: is required with REDIS_TLS_KEY_FILE');
  const read = (variable: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${variable}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const ca = read('REDIS_TLS_CA_FILE', files.ca);
  const cert = read('REDIS_TLS_CERT_FILE', files.cert);
  const key = read('REDIS_TLS_KEY_FILE', files.key);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** Resolves once the client can take commands (ioredis `ready`; connects a lazy one); rejects if it is closed for good. */
export async function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'wait') return client.connect();
  if (client.status === 'end') throw new Error('Redis connection is closed');
  await new Promise<void>((resolve, reject) => {
    const ready = () => (client.off('end', end), resolve());
    const end = () => (client.off('ready', ready), reject(new Error('Redis connection is closed')));
    client.once('ready', ready);
    client.once('end', end);
  });
}

/** Options both ioredis and BullMQ accept (BullMQ's typing of retryStrategy is narrower). */
export type BullOptions = Omit<RedisOptions, 'retryStrategy'>;
const URL_OF = Symbol.for('cws.redisUrl');
type TaggedOptions = BullOptions & { [URL_OF]?: string };

/**
 * BullMQ `connection` options that carry REDIS_URL, for `startWorkers({ connection })`: it makes
 * its clients with `redisConnection(url)` (any topology, one shared client). Read as plain
 * options they are those of the server or Sentinel group (a cluster's first node: its commands
 * would answer MOVED), never giving up (`maxRetriesPerRequest: null`).
 */
export function blockingOptions(url: string, env: RedisEnv = process.env): BullOptions {
  const t = parseRedisUrl(url);
  const opts: TaggedOptions = { ...nodeOptions(t, tlsOptions(t, env), env), ...(t.kind === 'cluster' ? t.nodes[0] : {}), maxRetriesPerRequest: null };
  Object.defineProperty(opts, URL_OF, { value: url, enumerable: true });
  return opts;
}

/** The REDIS_URL that `blockingOptions` put in these options, if it did. */
export function urlOf(options: object): string | undefined {
  return (options as TaggedOptions)[URL_OF];
}

/**
 * Start-up check: one clear configuration error when Redis is not there, or is not what the URL
 * says (a Sentinel or a Cluster node behind a redis:// URL, a read-only replica), instead of
 * retries forever.
 */
export async function assertRedisReachable(url: string, env: RedisEnv = process.env): Promise<void> {
  const t = parseRedisUrl(url);
  // Gives up instead of retrying: the first failure is the answer.
  const probe = newClient(t, nodeOptions(t, tlsOptions(t, env), env), 'blocking', 'cws:probe', {
    redis: { retryStrategy: () => null, maxRetriesPerRequest: 1, sentinelRetryStrategy: () => null, failoverDetector: false },
    cluster: { clusterRetryStrategy: () => null },
  });
  // The socket error (e.g. ECONNREFUSED) says more than connect()'s "Connection is closed", and an
  // error event nobody listens to would be printed by ioredis as "Unhandled error event".
  let socketError: Error | undefined;
  probe.on('error', (err: Error) => (socketError ??= err));
  try {
    await probe.connect();
    const info = String(await probe.info('server')) + String(await probe.info('replication'));
    if (t.kind === 'standalone') {
      const where = `${t.host}:${t.port}`;
      if (/redis_mode:sentinel/.test(info)) throw new ConfigError(`REDIS_URL: ${where} is a Sentinel; use redis+sentinel://${where}[,host:port…]/<master>`);
      if (/redis_mode:cluster/.test(info)) throw new ConfigError(`REDIS_URL: ${where} is a Redis Cluster node; use redis+cluster://${where}[,host:port…]`);
      if (/role:slave/.test(info))
        throw new ConfigError(`REDIS_URL: ${where} is a read-only replica; point at the master, or at its Sentinels with redis+sentinel://…/<master>`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`REDIS_URL: cannot reach Redis at ${whereOf(t)} (${(socketError ?? (err as Error)).message})`);
  } finally {
    probe.disconnect();
  }
}
