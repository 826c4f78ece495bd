/**
 * A Sentinel group on loopback (master + replica with AOF, 3 `redis-sentinel`) behind
 * `REDIS_URL=redis+sentinel://…/cws`, and a 200-agent fan-out self-test (the simulator) that
 * loses its master halfway: by `SENTINEL FAILOVER`, then by SIGKILL. Each time the job ends with
 * one complete result, and the next command runs normally on the new master.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';
import { missing, on, type SentinelGroup, SENTINEL_MASTER, startSentinelGroup, within } from '../support/redis-topologies.ts';

const why = missing('redis-server', 'redis-sentinel');
if (why && process.env.CI) throw new Error(`[redis-sentinel] required in CI: ${why}`);
if (why) console.warn(`[redis-sentinel] skipped: ${why}`);
const suite = why ? describe.skip : describe;

const AGENTS = 200;
const dir = mkdtempSync(join(tmpdir(), 'cws-sentinel-'));
let group: SentinelGroup;
let sim: Simulator;
let h: Harness;
let worker: WorkerProcess;

const checked = (h: Harness, channel: string) => Number(new RegExp(`(\\d+)/${AGENTS} agents checked`).exec(h.emu.messages(channel)[0]?.text ?? '')?.[1] ?? 0);

/** A self-test in `channel`; `midway` runs once between a fifth and three fifths of the agents checked. */
async function selftest(channel: string, midway?: () => Promise<void>) {
  await h.signer.command('selftest fo', { channelId: channel });
  if (midway) {
    await h.emu.waitFor(() => checked(h, channel) >= AGENTS / 5 || undefined, { timeoutMs: 60_000, pollMs: 20 });
    expect(checked(h, channel)).toBeLessThan((AGENTS * 3) / 5);
    await midway();
  }
  const final = await h.emu.waitFor((e) => finalSelftest(e, channel), { timeoutMs: 120_000 });
  return {
    payload: final.metadata!.event_payload as { total: number; ok: number; results: { node: string; status: string }[] },
    messages: h.emu.messages(channel).length,
    finalEdits: h.emu.callsTo('chat.update').filter((c) => c.args.channel === channel && c.status === 200 && c.args.metadata).length,
  };
}

function expectComplete(r: Awaited<ReturnType<typeof selftest>>) {
  expect(r.payload.total).toBe(AGENTS);
  expect(new Set(r.payload.results.map((x) => x.node)).size).toBe(AGENTS);
  expect(r.payload.ok).toBe(AGENTS);
  expect(r.messages).toBe(1);
  expect(r.finalEdits).toBe(1);
}

suite('Redis Sentinel (redis+sentinel://): failover during a fan-out', () => {
  beforeAll(async () => {
    group = await startSentinelGroup();
    sim = await startSimulator({
      fleet: parseFleet(
        `name: fo\nnodes:\n  count: ${AGENTS}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: 250 }\n`,
        'failover fleet',
      ),
    });
    const kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    const yaml = `clusters:\n  fo: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, concurrency: 8, selftest: { readStatus: false, timeoutMs: 10000 } }\n`;
    const noKill = async (): Promise<never> => {
      throw new Error('not here: use the group');
    };
    h = await startHarness({
      clustersYaml: yaml,
      redis: { url: group.url, port: 0, stop: async () => {}, kill: noKill, restart: noKill },
      withWorker: false,
      minIntervalMs: 100,
    });
    // Locks of 3 s: a job whose completion a failover lost is taken again within seconds.
    worker = await startWorkers({
      clusters: parseClustersFile(yaml),
      connection: blockingOptions(group.url),
      logger: pino({ level: process.env.SENTINEL_LOG ?? 'silent' }), // SENTINEL_LOG=warn shows the worker's view of a failover
      lockDurationMs: 3000,
    });
  }, 120_000);

  afterAll(async () => {
    await within(20_000, (async () => (await worker?.close(), await h?.close()))());
    await group?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('SENTINEL FAILOVER halfway: one complete result, and the next command runs on the new master', async () => {
    const from = await group.masterPort();
    const during = await selftest('CSF1', async () => {
      await on(group.sentinels[0]!.port, 'SENTINEL', 'FAILOVER', SENTINEL_MASTER);
      await group.switched(from);
    });
    expectComplete(during);
    expect(await group.masterPort()).not.toBe(from);
    expectComplete(await selftest('CSF2'));
  }, 240_000);

  it('the master SIGKILLed halfway (AOF, fsync always): one complete result, and the next command runs', async () => {
    let killed = 0;
    const during = await selftest('CSK1', async () => {
      const master = await group.master();
      killed = master.port;
      // Only what reached the replica survives its promotion (asynchronous replication): killed once it has.
      await group.replicated();
      await master.kill();
      await group.switched(killed);
    });
    expectComplete(during);
    expectComplete(await selftest('CSK2'));
    // The old master comes back from its AOF and the Sentinels make it a replica of the new one.
    await group.nodes.find((n) => n.port === killed)!.restart();
  }, 240_000);
});
