/**
 * A scheduled self-test that speaks only on change, end to end (issue 19 point 3): the real bot
 * (`every 1m` shortened to about a second by its test-only `schedules.minuteMs`), the real worker,
 * the Slack emulator and the Kubernetes simulator, whose self-test answers follow each pod's
 * system-probe configuration (src/sim/selftest-config.ts; SOURCES.md §6). The DaemonSet is patched
 * with real `kubectl set env`: `DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED=false` on system-probe
 * makes the new pods answer "self-tests are disabled", and the schedule posts which nodes changed —
 * not node-3, whose system-probe runs without the runtime module from the start (its client's dial
 * error is the same before and after) — then posts again when the env var is removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackSigner } from '../../src/sandbox/signer.ts';
import type { SlackMessage } from '../../src/sandbox/slack-api.ts';
import { ackText, createSchedule, kubectlPath, runsReached, type ScheduleRig, setAgentEnv, startScheduleRig, textOf } from '../support/schedules.ts';

const OWNER = 'USCHGOWN';
const CH = 'CSCHGST1';
const ENV = 'DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED';

const FLEET = `name: sched-stc
agent:
  image: "gcr.io/datadoghq/agent:7.50.3"
nodes:
  count: 3
  selftest: { latencyMs: 100 }
  overrides:
    node-3:
      agent: { containers: { system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "false" } } } }
`;

let rig: ScheduleRig;
let signer: SlackSigner;
let scheduleId = '';

const results = () => rig.emu.messages(CH).filter((m) => m.metadata?.event_type === 'cws_selftest_result');
type Row = { node: string; status: string; message?: string };
const rowsOf = (m: SlackMessage) => m.metadata!.event_payload.results as Row[];
const statusOf = (m: SlackMessage) => Object.fromEntries(rowsOf(m).map((r) => [r.node, r.status]));

/**
 * The change messages posted from result index `from` on, until one reports `want` for every node.
 * A run under way while the DaemonSet rolls may see part of the fleet old and part new; then the
 * change arrives in two messages. Every message in between must be a change message.
 */
async function changesUntil(from: number, want: Record<string, string>): Promise<SlackMessage[]> {
  const done = await rig.emu.waitFor(
    () =>
      results()
        .slice(from)
        .find((m) => Object.entries(want).every(([n, s]) => statusOf(m)[n] === s)),
    { timeoutMs: 30_000 },
  );
  return results().slice(from, results().indexOf(done) + 1);
}

beforeAll(async () => {
  rig = await startScheduleRig({ fleet: FLEET, fleetName: 'sched-stc' });
  const yaml = `clusters:\n  sc-stc: { kind: kubernetes, kubeconfig: ${rig.kubeconfig}, context: ${rig.sim.contextName}, selftest: { timeoutMs: 10000 }, access: { run: [${OWNER}] } }\n`;
  ({ signer } = await rig.startBot(yaml));
  await rig.startWorker(yaml);
}, 60_000);

afterAll(() => rig?.close());

describe.skipIf(!kubectlPath)('/cws schedule selftest: a change in the agent’s configuration', () => {
  it('posts the first result, then nothing while every node answers the same', async () => {
    const { id, text: ack } = await createSchedule(signer, 'schedule selftest sc-stc every 1m', OWNER, CH);
    scheduleId = id;
    expect(scheduleId, ack).not.toBe('');

    const first = await rig.emu.waitFor(() => results()[0], { timeoutMs: 30_000 });
    expect(textOf(first)).toContain(`Scheduled self-test \`${scheduleId}\``);
    expect(textOf(first)).toContain('first run');
    expect(statusOf(first)).toEqual({ 'node-1': 'ok', 'node-2': 'ok', 'node-3': 'error' });
    // node-3's system-probe has no runtime module: its client cannot dial the socket.
    expect(rowsOf(first).find((r) => r.node === 'node-3')?.message).toContain('system-probe unreachable');

    await runsReached(rig, scheduleId, 3, 'three finished runs');
    expect(results()).toHaveLength(1);
    expect(rig.emu.messages(CH)).toHaveLength(1);
  }, 60_000);

  it('after `kubectl set env … -c system-probe DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED=false`, posts the nodes whose verdict changed', async () => {
    const patched = await setAgentEnv(rig, 'system-probe', `${ENV}=false`);
    expect(patched.code, patched.stderr).toBe(0);
    expect(patched.stdout).toContain('daemonset.apps/datadog-agent env updated');
    const rollout = await rig.kubectl(['-n', 'datadog', 'rollout', 'status', 'ds/datadog-agent', '--timeout=20s']);
    expect(rollout.code, rollout.stderr).toBe(0);

    const changes = await changesUntil(1, { 'node-1': 'error', 'node-2': 'error', 'node-3': 'error' });
    const all = changes.map(textOf).join('\n');
    for (const c of changes) expect(textOf(c)).toContain('*changed* since');
    expect(all).toContain('`node-1`: ok → error');
    expect(all).toContain('`node-2`: ok → error');
    expect(all).not.toContain('`node-3`:');
    const last = changes.at(-1)!;
    for (const node of ['node-1', 'node-2']) expect(rowsOf(last).find((r) => r.node === node)?.message).toContain('self-tests are disabled');
    expect(textOf(last)).toContain(`/archives/${CH}/p`);
  }, 60_000);

  it('stays silent while the patch stays, and posts again when the env var is removed', async () => {
    const posted = results().length;
    const before = (await rig.runsOf(scheduleId)).length;
    await runsReached(rig, scheduleId, before + 2, 'two more runs');
    expect(results()).toHaveLength(posted);

    const reverted = await setAgentEnv(rig, 'system-probe', `${ENV}-`);
    expect(reverted.code, reverted.stderr).toBe(0);
    const changes = await changesUntil(posted, { 'node-1': 'ok', 'node-2': 'ok', 'node-3': 'error' });
    const all = changes.map(textOf).join('\n');
    expect(all).toContain('`node-1`: error → ok');
    expect(all).toContain('`node-2`: error → ok');
    expect(all).not.toContain('`node-3`:');

    expect(ackText(await signer.command(`schedule delete ${scheduleId}`, { userId: OWNER, channelId: CH }))).toContain('Deleted');
  }, 60_000);
});
