/**
 * A real Redis Cluster (3 masters on loopback, `redis-cli --cluster create`) behind
 * `REDIS_URL=redis+cluster://…`: a fan-out self-test runs end to end (bot, worker, simulator),
 * and our own multi-key writes (limiter, open flares, job messages, flare lock) work — no
 * CROSSSLOT. Each cluster's queue lives in one slot; different queues spread over the masters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { redisConnection } from '../../src/config/redis.ts';
import { queueName } from '../../src/contract/queues.ts';
import { flareLockScope, redisLocks } from '../../src/contract/flare-lock.ts';
import { RedisCommandLimiter } from '../../src/bot/state/command-limiter.ts';
import { JobTracker } from '../../src/bot/state/tracker.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';
import { missing, on, type RedisClusterProcesses, startRedisCluster, within } from '../support/redis-topologies.ts';

const why = missing('redis-server', 'redis-cli');
if (why && process.env.CI) throw new Error(`[redis-cluster] required in CI: ${why}`);
if (why) console.warn(`[redis-cluster] skipped: ${why}`);
const suite = why ? describe.skip : describe;

const NODES = 30;
const dir = mkdtempSync(join(tmpdir(), 'cws-rcluster-'));
let cluster: RedisClusterProcesses;
let sim: Simulator;
let h: Harness;
let redis: Redis;

suite('Redis Cluster (redis+cluster://)', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    sim = await startSimulator({
      fleet: parseFleet(
        `name: rc\nnodes:\n  count: ${NODES}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: 50 }\n`,
        'cluster fleet',
      ),
    });
    const kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    const yaml = [
      'clusters:',
      ...['rc-a', 'rc-b', 'rc-c', 'rc-d'].map(
        (c) =>
          `  ${c}: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, concurrency: 8, selftest: { readStatus: false, timeoutMs: 5000 } }`,
      ),
    ].join('\n');
    // The harness as for any Redis: only the URL says Cluster.
    const noKill = async (): Promise<never> => {
      throw new Error('not here');
    };
    h = await startHarness({
      clustersYaml: `${yaml}\n`,
      redis: { url: cluster.url, port: 0, stop: async () => {}, kill: noKill, restart: noKill },
      minIntervalMs: 100,
    });
    redis = redisConnection(cluster.url).client('shared', 'cws:test');
  }, 90_000);

  afterAll(async () => {
    redis?.disconnect();
    await within(20_000, h?.close() ?? Promise.resolve());
    await cluster?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs a fan-out self-test end to end: one complete result', async () => {
    await h.signer.command('selftest rc-a', { channelId: 'CRC1' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CRC1'), { timeoutMs: 45_000 });
    const p = final.metadata!.event_payload as { total: number; ok: number; results: { node: string }[] };
    expect(p.total).toBe(NODES);
    expect(p.ok).toBe(NODES);
    expect(new Set(p.results.map((r) => r.node)).size).toBe(NODES);
    expect(h.emu.messages('CRC1')).toHaveLength(1);
  }, 60_000);

  it("keeps each queue's keys in one slot; different queues hash to different slots", async () => {
    // The queues exist once a Queue touched them (the bot's producer does at start for the metrics, the workers always).
    const owners = new Map<string, Set<number>>();
    let keysOfA = 0;
    for (const c of ['rc-a', 'rc-b', 'rc-c', 'rc-d']) {
      const slot = await on<number>(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', `bull:${queueName(c)}:meta`);
      for (const n of cluster.nodes) {
        const found = await on<string[]>(n.port, 'KEYS', `bull:${queueName(c)}:*`);
        for (const k of found) expect(await on<number>(n.port, 'CLUSTER', 'KEYSLOT', k)).toBe(slot);
        if (found.length) owners.set(c, (owners.get(c) ?? new Set()).add(n.port));
        if (c === 'rc-a') keysOfA += found.length;
      }
    }
    // rc-a ran a job: its queue's keys (job hash, completed set, events, meta, …) are all on one master.
    expect(keysOfA).toBeGreaterThan(3);
    expect(owners.get('rc-a')?.size).toBe(1);
    const slots = await Promise.all(['rc-a', 'rc-b', 'rc-c', 'rc-d'].map((c) => on<number>(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', queueName(c))));
    expect(new Set(slots).size).toBe(4);
  });

  it('takes the limiter, an open flare, a job message and the flare lock: our multi-key writes stay in one slot', async () => {
    const limiter = new RedisCommandLimiter(redis, { perUser: { commands: 2, windowSec: 60 }, perCluster: { commands: 10, windowSec: 60 } }, (err) => {
      throw err;
    });
    expect(await limiter.take('UCLUSTER1', 'rc-b')).toEqual({ ok: true });
    expect(await limiter.take('UCLUSTER1', 'rc-b')).toEqual({ ok: true });
    expect(await limiter.take('UCLUSTER1', 'rc-b')).toMatchObject({ ok: false, scope: 'user' });

    const tracker = new JobTracker(redis);
    const claim = { cluster: 'rc-b', user: 'UCLUSTER1', until: Date.now() + 60_000, maxOpen: 2, maxPerUser: 1 };
    expect(await tracker.claimFlare({ ...claim, jobId: 'fl-1' })).toEqual({ ok: true });
    expect(await tracker.claimFlare({ ...claim, jobId: 'fl-2' })).toMatchObject({ ok: false, scope: 'user', open: ['fl-1'] });
    await tracker.releaseFlare('rc-b', 'UCLUSTER1', 'fl-1');
    expect(await tracker.claimFlare({ ...claim, jobId: 'fl-2' })).toEqual({ ok: true });

    await tracker.addMessage('st-cluster-1', { channel: 'CRC2', ts: '1.000001' });
    expect(await tracker.messages('st-cluster-1')).toEqual([{ channel: 'CRC2', ts: '1.000001' }]);
    expect(await tracker.claimFinal('st-cluster-1', '1.000001')).toBe(true);
    expect(await tracker.claimFinal('st-cluster-1', '1.000001')).toBe(false);

    const locks = redisLocks(redis);
    const scope = flareLockScope('rc-b', 'kubernetes', 'node-1');
    expect(await tracker.once(scope, JSON.stringify({ by: 'UCLUSTER1', job: 'fl-2', at: new Date().toISOString() }))).toEqual({ first: true });
    expect((await locks.acquire(scope, { job: 'fl-2', by: 'UCLUSTER1' }, 100)).held).toBe(true);
    expect((await locks.acquire(scope, { job: 'fl-3', by: 'UCLUSTER2' }, 100)).held).toBe(false);
    expect(await locks.release(scope, 'fl-2')).toBe(true);
  });
});
