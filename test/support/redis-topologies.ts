/**
 * Real Redis topologies on loopback for tests, each node a private process
 * (src/sandbox/redis.ts) stopped by stop():
 *  - `startRedisCluster()`: 3 masters, `redis-cli --cluster create`, `redis+cluster://…`;
 *  - `startSentinelGroup()`: a master and a replica (AOF, `appendfsync always`) and 3
 *    `redis-sentinel` processes, `redis+sentinel://…/cws`.
 * `missing(...binaries)` says why a test cannot run here (printed, and fatal under CI).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freeLoopbackPort, type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';

const run = promisify(execFile);

/** The binaries of `names` not on PATH, as one reason ('' when all are there). */
export function missing(...names: string[]): string {
  const absent = names.filter((n) => {
    try {
      execFileSync('sh', ['-c', `command -v ${n}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  return absent.length
    ? `${absent.join(', ')} not on PATH (Debian: apt-get install ${absent.map((a) => (a === 'redis-sentinel' ? a : 'redis-server')).join(' ')})`
    : '';
}

/** Polls `check` until it returns a value, or throws after `ms` with what it last saw. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Waits for `p`, at most `ms` (a close that hangs must not keep the Redis processes alive after the test). */
export async function within(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** One command on a node, on a connection of its own. */
export async function on<T = unknown>(port: number, ...args: (string | number)[]): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.call(String(args[0]), ...args.slice(1).map(String))) as T;
  } finally {
    r.disconnect();
  }
}

export interface RedisClusterProcesses {
  url: string;
  nodes: PrivateRedis[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterProcesses> {
  const nodes: PrivateRedis[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      // The cluster bus on a port of its own (the default, port + 10000, may be taken or past 65535).
      const bus = await freeLoopbackPort();
      nodes.push(
        await startPrivateRedis({
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(bus), '--cluster-node-timeout', '2000'],
        }),
      );
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const n of nodes) await until(`cluster state ok on ${n.port}`, async () => /cluster_state:ok/.test(await on<string>(n.port, 'CLUSTER', 'INFO')));
    return { url: `redis+cluster://${addrs.join(',')}`, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const SENTINEL_MASTER = 'cws';

export interface SentinelGroup {
  url: string;
  /** The two data nodes; which one is master changes with failovers. */
  nodes: PrivateRedis[];
  sentinels: PrivateRedis[];
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /** The data node that is master now. */
  master(): Promise<PrivateRedis>;
  /** Resolves once every Sentinel names a master other than `fromPort`, and it takes writes; its port. */
  switched(fromPort: number, ms?: number): Promise<number>;
  /**
   * Resolves once the master's writes so far are on its replica (`WAIT 1`): replication is
   * asynchronous, so a replica promoted while it lags (e.g. still resyncing after an earlier
   * failover made it one) comes up without the latest writes, whatever the AOF of the old master.
   */
  replicated(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A master, its replica (both AOF, fsync always) and 3 Sentinels (quorum 2, down after 1 s). */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const nodes: PrivateRedis[] = [];
  const sentinels: PrivateRedis[] = [];
  const stop = async () => {
    await Promise.all(sentinels.map((s) => s.stop()));
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    const master = await startPrivateRedis({ persistence: 'aof' });
    nodes.push(master);
    nodes.push(await startPrivateRedis({ persistence: 'aof', args: ['--replicaof', '127.0.0.1', String(master.port)] }));
    await until('replica in sync', async () => /master_link_status:up/.test(await on<string>(nodes[1]!.port, 'INFO', 'replication')));
    for (let i = 0; i < 3; i++)
      sentinels.push(
        await startPrivateRedis({
          sentinel: [
            `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${master.port} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
            `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
            `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          ],
        }),
      );
    // Each Sentinel knows the replica and the two other Sentinels (hello messages, about 2 s).
    for (const s of sentinels)
      await until(`sentinel ${s.port} sees the group`, async () => {
        const m = fields(await on<string[]>(s.port, 'SENTINEL', 'MASTER', SENTINEL_MASTER));
        return m['num-other-sentinels'] === '2' && m['num-slaves'] === '1';
      });
    const masterPort = async () => Number((await on<string[]>(sentinels[0]!.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER))[1]);
    return {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_MASTER}`,
      nodes,
      sentinels,
      masterPort,
      async master() {
        const port = await masterPort();
        return nodes.find((n) => n.port === port)!;
      },
      async switched(fromPort, ms = 30_000) {
        return until(
          `failover away from ${fromPort}`,
          async () => {
            const ports = await Promise.all(
              sentinels.map(async (s) => Number((await on<string[]>(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER))[1])),
            );
            if (ports.some((p) => p === fromPort) || new Set(ports).size !== 1) return undefined;
            return /role:master/.test(await on<string>(ports[0]!, 'INFO', 'replication')) ? ports[0] : undefined;
          },
          ms,
        );
      },
      async replicated(ms = 30_000) {
        await until(
          'the replica has every write of the master',
          async () => (Number(await on<number>(await masterPort(), 'WAIT', 1, 500)) >= 1 ? true : undefined),
          ms,
        );
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function fields(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
