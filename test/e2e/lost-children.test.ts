/**
 * A cluster self-test whose child job vanished from Redis while it ran: what a Sentinel failover does
 * when it promotes a replica that had not received the fan-out's writes (BullMQ then logs "Missing key
 * for job …"; test/integration/redis-sentinel.test.ts shows the cause). The parent would wait for its
 * children forever and its message would show progress forever; the bot's reconcile finds the child
 * gone, posts an actionable failure with Re-run, and removes the parent's remains.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_PREFIX, queueName } from '../../src/contract/keys.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { until } from '../sim/support.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-lost-'));
let sim: Simulator;
let h: Harness;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  // Self-tests that take long enough for the test to lose their batch while it runs.
  sim = await startSimulator({ fleet: parseFleet('name: lost\nnodes: { count: 3, selftest: { latencyMs: 8000 } }\n', 'inline fleet') });
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  h = await startHarness({
    clustersYaml: `clusters:\n  lost-a: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, selftest: { timeoutMs: 90000 } }\n`,
    minIntervalMs: 200,
  });
  redis = new Redis(h.redis.url);
  queue = new Queue(queueName('lost-a'), { connection: { url: h.redis.url } });
}, 60_000);

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await h?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a self-test whose child job vanished from Redis', () => {
  it('is ended by the reconcile with what happened and what to do, not left running forever', async () => {
    await h.signer.command('selftest lost-a', { channelId: 'CLOST001' });
    // The parent waits for its one batch (3 agents), which a worker is running.
    // Redis state has no event to wait for: polled, bounded.
    let parent: Job | undefined;
    await until(
      async () => {
        const [p] = await queue.getWaitingChildren();
        if (!p) return false;
        const { unprocessed = [] } = await p.getDependencies();
        parent = p;
        return unprocessed.length === 1 && (await queue.getActiveCount()) === 1;
      },
      30_000,
      'the parent waiting for its one running batch',
    );
    await h.bot.reconcile();
    expect(finalSelftest(h.emu, 'CLOST001')).toBeUndefined(); // all there: still running

    // The failover: the batch's key and its place in the active list are gone.
    const [childKey] = (await parent!.getDependencies()).unprocessed!;
    const childId = childKey!.slice(`${QUEUE_PREFIX}:${queueName('lost-a')}:`.length);
    await redis.del(childKey!, `${childKey}:lock`);
    await redis.lrem(`${QUEUE_PREFIX}:${queueName('lost-a')}:active`, 0, childId);

    await h.bot.reconcile();
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CLOST001'), { timeoutMs: 10_000 });
    expect(final.text).toMatch(/could not run: 1 of its 1 parts vanished from Redis while it ran/);
    expect(JSON.stringify(final.blocks)).toContain('Run it again');
    expect(JSON.stringify(final.blocks)).toContain('Re-run');
    expect(await queue.getJobState(parent!.id!)).toBe('unknown'); // its remains removed
    const audit = await h.bot.services.audit.recent(10);
    expect(audit.find((a) => a.jobId === parent!.id)).toMatchObject({ outcome: 'error' });
  });
});
