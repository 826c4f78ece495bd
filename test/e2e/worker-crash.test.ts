/**
 * Crash test: two worker processes serve one cluster; one is SIGKILLed halfway through the
 * fan-out. The self-test still completes on the other replica, every agent is accounted for,
 * and the channel gets exactly one final result.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';
import { startWorkerProcess } from '../support/worker-process.ts';

const NODES = 40;
const dir = mkdtempSync(join(tmpdir(), 'cws-crash-'));
let sim: Simulator;
let redis: PrivateRedis;
let h: Harness;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({
    fleet: parseFleet(
      `name: crash-a\nnodes:\n  count: ${NODES}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: 600 }\n`,
      'crash fleet',
    ),
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  const yaml = `clusters:\n  crash-a: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, concurrency: 4, selftest: { readStatus: false, timeoutMs: 10000 } }\n`;
  const configPath = join(dir, 'cws.yaml');
  writeFileSync(configPath, yaml);
  redis = await startRedis();
  for (const w of await Promise.all([1, 2].map(() => startWorkerProcess({ redisUrl: redis.url, configPath })))) workers.push(w);
  h = await startHarness({ clustersYaml: yaml, redis, withWorker: false, minIntervalMs: 100 });
}, 90_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await h?.close();
  await redis?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a worker killed mid-fan-out', () => {
  it('the job completes on the other replica with one final post', async () => {
    await h.signer.command('selftest crash-a', { channelId: 'CCRASH1' });
    // Wait until the fan-out is under way on both replicas, then kill one of them.
    await h.emu.waitFor(
      (e) => {
        const m = e.messages('CCRASH1')[0];
        const done = Number(/(\d+)\/40 agents checked/.exec(m?.text ?? '')?.[1] ?? 0);
        return done >= 8 && done <= 24;
      },
      { timeoutMs: 30_000, pollMs: 20 },
    );
    const victim = workers[0]!;
    victim.kill('SIGKILL');
    await once(victim, 'exit');

    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CCRASH1'), { timeoutMs: 60_000 });
    const p = final.metadata!.event_payload as { total: number; ok: number; results: { node: string; status: string }[] };
    expect(p.total).toBe(NODES);
    expect(new Set(p.results.map((r) => r.node)).size).toBe(NODES);
    expect(p.ok).toBe(NODES);
    const finalPosts = h.emu.callsTo('chat.update').filter((c) => c.args.channel === 'CCRASH1' && c.status === 200 && c.args.metadata);
    expect(finalPosts).toHaveLength(1);
    expect(h.emu.messages('CCRASH1')).toHaveLength(1);
  });
});
