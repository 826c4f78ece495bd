/**
 * Quiet, living messages (issue 17, point 4), end to end with the Slack emulator and the
 * Kubernetes simulator: re-runs, restarts and fixes of a job are replies in its thread; a button
 * that did its work is replaced by its outcome on the original message, whose verdict says it is
 * stale; the next step is offered (Re-check, "Re-run self-test on node-8"); and a click on a stale
 * copy of the message is refused at click time, ephemerally, saying what happened.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import type { SlackMessage } from '../../src/sandbox/slack-api.ts';
import {
  buttonIn,
  ciliumFleet,
  click,
  closeSimulated,
  finalSelftest,
  type Harness,
  remediationResultIn,
  simulatedClusters,
  startHarness,
} from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-living-'));
const sims: Record<string, Simulator> = {};
let h: Harness;

const broken = (name: string) => ciliumFleet(name, { count: 2, pref: 1 });

beforeAll(async () => {
  sims['live-st'] = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sim-a.yaml')) });
  sims['live-nc'] = await startSimulator({ fleet: parseFleet(broken('live-nc'), 'live-nc') });
  // 30 agents of which 29 fail the same way: more than the result lists, so its thread gets the details reply.
  sims['live-big'] = await startSimulator({
    fleet: parseFleet(
      `name: live-big
namespace: datadog
agent: { daemonSet: datadog-agent, image: "gcr.io/datadoghq/agent:7.50.3" }
nodes:
  count: 30
  selftest: { stdout: "Runtime self test: error: failed to receive expected event\\n" }
  overrides:
    node-1: { selftest: { stdout: "Runtime self test: OK\\n" } }
`,
      'live-big',
    ),
  });
  let yaml = 'clusters:\n' + (await simulatedClusters(dir, sims, () => 'selftest: { timeoutMs: 2000 }, access: { remediate: [UFIXER01, UFIXER02] }'));
  // The same simulated cluster under another name, which posts its results to its own channel.
  const kc = join(dir, 'live-nc.kubeconfig');
  yaml += `  live-rc: { kind: kubernetes, kubeconfig: ${kc}, context: ${sims['live-nc']!.contextName}, resultsChannel: CRESULTS, access: { remediate: [UFIXER01] } }\n`;
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 200 });
}, 60_000);

afterAll(() => closeSimulated(h, sims, dir));

/** Every text of a message (its blocks' too), for matching. */
const textOf = (m: SlackMessage) => `${m.text ?? ''}\n${JSON.stringify(m.blocks ?? [])}`;
const labels = (m: SlackMessage) =>
  ((m.blocks ?? []) as { type: string; elements?: { type: string; text?: { text: string } }[] }[]).flatMap((b) =>
    b.type === 'actions' ? (b.elements ?? []).map((e) => e.text?.text ?? '') : [],
  );
/** A copy of the message as a client showed it then (the stored one is edited in place). */
const snapshot = (m: SlackMessage): SlackMessage => structuredClone(m);
const topLevel = (channel: string) => h.emu.messages(channel).filter((m) => !m.ephemeral && !m.thread_ts);
/** The private answer to a click (posted to its response_url), found by its text. */
const answered = (re: RegExp) =>
  h.emu.waitFor((e) => e.callsTo('response_url').find((c) => c.args.response_type === 'ephemeral' && re.test(String(c.args.text))), { timeoutMs: 20_000 });
const envOf = (cluster: string, container: string) =>
  (sims[cluster]!.state.getDaemonSet('datadog', 'datadog-agent')!.spec!.template.spec!.containers.find((c: { name: string }) => c.name === container)!.env ??
    []) as { name: string; value?: string }[];

describe('a netcheck report and its fix', () => {
  const C = 'CLIVENC';
  let report: SlackMessage;
  let firstCopy: SlackMessage;
  let fix: SlackMessage;

  it('the fix runs in the report’s thread, and its button on the report becomes "Network detections disabled by …" with Re-check', async () => {
    await h.signer.command('netcheck live-nc', { channelId: C, userId: 'UFIXER01' });
    report = await h.emu.waitFor((e) => e.messages(C).find((m) => m.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
    firstCopy = snapshot(report);
    expect(labels(report)).toContain('Disable network detections');

    await click(h, report, 'Disable network detections', 'UFIXER01');
    fix = await remediationResultIn(h, report, (p) => p.status === 'applied');
    expect(fix.metadata!.event_payload).toMatchObject({ action: 'disable_network_detections', status: 'applied' });
    // The report, edited in place: the button is gone, its outcome says who and when, the verdict is stale.
    const live = await h.emu.waitFor(() => (/Network detections disabled by <@UFIXER01> at <!date\^\d+\^/.test(textOf(report)) ? report : undefined), {
      timeoutMs: 20_000,
    });
    expect(labels(live)).not.toContain('Disable network detections');
    expect(labels(live)).toContain('Re-check');
    expect(textOf(live)).toMatch(/changed since: network detections disabled by <@UFIXER01>/);
    // Its metadata is still the netcheck's (README: cws_netcheck_result).
    expect(live.metadata?.event_type).toBe('cws_netcheck_result');
    // Nothing of this went to the channel's top level but the report itself.
    expect(topLevel(C).map((m) => m.ts)).toEqual([report.ts]);
  }, 60_000);

  it('a click on a stale copy of the report is refused at click time and says what happened; nothing is changed again', async () => {
    const patchesBefore = envOf('live-nc', 'system-probe');
    const repliesBefore = h.emu.messages(C).filter((m) => m.thread_ts === report.ts && !m.ephemeral).length;
    await click(h, firstCopy, 'Disable CWS', 'UFIXER02');
    await answered(/out of date, so nothing was changed: Network detections disabled by <@UFIXER01>/);
    await click(h, firstCopy, 'Disable network detections', 'UFIXER02');
    await answered(/Nothing more was done: Network detections disabled by <@UFIXER01>/);
    expect(envOf('live-nc', 'system-probe')).toEqual(patchesBefore);
    expect(envOf('live-nc', 'security-agent')).not.toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'false' });
    expect(h.emu.messages(C).filter((m) => m.thread_ts === report.ts && !m.ephemeral)).toHaveLength(repliesBefore);
  });

  it('Revert runs in the same thread; its button becomes "Reverted by …", and a second Revert is refused', async () => {
    const fixCopy = snapshot(fix);
    expect(labels(fix)).toEqual(['Revert', 'Re-check']);
    await click(h, fix, 'Revert', 'UFIXER02');
    const reverted = await remediationResultIn(h, report, (p) => p.action === 'revert');
    expect(reverted.metadata!.event_payload).toMatchObject({ status: 'applied' });
    expect(envOf('live-nc', 'system-probe').some((e) => e.name === 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED')).toBe(false);
    await h.emu.waitFor(() => (/Reverted by <@UFIXER02> at <!date\^/.test(textOf(fix)) ? fix : undefined), { timeoutMs: 20_000 });
    expect(labels(fix)).toEqual(['Re-check']);
    // The report the fix came from says so too.
    await h.emu.waitFor(
      () => (/Reverted by <@UFIXER02> at <!date\^\d+\^[^>]+> \(disable network detections undone\)/.test(textOf(report)) ? report : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    expect(textOf(report)).toMatch(/changed since: network detections disabled by <@UFIXER01> at [^;]+; reverted by <@UFIXER02>/);

    await click(h, fixCopy, 'Revert', 'UFIXER01');
    await answered(/Nothing more was done: Reverted by <@UFIXER02>/);
    expect(h.emu.messages(C).filter((m) => m.metadata?.event_payload?.action === 'revert')).toHaveLength(1);
  }, 60_000);

  it('the footer shows a short job ID, and /cws status takes it', async () => {
    const jobId = String(report.metadata!.event_payload.jobId);
    const short = jobId.slice(0, 11);
    expect(textOf(report)).toContain(`job ${short} ·`);
    expect(textOf(report)).not.toContain(`job ${jobId}`);
    const res = await h.signer.command(`status ${short}`, { channelId: C, userId: 'UFIXER01' });
    const json = res.json as { response_type?: string; text?: string };
    expect(json.response_type).toBe('ephemeral');
    expect(json.text).toContain(`Job ${jobId} (netcheck on live-nc)`);
    const none = (await h.signer.command('status nc-00000000', { channelId: C, userId: 'UFIXER01' })).json as { text?: string };
    expect(none.text).toMatch(/No job of the last 24 h starts with/);
  });

  it('Re-check runs a new netcheck in the report’s thread', async () => {
    await click(h, report, 'Re-check', 'UFIXER01');
    const again = await h.emu.waitFor(
      (e) => e.messages(C).find((m) => m.thread_ts === report.ts && m.ts !== report.ts && m.metadata?.event_type === 'cws_netcheck_result'),
      { timeoutMs: 30_000 },
    );
    expect(again.metadata!.event_payload).toMatchObject({ cluster: 'live-nc' });
    expect(topLevel(C).map((m) => m.ts)).toEqual([report.ts]);
  });
});

describe('a self-test, a restart from it, and its re-runs', () => {
  const C = 'CLIVEST';
  const podsOn = (node: string) =>
    sims['live-st']!.state.listPods('datadog')
      .filter((p) => p.spec?.nodeName === node)
      .map((p) => p.metadata!.name!);

  it('the restart goes in the thread; its button becomes the outcome and "Re-run self-test on node-8" is offered; a stale Restart is refused', async () => {
    await h.signer.command('selftest live-st', { channelId: C, userId: 'UFIXER01' });
    const result = await h.emu.waitFor((e) => finalSelftest(e, C), { timeoutMs: 30_000 });
    const copy = snapshot(result);
    const before = podsOn('node-8');
    await click(h, result, 'Restart agent on node-8', 'UFIXER01');
    const restarted = await remediationResultIn(h, result, (p) => p.node === 'node-8');
    expect(restarted.metadata!.event_payload).toMatchObject({ status: 'restarted', before: { pod: before[0] } });
    await h.emu.waitFor(() => (/Agent on \*node-8\* restarted by <@UFIXER01> at <!date\^/.test(textOf(result)) ? result : undefined), { timeoutMs: 20_000 });
    expect(labels(result)).not.toContain('Restart agent on node-8');
    expect(labels(result)).toContain('Restart agent on node-7');
    expect(labels(result)).toContain('Re-run self-test on node-8');
    expect(labels(restarted)).toContain('Re-run self-test on node-8');
    expect(textOf(result)).toMatch(/changed since: agent on \*node-8\* restarted by <@UFIXER01>/);

    const after = podsOn('node-8');
    await click(h, copy, 'Restart agent on node-8', 'UFIXER02');
    await answered(/Nothing more was done: Agent on node-8 restarted by <@UFIXER01>/);
    expect(podsOn('node-8')).toEqual(after);

    // "Re-run self-test on node-8": a self-test of that node only, a reply in the same thread.
    await click(h, restarted, 'Re-run self-test on node-8', 'UFIXER01');
    const rerun = await h.emu.waitFor(
      (e) => e.messages(C).find((m) => m.thread_ts === result.ts && m.metadata?.event_type === 'cws_selftest_result' && m.metadata.event_payload.total === 1),
      { timeoutMs: 30_000 },
    );
    expect(textOf(rerun)).toContain('node-8');

    // Re-run of the whole cluster from the original: in its thread too.
    await click(h, result, 'Re-run', 'UFIXER01');
    await h.emu.waitFor(
      (e) => e.messages(C).find((m) => m.thread_ts === result.ts && m.metadata?.event_type === 'cws_selftest_result' && m.metadata.event_payload.total === 20),
      { timeoutMs: 30_000 },
    );
    expect(topLevel(C).map((m) => m.ts)).toEqual([result.ts]);
  }, 120_000);
});

describe('a cluster with its own resultsChannel', () => {
  it('posts the result there, and the asking channel gets a short pointer with a link', async () => {
    const res = await h.signer.command('netcheck live-rc', { channelId: 'CASKER', userId: 'UFIXER01' });
    expect(res.status).toBe(200);
    const result = await h.emu.waitFor((e) => e.messages('CRESULTS').find((m) => m.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
    expect(result.metadata!.event_payload).toMatchObject({ cluster: 'live-rc' });
    const pointer = await answered(/The netcheck of `live-rc`: its result is in <#CRESULTS>, <https:\/\/[^|>]+\|here>/);
    expect(pointer.args.response_type).toBe('ephemeral');
    expect(h.emu.messages('CASKER').filter((m) => !m.ephemeral)).toHaveLength(0);
    // Its follow-ups stay in the results channel, in the result's thread.
    await click(h, result, 'Disable network detections', 'UFIXER01');
    await remediationResultIn(h, result);
    expect(topLevel('CRESULTS').map((m) => m.ts)).toEqual([result.ts]);
    expect(h.emu.messages('CASKER').filter((m) => !m.ephemeral)).toHaveLength(0);
  }, 60_000);
});

describe('a large fleet', () => {
  it('gets one details reply in the thread, which a re-run of the failed nodes in that thread edits instead of adding another', async () => {
    const C = 'CLIVEBIG';
    await h.signer.command('selftest live-big', { channelId: C, userId: 'UFIXER01' });
    const result = await h.emu.waitFor((e) => finalSelftest(e, C), { timeoutMs: 30_000 });
    expect(result.metadata!.event_payload).toMatchObject({ total: 30, failed: 29 });
    expect(textOf(result)).toContain('The agents not OK are listed in the thread of this message.');
    const details = () => h.emu.messages(C).filter((m) => m.thread_ts === result.ts && /agents not OK/.test(m.text ?? ''));
    const reply = await h.emu.waitFor(() => details()[0], { timeoutMs: 20_000 });
    for (let i = 2; i <= 30; i++) expect(textOf(reply)).toContain(`node-${i} (`);
    const first = String(result.metadata!.event_payload.jobId).slice(0, 11);
    expect(textOf(reply)).toContain(`job ${first}`);

    await click(h, result, 'Re-run failed (29)', 'UFIXER01');
    const rerun = await h.emu.waitFor(
      (e) => e.messages(C).find((m) => m.thread_ts === result.ts && m.metadata?.event_type === 'cws_selftest_result' && m.metadata.event_payload.total === 29),
      { timeoutMs: 30_000 },
    );
    const second = String(rerun.metadata!.event_payload.jobId).slice(0, 11);
    await h.emu.waitFor(() => (textOf(reply).includes(`job ${second}`) ? reply : undefined), { timeoutMs: 20_000 });
    expect(details()).toHaveLength(1);
    expect(reply.updates).toBeGreaterThan(0);
    expect(topLevel(C).map((m) => m.ts)).toEqual([result.ts]);
  }, 90_000);
});
