/**
 * A scheduled self-test end to end (issue 19 point 3), two bot replicas and two workers from the
 * start, each run slower (1.5 s per agent) than the ticks (`every 1m` is about a second here): the
 * first result is posted with the failing node named, later runs are silent, the ticks that come
 * while a run is still going are skipped (audited), and no two runs ever overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackSigner } from '../../src/sandbox/signer.ts';
import { ackText, createSchedule, runsReached, type ScheduleRig, startScheduleRig, textOf } from '../support/schedules.ts';

const OWNER = 'USCHOWN1';
const CH = 'CSCHED01';

const FLEET = `name: sched-st
agent:
  image: "gcr.io/datadoghq/agent:7.50.3"
nodes:
  count: 3
  selftest: { latencyMs: 1500 }
  overrides:
    node-2:
      selftest: { failedTests: [datadog_agent_cws_self_test_rule_chmod] }
`;

let rig: ScheduleRig;
let signer: SlackSigner;

const clustersYaml = () =>
  `clusters:\n  sc-st: { kind: kubernetes, kubeconfig: ${rig.kubeconfig}, context: ${rig.sim.contextName}, selftest: { timeoutMs: 10000 }, access: { run: [${OWNER}] } }\n`;

const results = (channel: string) => rig.emu.messages(channel).filter((m) => m.metadata?.event_type === 'cws_selftest_result');

beforeAll(async () => {
  rig = await startScheduleRig({ fleet: FLEET, fleetName: 'sched-st' });
  const yaml = clustersYaml();
  ({ signer } = await rig.startBot(yaml));
  await rig.startBot(yaml);
  await rig.startWorker(yaml);
  await rig.startWorker(yaml);
}, 60_000);

afterAll(() => rig?.close());

describe('/cws schedule selftest with two replicas', () => {
  it('posts the first result naming the failing node, then stays silent; skips the ticks of a run still going; never overlaps', async () => {
    const { id, text: ack } = await createSchedule(signer, 'schedule selftest sc-st every 1m', OWNER, CH);
    expect(id, ack).not.toBe('');

    const first = await rig.emu.waitFor(() => results(CH)[0], { timeoutMs: 30_000 });
    const t = textOf(first);
    expect(t).toContain(`Scheduled self-test \`${id}\``);
    expect(t).toContain('first run');
    expect(t).toContain('node-2');
    const rows = first.metadata!.event_payload.results as { node: string; status: string }[];
    expect(rows.find((r) => r.node === 'node-2')?.status).toBe('failed');
    expect(rows.filter((r) => r.status === 'ok')).toHaveLength(2);

    await runsReached(rig, id, 4, 'four finished runs', 60_000);
    expect(results(CH)).toHaveLength(1);
    expect(rig.emu.messages(CH)).toHaveLength(1);

    const entries = (await rig.audit()).filter((e) => e.command.includes(`(scheduled ${id})`));
    const tickEntries = entries.filter((e) => e.command.startsWith('schedule '));
    const ticks = tickEntries.map((e) => /^tick (\S+?):?(\s|$)/.exec(e.detail ?? '')?.[1]);
    expect(ticks.every(Boolean)).toBe(true);
    expect(new Set(ticks).size).toBe(ticks.length); // each tick handled by one replica
    // Runs take longer than a tick: the ticks meanwhile were skipped, saying which run was still going.
    const skipped = tickEntries.filter((e) => e.outcome === 'answered');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped[0]!.detail).toMatch(/skipped, the previous run \(st-[0-9a-f-]+\) is still going/);
    // queued, finished, queued, finished…: a run starts only after the previous one was closed.
    const seq = entries.filter((e) => e.outcome === 'queued' || !e.command.startsWith('schedule '));
    for (let i = 0; i < seq.length; i++)
      if (seq[i]!.outcome === 'queued' && seq[i + 1]) expect(seq[i + 1]!.jobId, `run ${seq[i]!.jobId} overlapped another`).toBe(seq[i]!.jobId);
    const finished = seq.filter((e) => !e.command.startsWith('schedule ')).map((e) => e.jobId);
    expect(new Set(finished).size).toBe(finished.length);

    expect(ackText(await signer.command(`schedule delete ${id}`, { userId: OWNER, channelId: CH }))).toContain('Deleted');
  }, 90_000);
});
