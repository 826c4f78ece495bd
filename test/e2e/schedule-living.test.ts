/**
 * A scheduled result that is also a living message, end to end (the real bot with `every 1m`
 * shortened to about a second, the real worker, the Slack emulator, the Kubernetes simulator):
 * unchanged runs edit a "Last checked" line onto the posted self-test result, and a restart
 * clicked on that result replaces its button with the outcome. Both stay, whichever edit comes
 * last: the restart's edits keep the line, and the unchanged runs after it keep the outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackSigner } from '../../src/sandbox/signer.ts';
import { click } from '../support/harness.ts';
import { ackText, createSchedule, type ScheduleRig, startScheduleRig, textOf } from '../support/schedules.ts';

const OWNER = 'USCHLIV1';
const CH = 'CSCHLIV1';

// node-2 fails its self-test whatever its pod: a restart does not change the outcome, so the runs after it stay unchanged.
const FLEET = `name: sched-live
agent:
  image: "gcr.io/datadoghq/agent:7.50.3"
nodes:
  count: 3
  overrides:
    node-2:
      selftest: { failedTests: [datadog_agent_cws_self_test_rule_chmod] }
`;

let rig: ScheduleRig;
let signer: SlackSigner;

beforeAll(async () => {
  rig = await startScheduleRig({ fleet: FLEET, fleetName: 'sched-live' });
  const yaml = `clusters:\n  sc-live: { kind: kubernetes, kubeconfig: ${rig.kubeconfig}, context: ${rig.sim.contextName}, selftest: { timeoutMs: 10000 }, access: { run: [${OWNER}], remediate: [${OWNER}] } }\n`;
  ({ signer } = await rig.startBot(yaml));
  await rig.startWorker(yaml);
}, 60_000);

afterAll(() => rig?.close());

const results = () => rig.emu.messages(CH).filter((m) => m.metadata?.event_type === 'cws_selftest_result' && !m.thread_ts);
const lastChecked = (t: string) => /Last checked <!date\^(\d+)/.exec(t)?.[1];

describe('/cws schedule selftest: the posted result is a living message', () => {
  it('its "Last checked" line and a restart’s outcome both stay, whichever edit comes last', async () => {
    const { id, text } = await createSchedule(signer, 'schedule selftest sc-live every 1m', OWNER, CH);
    expect(id, text).not.toBe('');
    const first = await rig.emu.waitFor(() => results()[0], { timeoutMs: 30_000 });
    const now = () => rig.emu.message(CH, first.ts)!;
    // Unchanged runs: the line is edited in.
    await rig.emu.waitFor(() => lastChecked(textOf(now())), { timeoutMs: 30_000 });

    // A restart from the result's button: its edits (under way, then done) keep the line.
    await click({ signer, emu: rig.emu }, now(), 'Restart agent on node-2', OWNER);
    await rig.emu.waitFor(() => /Agent on \*node-2\* restarted by <@USCHLIV1>/.test(textOf(now())) || undefined, { timeoutMs: 30_000 });
    expect(lastChecked(textOf(now()))).toBeDefined();
    expect(textOf(now())).not.toContain('Restart agent on node-2');

    // The runs after it, unchanged: the line moves on (a later date), the restart's outcome stays.
    const at = lastChecked(textOf(now()))!;
    await rig.emu.waitFor(() => (Number(lastChecked(textOf(now())) ?? 0) > Number(at) ? true : undefined), { timeoutMs: 30_000 });
    const t = textOf(now());
    expect(t).toMatch(/Agent on \*node-2\* restarted by <@USCHLIV1>/);
    expect(t).toContain('Re-run self-test on node-2');
    expect(t).toContain('first run'); // the schedule's notice
    expect(t.match(/Last checked/g)).toHaveLength(1);
    // Still one result in the channel (the restart's own result is in the thread).
    expect(results()).toHaveLength(1);

    expect(ackText(await signer.command(`schedule delete ${id}`, { userId: OWNER, channelId: CH }))).toContain('Deleted');
  }, 90_000);
});
