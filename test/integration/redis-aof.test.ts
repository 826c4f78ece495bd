/**
 * One Redis with AOF (`appendfsync always`, as the StatefulSet of `manifests/` runs it) is
 * SIGKILLed halfway through a 200-agent fan-out self-test and comes back from its AOF: the job
 * ends with one complete result (before: the message stayed at "100/200 agents checked"), and
 * the next command runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';
import { missing, within } from '../support/redis-topologies.ts';

const why = missing('redis-server');
if (why && process.env.CI) throw new Error(`[redis-aof] required in CI: ${why}`);
if (why) console.warn(`[redis-aof] skipped: ${why}`);
const suite = why ? describe.skip : describe;

const AGENTS = 200;
const dir = mkdtempSync(join(tmpdir(), 'cws-aof-'));
let redis: PrivateRedis;
let sim: Simulator;
let h: Harness;
let worker: WorkerProcess;

const checked = (channel: string) => Number(new RegExp(`(\\d+)/${AGENTS} agents checked`).exec(h.emu.messages(channel)[0]?.text ?? '')?.[1] ?? 0);

async function finalIn(channel: string) {
  const final = await h.emu.waitFor((e) => finalSelftest(e, channel), { timeoutMs: 120_000 });
  const p = final.metadata!.event_payload as { total: number; ok: number; results: { node: string }[] };
  expect(p.total).toBe(AGENTS);
  expect(new Set(p.results.map((r) => r.node)).size).toBe(AGENTS);
  expect(p.ok).toBe(AGENTS);
  expect(h.emu.messages(channel)).toHaveLength(1);
  expect(h.emu.callsTo('chat.update').filter((c) => c.args.channel === channel && c.status === 200 && c.args.metadata)).toHaveLength(1);
}

suite('Redis SIGKILLed during a fan-out, back from its AOF', () => {
  beforeAll(async () => {
    // Never REDIS_URL's server: this test kills its Redis.
    redis = await startPrivateRedis({ persistence: 'aof' });
    sim = await startSimulator({
      fleet: parseFleet(
        `name: aof\nnodes:\n  count: ${AGENTS}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: 250 }\n`,
        'aof fleet',
      ),
    });
    const kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    const yaml = `clusters:\n  aof: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, concurrency: 8, selftest: { readStatus: false, timeoutMs: 10000 } }\n`;
    h = await startHarness({ clustersYaml: yaml, redis, withWorker: false, minIntervalMs: 100 });
    worker = await startWorkers({
      clusters: parseClustersFile(yaml),
      connection: blockingOptions(redis.url),
      logger: pino({ level: 'silent' }),
      lockDurationMs: 3000,
    });
  }, 60_000);

  afterAll(async () => {
    await within(20_000, (async () => (await worker?.close(), await h?.close()))());
    await redis?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('SIGKILL halfway, restart 1 s later: one complete result, and the next command runs', async () => {
    await h.signer.command('selftest aof', { channelId: 'CAOF1' });
    await h.emu.waitFor(() => checked('CAOF1') >= AGENTS / 5 || undefined, { timeoutMs: 60_000, pollMs: 20 });
    expect(checked('CAOF1')).toBeLessThan((AGENTS * 3) / 5);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.restart();
    await finalIn('CAOF1');

    await h.signer.command('selftest aof', { channelId: 'CAOF2' });
    await finalIn('CAOF2');
  }, 240_000);
});
