// The per-node flare lock (src/flare/lock.ts) against a real Redis: the bot's claim through
// JobTracker.once, the worker's renew/release, and the TTL that frees a node when a worker dies.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { flareLockKey, flareLockScope, HEARTBEAT_TTL_MS, heartbeat, memoryLocks, parseHolder, redisLocks } from '../../src/contract/flare-lock.ts';
import { JobTracker } from '../../src/bot/state/tracker.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

let server: PrivateRedis;
let redis: Redis;
let n = 0;
let scope: string;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});
beforeEach(() => {
  scope = flareLockScope(`lock-test-${++n}`, 'kubernetes', 'node-3');
});

const botClaim = (by: string, job: string, ttlS = 600) =>
  new JobTracker(redis).once(scope, JSON.stringify({ by, job, node: 'node-3', at: new Date().toISOString() }), ttlS);

describe('flare lock', () => {
  it('is per node on Kubernetes, per cluster where there is one agent', () => {
    expect(flareLockScope('prod', 'kubernetes', 'node-3')).toBe('flare-lock:prod:node-3');
    expect(flareLockScope('prod', 'kubernetes', 'node-4')).not.toBe(flareLockScope('prod', 'kubernetes', 'node-3'));
    expect(flareLockScope('other', 'kubernetes', 'node-3')).not.toBe(flareLockScope('prod', 'kubernetes', 'node-3'));
    expect(flareLockScope('build-host', 'host', 'machine-a')).toBe('flare-lock:build-host:*');
    expect(flareLockScope('dock', 'docker')).toBe('flare-lock:dock:*');
  });

  it('the bot claims it through JobTracker.once at the key the worker uses', async () => {
    expect(await botClaim('U1', 'fl-a')).toEqual({ first: true });
    expect(parseHolder(await redis.get(flareLockKey(scope)))).toMatchObject({ by: 'U1', job: 'fl-a', node: 'node-3' });
    const second = await botClaim('U2', 'fl-b');
    expect(second.first).toBe(false);
    expect(parseHolder((second as { holder: string }).holder)).toMatchObject({ by: 'U1', job: 'fl-a' });
  });

  it('the worker of the holding job renews it with a short TTL; another job is refused with the holder', async () => {
    await botClaim('U1', 'fl-a');
    expect(await redis.pttl(flareLockKey(scope))).toBeGreaterThan(HEARTBEAT_TTL_MS);
    const locks = redisLocks(redis);
    expect(await locks.acquire(scope, { job: 'fl-a', by: 'U1', node: 'node-3' }, 0)).toMatchObject({ held: true });
    const ttl = await redis.pttl(flareLockKey(scope));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(HEARTBEAT_TTL_MS);
    expect(await locks.acquire(scope, { job: 'fl-b', by: 'U2' }, 0)).toMatchObject({ held: false, holder: { job: 'fl-a', by: 'U1' } });
    expect(await locks.release(scope, 'fl-b')).toBe(false); // never someone else's
    expect(await redis.exists(flareLockKey(scope))).toBe(1);
    expect(await locks.release(scope, 'fl-a')).toBe(true);
    expect(await redis.exists(flareLockKey(scope))).toBe(0);
    expect(await locks.renew(scope, 'fl-a')).toBe(false);
  });

  it('a worker waits for the bot to take the lock after enqueueing, and takes it itself when nobody does', async () => {
    const locks = redisLocks(redis);
    const pending = locks.acquire(scope, { job: 'fl-a', by: 'U1' }, 2_000);
    await new Promise((r) => setTimeout(r, 300));
    await botClaim('U1', 'fl-a');
    expect(await pending).toMatchObject({ held: true });
    await locks.release(scope, 'fl-a');
    const t = Date.now();
    expect(await locks.acquire(scope, { job: 'fl-c', by: 'U3' }, 300)).toMatchObject({ held: true, holder: { job: 'fl-c' } });
    expect(Date.now() - t).toBeGreaterThanOrEqual(300);
  });

  it('a dead worker stops renewing: the lock lapses and the node is free again', async () => {
    await botClaim('U1', 'fl-a');
    const locks = redisLocks(redis);
    await locks.acquire(scope, { job: 'fl-a', by: 'U1' }, 0);
    const stop = heartbeat(locks, scope, 'fl-a', 50);
    await redis.pexpire(flareLockKey(scope), 120);
    await new Promise((r) => setTimeout(r, 200));
    expect(await redis.pttl(flareLockKey(scope))).toBeGreaterThan(1000); // renewed while alive
    stop(); // the worker is gone
    await redis.pexpire(flareLockKey(scope), 50); // (HEARTBEAT_TTL_MS, shortened)
    await new Promise((r) => setTimeout(r, 120));
    expect(await botClaim('U2', 'fl-b')).toEqual({ first: true });
  });

  it('memoryLocks follows the same rules', async () => {
    const m = memoryLocks();
    expect(await m.acquire('s', { job: 'a', by: 'U1' })).toMatchObject({ held: true });
    expect(await m.acquire('s', { job: 'b', by: 'U2' })).toMatchObject({ held: false, holder: { job: 'a' } });
    expect(await m.release('s', 'b')).toBe(false);
    expect(await m.release('s', 'a')).toBe(true);
  });
});
