/**
 * Plain words for people (issue 17, point 4): settings' provenance in words instead of the
 * worker's labels, no finding codes in the report, short job IDs in footers that `/cws status`
 * accepts.
 */
import { describe, expect, it } from 'vitest';
import type { NetcheckResult } from '../../src/contract/jobs.ts';
import { parseCommand } from '../../src/core/grammar.ts';
import { originWords, plainOrigins, renderNetcheckResult } from '../../src/core/slack/blocks/netcheck.ts';
import { renderQueued, renderResult, testName } from '../../src/core/slack/blocks/selftest.ts';
import { shortJobId } from '../../src/core/slack/blocks/text.ts';

const NC = 'nc-1b2c3d4e-0000-4000-8000-000000000002';

describe('provenance in plain words', () => {
  it.each([
    ['default(7.39.1)', 'default of agent 7.39.1'],
    ['default(any)', 'default'],
    ['fixed(7.35.0)', 'always so in agent 7.35.0'],
    ['env:system-probe', 'set in the system-probe environment'],
    ['configmap', 'set in system-probe.yaml (ConfigMap)'],
    ['file', 'set in system-probe.yaml'],
    ['unknown', 'source unknown'],
  ])('%s reads "%s"', (origin, words) => expect(originWords(origin)).toBe(words));

  it('labels inside a finding’s message read as words too', () => {
    expect(plainOrigins('runtime_security_config.network.classifier_priority: 10 (default(7.50.3)) takes precedence')).toBe(
      'runtime_security_config.network.classifier_priority: 10 (default of agent 7.50.3) takes precedence',
    );
    expect(plainOrigins('(runtime_security_config.enabled: false, env:system-probe)')).toBe(
      '(runtime_security_config.enabled: false, set in the system-probe environment)',
    );
    expect(plainOrigins('env vars and the default(any) value')).toBe('env vars and the default value');
  });

  it('the netcheck report shows the words, not the labels nor the finding codes (both stay in the metadata)', () => {
    const r = {
      kind: 'netcheck',
      cluster: 'prod',
      verdict: 'broken',
      agent: { version: '7.39.1', image: null, daemonSet: 'datadog-agent', managedBy: 'none' },
      cni: { status: 'detected', vendor: 'cilium', version: '1.14.5', daemonSet: 'cilium', detail: '' },
      config: {
        cwsEnabled: { value: true, origin: 'env:system-probe' },
        networkEnabled: { value: true, origin: 'default(7.39.1)' },
        classifierPriority: { value: 1, origin: 'fixed(7.39.1)' },
      },
      nodes: [],
      findings: [{ code: 'cilium_race', severity: 'critical', message: 'Cilium and CWS race for the tc classifier.' }],
      remediations: [],
      how: [],
    } as unknown as NetcheckResult;
    const m = renderNetcheckResult({ jobId: NC, cluster: 'prod', requestedBy: 'U1' }, r);
    const shown = JSON.stringify(m.blocks);
    expect(shown).toContain('network.enabled: true _(default of agent 7.39.1)_');
    expect(shown).toContain('enabled: true _(set in the system-probe environment)_');
    expect(shown).not.toContain('default(7.39.1)');
    expect(shown).toContain('Cilium and CWS race for the tc classifier.');
    expect(shown).not.toContain('cilium_race');
    expect(JSON.stringify(m.metadata)).toContain('cilium_race');
  });
});

describe('self-test rules', () => {
  it('are named by what they test; the full rule name stays in the metadata', () => {
    expect(testName('datadog_agent_cws_self_test_rule_chmod')).toBe('chmod');
    expect(testName('datadog_agent_cws_self_test_rule_')).toBe('datadog_agent_cws_self_test_rule_');
    expect(testName('custom_rule')).toBe('custom_rule');
    const failed = {
      node: 'node-1',
      pod: 'p1',
      status: 'failed' as const,
      failedTests: ['datadog_agent_cws_self_test_rule_open'],
      message: 'x',
      durationMs: 1,
    };
    const ok = { ...failed, node: 'node-2', pod: 'p2', status: 'ok' as const, failedTests: [] };
    const m = renderResult(
      { jobId: NC, cluster: 'prod', requestedBy: 'U1' },
      { kind: 'selftest', cluster: 'prod', target: 'kubernetes', startedAt: '2026-12-02T00:00:00Z', finishedAt: '2026-12-02T00:00:01Z', results: [failed, ok] },
    );
    expect(JSON.stringify(m.blocks)).toContain('failing tests: `open`');
    expect(JSON.stringify(m.blocks)).not.toContain('self_test_rule');
    expect(JSON.stringify(m.metadata)).toContain('datadog_agent_cws_self_test_rule_open');
  });
});

describe('short job IDs', () => {
  it('footers show the kind and the first 8 hex digits; status accepts that, a longer prefix and the full ID', () => {
    expect(shortJobId(NC)).toBe('nc-1b2c3d4e');
    expect(shortJobId('whatever')).toBe('whatever');
    const footer = JSON.stringify(renderQueued({ jobId: NC, cluster: 'prod', requestedBy: 'U1' }).blocks!.at(-1));
    expect(footer).toContain('job nc-1b2c3d4e ·');
    expect(footer).not.toContain(NC);
    for (const id of ['nc-1b2c3d4e', 'nc-1b2c3d4e-00', NC]) expect(parseCommand(`status ${id}`)).toMatchObject({ ok: true, command: { jobId: id } });
    for (const id of ['nc-1b2', 'nc-1b2c3d4ex', `${NC}0`, '../../etc']) expect(parseCommand(`status ${id}`).ok).toBe(false);
  });
});
