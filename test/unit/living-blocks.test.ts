/**
 * Living result messages (issue 17, point 4), the pure part: a button that did its work is
 * replaced by its outcome, the verdict says it is stale, the next step is offered, and the rest
 * of the message (its metadata included) is untouched.
 */
import { describe, expect, it } from 'vitest';
import type { AgentResult, NetcheckResult, RemediateResult, SelftestResult } from '../../src/contract/jobs.ts';
import { ACTIONS } from '../../src/core/slack/actions.ts';
import { type FollowUp, LIVING, liveMessage, livingMessage, outcomeLine } from '../../src/core/slack/blocks/living.ts';
import { LAST_CHECKED_BLOCK, withLastChecked } from '../../src/core/schedule/render.ts';
import { renderNetcheckResult } from '../../src/core/slack/blocks/netcheck.ts';
import { renderRemediationResult } from '../../src/core/slack/blocks/remediation.ts';
import { renderResult } from '../../src/core/slack/blocks/selftest.ts';
import type { Block, ChatMessage } from '../../src/core/slack/message.ts';
import { assertSlackAccepts } from '../../src/sandbox/block-kit.ts';

const ST = 'st-00000000-0000-4000-8000-000000000001';
const NC = 'nc-00000000-0000-4000-8000-000000000002';
const RM = 'rm-00000000-0000-4000-8000-000000000003';
const T0 = Date.parse('2026-12-02T12:31:00Z');

const agent = (i: number, status: AgentResult['status']): AgentResult => ({
  node: `node-${i}`,
  pod: `datadog-agent-${i}`,
  status,
  failedTests: [],
  message: status === 'ok' ? 'OK' : 'failed to receive expected event',
  durationMs: 10,
});
const selftest: SelftestResult = {
  kind: 'selftest',
  cluster: 'prod',
  target: 'kubernetes',
  startedAt: '2026-12-02T12:30:00Z',
  finishedAt: '2026-12-02T12:30:02Z',
  results: [agent(1, 'ok'), agent(2, 'failed'), agent(3, 'failed')],
};
const netcheck: NetcheckResult = {
  kind: 'netcheck',
  cluster: 'prod',
  verdict: 'broken',
  agent: { version: '7.50.3', image: 'agent:7.50.3', daemonSet: 'datadog-agent', managedBy: 'none' },
  cni: { status: 'detected', vendor: 'cilium', version: '1.14.5', daemonSet: 'cilium', detail: '' },
  config: {
    cwsEnabled: { value: true, origin: 'env:system-probe' },
    networkEnabled: { value: true, origin: 'default(7.50.3)' },
    classifierPriority: { value: 10, origin: 'default(7.50.3)' },
  },
  nodes: [],
  findings: [],
  remediations: ['set_classifier_priority', 'disable_network_detections'],
  suggestedPriority: 2,
  how: [],
} as unknown as NetcheckResult;
const remediation: RemediateResult = {
  kind: 'remediate',
  cluster: 'prod',
  action: 'disable_network_detections',
  status: 'applied',
  daemonSet: 'datadog-agent',
  before: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: null } },
  after: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'false' } },
  rollout: { generation: 2, observedGeneration: 2, desired: 3, updated: 3, ready: 3, complete: true },
} as unknown as RemediateResult;

const fu = (o: Partial<FollowUp>): FollowUp => ({
  jobId: 'rm-00000000-0000-4000-8000-00000000000f',
  action: 'disable_network_detections',
  by: 'UALICE',
  startedAt: T0,
  endedAt: T0 + 60_000,
  state: 'done',
  ...o,
});

const buttons = (m: ChatMessage) =>
  (m.blocks ?? []).flatMap((b: Block) => (b.type === 'actions' ? b.elements.flatMap((e) => (e.type === 'button' ? [e] : [])) : []));
const labels = (m: ChatMessage) => buttons(m).map((b) => b.text.text);
const blockText = (m: ChatMessage, id: string) => {
  const b = m.blocks?.find((x) => x.block_id === id);
  if (!b) return undefined;
  if (b.type === 'section') return b.text?.text;
  if (b.type === 'context') return b.elements.map((e) => e.text).join('\n');
  return undefined;
};

describe('a netcheck report whose fix was applied', () => {
  const report = renderNetcheckResult({ jobId: NC, cluster: 'prod', requestedBy: 'UASKER' }, netcheck);

  it('while the fix runs, its button is gone and says who started it; the verdict is not stale yet', () => {
    const live = liveMessage(report, NC, [fu({ state: 'running', endedAt: undefined })]);
    expect(labels(report)).toContain('Disable network detections');
    expect(labels(live)).not.toContain('Disable network detections');
    expect(labels(live)).toContain('Set classifier_priority to 2');
    expect(blockText(live, LIVING.outcomes)).toContain(
      `Disabling network detections: started by <@UALICE> at <!date^${T0 / 1000}^{date_short_pretty} {time}|2026-12-02 12:31 UTC>`,
    );
    expect(blockText(live, LIVING.verdict)).toBe(blockText(report, LIVING.verdict));
    expect(labels(live)).not.toContain('Re-check');
  });

  it('once done: the outcome with who and when, "changed since" under the verdict, and Re-check offered', () => {
    const live = liveMessage(report, NC, [fu({})]);
    expect(blockText(live, LIVING.outcomes)).toContain(`Network detections disabled by <@UALICE> at <!date^${T0 / 1000 + 60}^`);
    expect(blockText(live, LIVING.verdict)).toMatch(/^:red_circle: \*Broken\*.*\n_changed since: network detections disabled by <@UALICE> at <!date\^\d+\^/s);
    const recheck = buttons(live).find((b) => b.text.text === 'Re-check')!;
    expect(recheck.action_id).toMatch(ACTIONS.netcheckRecheck.pattern);
    expect(recheck.value).toBe(NC);
    // Above the footer, and the metadata is the report's.
    const ids = live.blocks!.map((b) => b.block_id);
    expect(ids.indexOf(LIVING.outcomes)).toBe(ids.indexOf(LIVING.footer) - 2);
    expect(live.metadata).toEqual(report.metadata);
    expect(live.text).toBe(report.text);
    assertSlackAccepts({ channel: 'C1', ...live });
  });

  it('is rebuilt from the original each time: applying it twice changes nothing', () => {
    const once = liveMessage(report, NC, [fu({})]);
    expect(liveMessage(once, NC, [fu({})])).toEqual(once);
  });

  it('a failed fix says so and points to the thread', () => {
    const live = liveMessage(report, NC, [fu({ state: 'failed', detail: 'the DaemonSet is gone' })]);
    expect(blockText(live, LIVING.outcomes)).toMatch(
      /:x: Disabling network detections failed \(started by <@UALICE>.*\(the DaemonSet is gone\): what failed is in the thread/,
    );
    expect(blockText(live, LIVING.verdict)).not.toContain('changed since');
  });

  it('another report’s buttons of the same action are left alone', () => {
    const other = renderNetcheckResult({ jobId: NC.replace('2', '9'), cluster: 'prod', requestedBy: 'UASKER' }, netcheck);
    expect(labels(liveMessage(other, NC, [fu({})]))).toContain('Disable network detections');
  });

  it('without follow-ups the message is the original', () => {
    expect(liveMessage(report, NC, [])).toBe(report);
  });
});

describe('a self-test whose agent was restarted', () => {
  const result = renderResult({ jobId: ST, cluster: 'prod', requestedBy: 'UASKER' }, selftest);

  it('the restart button of that node becomes its outcome, and "Re-run self-test on node-3" is offered', () => {
    expect(labels(result)).toEqual(expect.arrayContaining(['Restart agent on node-2', 'Restart agent on node-3']));
    const live = liveMessage(result, ST, [fu({ action: 'restart_agent', node: 'node-3', by: 'UBOB', detail: 'pod datadog-agent-3 → datadog-agent-x' })]);
    expect(labels(live)).not.toContain('Restart agent on node-3');
    expect(labels(live)).toContain('Restart agent on node-2');
    expect(labels(live)).toContain('Flare from node-3');
    expect(blockText(live, LIVING.outcomes)).toContain('Agent on *node-3* restarted by <@UBOB> at <!date^');
    expect(blockText(live, LIVING.outcomes)).toContain('(pod datadog-agent-3 → datadog-agent-x)');
    expect(blockText(live, LIVING.verdict)).toContain('_changed since: agent on *node-3* restarted by <@UBOB>');
    const rerun = buttons(live).find((b) => b.text.text === 'Re-run self-test on node-3')!;
    expect(rerun.action_id).toMatch(ACTIONS.selftestRerunNode.pattern);
    expect(rerun.value).toBe(`${ST}|node-3`);
    assertSlackAccepts({ channel: 'C1', ...live });
  });

  it('the latest restart of a node wins (a restart asked again later)', () => {
    const live = liveMessage(result, ST, [
      fu({ jobId: 'a', action: 'restart_agent', node: 'node-3', startedAt: T0, state: 'failed' }),
      fu({ jobId: 'b', action: 'restart_agent', node: 'node-3', startedAt: T0 + 1000, state: 'running', endedAt: undefined }),
    ]);
    expect(blockText(live, LIVING.outcomes)!.split('\n')).toHaveLength(1);
    expect(blockText(live, LIVING.outcomes)).toContain('Restarting the agent on *node-3*: started by');
  });

  it('a user named by something else than a user ID is shown as text, never as a mention', () => {
    expect(outcomeLine(fu({ by: '<!channel>' }))).not.toContain('<!channel>');
  });
});

describe('a remediation that was reverted', () => {
  const done = renderRemediationResult({ jobId: RM, cluster: 'prod', action: 'disable_network_detections', requestedBy: 'UALICE' }, remediation);

  it('offers Revert and Re-check; once reverted, Revert is replaced by "Reverted by @bob at …"', () => {
    expect(labels(done)).toEqual(['Revert', 'Re-check']);
    const live = liveMessage(done, RM, [fu({ action: 'revert', by: 'UBOB' })]);
    expect(labels(live)).toEqual(['Re-check']);
    expect(blockText(live, LIVING.outcomes)).toMatch(
      /^:white_check_mark: Reverted by <@UBOB> at <!date\^\d+\^\{date_short_pretty\} \{time\}\|2026-12-02 12:32 UTC>$/,
    );
    expect(blockText(live, LIVING.verdict)).toContain('_changed since: reverted by <@UBOB>');
    assertSlackAccepts({ channel: 'C1', ...live });
  });
});

describe('a result near Slack’s limits', () => {
  it('keeps its verdict, outcomes, buttons and footer within the limits: its longest detail sections give way', () => {
    const results = Array.from({ length: 300 }, (_, i) => ({
      ...agent(i, i % 3 ? 'ok' : 'failed'),
      node: `node-${i}-${'n'.repeat(200)}`,
      message: `failure kind ${i % 40} ${'x'.repeat(390)}`,
    }));
    const big = renderResult({ jobId: ST, cluster: 'prod', requestedBy: 'UASKER' }, { ...selftest, results });
    const nodes = results
      .filter((r) => r.status !== 'ok')
      .slice(0, 10)
      .map((r) => r.node);
    const live = liveMessage(
      big,
      ST,
      nodes.map((node, i) => fu({ jobId: `j${i}`, action: 'restart_agent', node, detail: `pod ${'p'.repeat(200)} → ${'q'.repeat(200)}` })),
    );
    assertSlackAccepts({ channel: 'C1', ...live });
    expect(blockText(live, LIVING.verdict)).toContain('changed since: agent on');
    expect(blockText(live, LIVING.outcomes)!.split('\n')).toHaveLength(10);
    expect(live.blocks!.at(-1)!.block_id).toBe(LIVING.footer);
    expect(JSON.stringify(live.blocks)).toContain('Some details were left out to make room for what happened since');
    expect(labels(live)).toContain('Re-run failed (100)');
  });
});

describe('a scheduled result: its "Last checked" line is part of the living state', () => {
  const report = renderNetcheckResult({ jobId: NC, cluster: 'prod', requestedBy: 'UASKER' }, netcheck);
  const T1 = T0 + 3_600_000;
  const lines = (m: ChatMessage) => (m.blocks ?? []).filter((b) => b.block_id === LAST_CHECKED_BLOCK);

  it('one rendering shows both the outcomes and the line; the line last, the outcomes above the footer', () => {
    const m = livingMessage(report, NC, { followUps: [fu({})], lastChecked: T1 });
    expect(blockText(m, LIVING.outcomes)).toContain('Network detections disabled by <@UALICE>');
    expect(blockText(m, LAST_CHECKED_BLOCK)).toContain(`Last checked <!date^${T1 / 1000}^`);
    expect(lines(m)).toHaveLength(1);
    expect(m.blocks!.at(-1)!.block_id).toBe(LAST_CHECKED_BLOCK);
    const ids = m.blocks!.map((b) => b.block_id);
    expect(ids.indexOf(LIVING.outcomes)).toBeLessThan(ids.indexOf(LIVING.footer));
    expect(m.metadata).toEqual(report.metadata);
    assertSlackAccepts({ channel: 'C1', ...m });
  });

  it('the same as liveMessage without a check, and as withLastChecked without follow-ups', () => {
    expect(livingMessage(report, NC, { followUps: [fu({})] })).toEqual(liveMessage(report, NC, [fu({})]));
    expect(livingMessage(report, NC, { followUps: [], lastChecked: T1 })).toEqual(withLastChecked(report, T1));
    expect(livingMessage(report, NC, { followUps: [] })).toBe(report);
  });

  it('rendered again from a message that already shows an older line: one line, the newer date', () => {
    const m = livingMessage(withLastChecked(report, T0)!, NC, { followUps: [fu({})], lastChecked: T1 });
    expect(lines(m)).toHaveLength(1);
    expect(blockText(m, LAST_CHECKED_BLOCK)).toContain(`<!date^${T1 / 1000}^`);
  });
});
