/**
 * One flare at a time per node per cluster. The agent writes its archive to
 * `/tmp/datadog-agent-<second>-<level>.zip`: two flares on one node in the same second share the
 * path, so Send of one review would upload the other's archive. The lock makes that impossible
 * for flares started by the bot, for the life of the review (build, review, upload).
 *
 *   bot     enqueues the job, then takes the lock naming that job (SET NX through
 *           JobTracker.once, with a TTL bounding a review's life); when the lock is held, it
 *           removes its job and answers "a flare is already under review on node-3 by <@U…> (job …)".
 *   worker  checks the lock names its job (waiting briefly for the bot to take it), then keeps it
 *           with a short TTL renewed while it holds the agent's session, and releases it at the
 *           end — sent, cancelled, expired or failed. A worker that dies stops renewing: the lock
 *           lapses within HEARTBEAT_TTL_MS.
 *
 * Host and Docker clusters have one agent: their lock is per cluster (`*`).
 */
import { keys } from './keys.ts';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const FlareLockHolder = z.object({
  /** Slack user who asked for the flare. */
  by: z.string(),
  /** The flare job holding the lock. */
  job: z.string(),
  /** The node, once known (the worker fills it in for host and Docker agents). */
  node: z.string().optional(),
  at: z.string(),
});
export type FlareLockHolder = z.infer<typeof FlareLockHolder>;

/** The lock's scope: per node on Kubernetes, per cluster where there is a single agent. */
export function flareLockScope(cluster: string, kind: 'kubernetes' | 'docker' | 'host', node?: string): string {
  return `flare-lock:${cluster}:${kind === 'kubernetes' && node ? node : '*'}`;
}

/** The Redis key of a scope: JobTracker.once(scope) keeps its claims at `cws:once:<scope>`. */
export const flareLockKey = keys.once;

/** How long the worker's lock lives without renewal, and how often it renews it. */
export const HEARTBEAT_TTL_MS = 60_000;
export const HEARTBEAT_EVERY_MS = 15_000;

export function parseHolder(raw: string | null | undefined): FlareLockHolder | undefined {
  if (!raw) return undefined;
  try {
    const p = FlareLockHolder.safeParse(JSON.parse(raw));
    return p.success ? p.data : undefined;
  } catch {
    return undefined;
  }
}

// KEYS[1] lock; ARGV[1] job id; ARGV[2] new value or ''; ARGV[3] ttl ms. Renews (and rewrites) only our own lock.
const RENEW = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, h = pcall(cjson.decode, v)
if not ok or type(h) ~= 'table' or h.job ~= ARGV[1] then return -1 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;
// KEYS[1] lock; ARGV[1] job id. Deletes only our own lock.
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, h = pcall(cjson.decode, v)
if not ok or type(h) ~= 'table' or h.job ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1`;

export type WorkerLock = { held: true; holder: FlareLockHolder } | { held: false; holder: FlareLockHolder | undefined };

/** The worker's view of the locks (Redis in production; `memoryLocks` in tests that run no Redis). */
export interface FlareLocks {
  /**
   * Makes sure the lock names `want.job`, and takes it when nobody holds it (a job queued by an
   * older bot, or whose bot lock lapsed while it waited). `waitMs` covers the bot taking the lock
   * just after enqueueing.
   */
  acquire(scope: string, want: { job: string; by: string; node?: string }, waitMs?: number): Promise<WorkerLock>;
  /** Renews the lock while it is `job`'s; false once it is not (lapsed or taken). */
  renew(scope: string, job: string): Promise<boolean>;
  /** Releases the lock if `job` holds it; never someone else's. */
  release(scope: string, job: string): Promise<boolean>;
}

const holderValue = (want: { job: string; by: string; node?: string }) =>
  JSON.stringify({ by: want.by, job: want.job, ...(want.node ? { node: want.node } : {}), at: new Date().toISOString() } satisfies FlareLockHolder);

export function redisLocks(redis: Redis): FlareLocks {
  return {
    async acquire(scope, want, waitMs = 5_000) {
      const key = flareLockKey(scope);
      const value = holderValue(want);
      const until = Date.now() + waitMs;
      for (;;) {
        const renewed = Number(await redis.eval(RENEW, 1, key, want.job, value, String(HEARTBEAT_TTL_MS)));
        if (renewed === 1) return { held: true, holder: JSON.parse(value) as FlareLockHolder };
        if (renewed === -1) return { held: false, holder: parseHolder(await redis.get(key)) };
        if (Date.now() >= until) {
          if ((await redis.set(key, value, 'PX', HEARTBEAT_TTL_MS, 'NX')) === 'OK') return { held: true, holder: JSON.parse(value) as FlareLockHolder };
          continue; // someone took it meanwhile: look at who
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async renew(scope, job) {
      return Number(await redis.eval(RENEW, 1, flareLockKey(scope), job, '', String(HEARTBEAT_TTL_MS))) === 1;
    },
    async release(scope, job) {
      return Number(await redis.eval(RELEASE, 1, flareLockKey(scope), job)) === 1;
    },
  };
}

/** In-process locks with the same rules (no TTL): for tests of the worker without Redis. */
export function memoryLocks(): FlareLocks & { held: Map<string, FlareLockHolder> } {
  const held = new Map<string, FlareLockHolder>();
  return {
    held,
    async acquire(scope, want) {
      const h = held.get(scope);
      if (h && h.job !== want.job) return { held: false, holder: h };
      const mine = JSON.parse(holderValue(want)) as FlareLockHolder;
      held.set(scope, mine);
      return { held: true, holder: mine };
    },
    async renew(scope, job) {
      return held.get(scope)?.job === job;
    },
    async release(scope, job) {
      if (held.get(scope)?.job !== job) return false;
      held.delete(scope);
      return true;
    },
  };
}

/** Keeps the lock alive every HEARTBEAT_EVERY_MS until stopped. */
export function heartbeat(locks: FlareLocks, scope: string, job: string, everyMs = HEARTBEAT_EVERY_MS): () => void {
  const t = setInterval(() => void locks.renew(scope, job).catch(() => undefined), everyMs);
  t.unref();
  return () => clearInterval(t);
}
