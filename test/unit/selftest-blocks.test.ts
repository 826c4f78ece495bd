import { describe, expect, it } from 'vitest';
import type { AgentResult, SelftestResult } from '../../src/contract/jobs.ts';
import { parseNodeActionValue, renderJobFailure, renderProgress, renderQueued, renderResult } from '../../src/core/slack/blocks/selftest.ts';

const ctx = { jobId: 'st-1', cluster: 'cluster-a', requestedBy: 'U1' };
const agent = (node: string, status: AgentResult['status'], extra: Partial<AgentResult> = {}): AgentResult => ({
  node,
  pod: `datadog-agent-${node}`,
  status,
  failedTests: [],
  message: status === 'ok' ? 'Runtime self test: OK' : `${status} on ${node}`,
  durationMs: 10,
  ...extra,
});
const result = (results: AgentResult[]): SelftestResult => ({
  kind: 'selftest',
  cluster: 'cluster-a',
  target: 'docker',
  startedAt: '2026-11-27T07:00:00.000Z',
  finishedAt: '2026-11-27T07:00:02.500Z',
  results,
});
const allText = (m: { blocks?: unknown[] }) => JSON.stringify(m.blocks);

describe('self-test Block Kit', () => {
  it('lists failures first, then a compact OK line, with a Re-run button and metadata', () => {
    const m = renderResult(
      ctx,
      result([
        agent('node-1', 'ok'),
        agent('node-3', 'timeout', { message: 'timed out after 60 s' }),
        agent('node-2', 'failed', { failedTests: ['datadog_agent_cws_self_test_rule_chmod'] }),
        agent('node-4', 'error', { message: 'system-probe unreachable: Error: …' }),
      ]),
    );
    expect(m.text).toBe('Self-test cluster-a: 1/4 agents OK');
    const text = allText(m);
    expect(text.indexOf('node-2')).toBeLessThan(text.indexOf('node-4'));
    expect(text.indexOf('node-4')).toBeLessThan(text.indexOf('node-3'));
    expect(text.indexOf('node-3')).toBeLessThan(text.indexOf('1 OK: node-1'));
    expect(text).toContain('failing tests: `chmod`'); // the rule's full name stays in the metadata (issue 17: plain words)
    expect(text).toContain('timed out after 60 s');
    expect(text).toContain('Next steps');
    const buttons = m.blocks!.filter((b) => b.type === 'actions').flatMap((b) => (b as { elements: { action_id: string; value: string }[] }).elements);
    expect(buttons.find((b) => b.action_id === 'selftest.rerun')).toMatchObject({ value: 'st-1' });
    expect(buttons.find((b) => b.action_id === 'selftest.rerun_failed')).toMatchObject({ value: 'st-1', text: { text: 'Re-run failed (3)' } });
    // Docker: flare buttons for the first failing nodes, no pod restart.
    expect(buttons.filter((b) => b.action_id.startsWith('selftest.flare:')).map((b) => b.value)).toEqual(['st-1|node-2', 'st-1|node-4', 'st-1|node-3']);
    expect(buttons.some((b) => b.action_id.startsWith('selftest.restart'))).toBe(false);
    expect(m.metadata).toMatchObject({
      event_type: 'cws_selftest_result',
      event_payload: { jobId: 'st-1', cluster: 'cluster-a', total: 4, ok: 1, failed: 3 },
    });
    const payload = m.metadata!.event_payload as { results: { node: string; status: string }[] };
    expect(payload.results.map((r) => r.status)).toEqual(['failed', 'error', 'timeout', 'ok']);
  });

  it('offers a confirmed restart per failing node on Kubernetes; values parse back', () => {
    const m = renderResult(
      { ...ctx, jobId: 'st-00000000-0000-4000-8000-000000000000' },
      { ...result([agent('node-1', 'ok'), agent('node-7', 'failed')]), target: 'kubernetes' },
    );
    const buttons = m.blocks!.filter((b) => b.type === 'actions').flatMap((b) => (b as unknown as { elements: Record<string, unknown>[] }).elements);
    const restart = buttons.find((b) => b.action_id === 'selftest.restart:0')!;
    expect(restart).toMatchObject({ style: 'danger', text: { text: 'Restart agent on node-7' }, confirm: { confirm: { text: 'Restart' } } });
    expect(parseNodeActionValue(String(restart.value))).toEqual({ jobId: 'st-00000000-0000-4000-8000-000000000000', node: 'node-7' });
    expect(parseNodeActionValue('st-00000000-0000-4000-8000-000000000000|node-7;rm')).toBeUndefined();
    expect(parseNodeActionValue('other|node-7')).toBeUndefined();
  });

  it('stays within Slack limits for 1000 agents', () => {
    const results = Array.from({ length: 1000 }, (_, i) => agent(`node-${i}`, i % 7 === 0 ? 'failed' : 'ok', { message: 'x'.repeat(500) }));
    const m = renderResult(ctx, result(results));
    expect(m.blocks!.length).toBeLessThanOrEqual(50);
    expect(allText(m).length).toBeLessThan(13_000);
    for (const b of m.blocks!) if (b.type === 'section') expect((b as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(3000);
    expect((m.metadata!.event_payload as { results: unknown[] }).results).toHaveLength(1000);
  });

  it('escapes agent output so it cannot inject mentions or links', () => {
    const m = renderResult(ctx, result([agent('node-1', 'error', { message: '<!channel> <https://evil|click>' })]));
    expect(allText(m)).not.toContain('<!channel>');
    expect(allText(m)).toContain('&lt;!channel&gt;');
  });

  it('renders queued, attached, progress, no agents and job failures', () => {
    expect(renderQueued(ctx).text).toBe('Self-test on cluster-a queued…');
    expect(renderQueued(ctx, 'st-0').text).toMatch(/already running \(job st-0\)/);
    expect(renderProgress(ctx, { phase: 'running', total: 120, done: 37, failing: 2 }).text).toBe(
      'Self-test on cluster-a: 37/120 agents checked, 2 failing so far',
    );
    expect(renderResult({ ...ctx, node: 'n9' }, result([])).text).toBe('Self-test cluster-a: no agents found');
    const f = renderJobFailure(ctx, {
      code: 'agent_unreachable',
      message: 'Docker engine at unix:///x is unreachable (ENOENT)',
      hint: 'Check that dockerd is running.',
    });
    expect(allText(f)).toContain('could not run');
    expect(allText(f)).toContain('Check that dockerd is running.');
    expect(f.metadata).toMatchObject({ event_type: 'cws_selftest_result', event_payload: { total: 0, error: expect.stringContaining('unreachable') } });
  });
});
