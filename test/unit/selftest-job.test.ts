import { describe, expect, it } from 'vitest';
import { runSelftestOnAgent } from '../../workers/jobs/selftest.ts';
import { AgentNotFoundError, AgentUnreachableError, ExecTimeoutError } from '../../workers/targets/errors.ts';
import type { AgentRef, AgentTarget, ExecResult } from '../../workers/targets/types.ts';

/** An in-memory AgentTarget: the per-agent logic without any process or network. */
function memoryTarget(behave: (argv: string[]) => ExecResult | Error): AgentTarget & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    kind: 'kubernetes',
    description: 'memory',
    calls,
    listAgents: async () => [],
    async exec(_agent, argv) {
      calls.push(argv);
      const r = behave(argv);
      if (r instanceof Error) throw r;
      return r;
    },
  };
}

const agent: AgentRef = { node: 'n1', pod: 'p1' };
const OK = { stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 };
const status = (failed: string[]) => ({
  stdout: `  Self Tests\n  ==========\n    Last execution: now\n    Succeeded:\n      - datadog_agent_cws_self_test_rule_open\n    ${failed.length ? `Failed:\n${failed.map((f) => `      - ${f}\n`).join('')}` : 'Failed: none\n'}`,
  stderr: '',
  exitCode: 0,
});

describe('runSelftestOnAgent', () => {
  it('runs the self-test, then reads status to name failing tests', async () => {
    const t = memoryTarget((argv) => (argv[1] === 'status' ? status(['datadog_agent_cws_self_test_rule_chown']) : OK));
    const r = await runSelftestOnAgent(t, agent, 'security-agent', 60_000);
    expect(r).toMatchObject({ node: 'n1', pod: 'p1', status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_chown'] });
    expect(t.calls).toEqual([
      ['security-agent', 'runtime', 'self-test'],
      ['security-agent', 'status'],
    ]);
  });

  it('uses the configured binary and can skip the status read', async () => {
    const t = memoryTarget(() => OK);
    const r = await runSelftestOnAgent(t, agent, 'system-probe', 60_000, false);
    expect(r.status).toBe('ok');
    expect(t.calls).toEqual([['system-probe', 'runtime', 'self-test']]);
  });

  it('does not read status when the self-test could not run', async () => {
    const t = memoryTarget(() => ({ stdout: 'Runtime self test: error: self-tests are disabled\n', stderr: '', exitCode: 0 }));
    expect(await runSelftestOnAgent(t, agent, 'security-agent', 60_000)).toMatchObject({ status: 'error' });
    expect(t.calls).toHaveLength(1);
  });

  it('an unavailable agent is an error without any exec', async () => {
    const t = memoryTarget(() => OK);
    const r = await runSelftestOnAgent(t, { ...agent, unavailable: 'pod p1 is Pending, not running' }, 'security-agent', 60_000);
    expect(r).toMatchObject({ status: 'error', message: 'pod p1 is Pending, not running' });
    expect(t.calls).toHaveLength(0);
  });

  it('maps timeouts and target errors to verdicts', async () => {
    expect(
      await runSelftestOnAgent(
        memoryTarget(() => new ExecTimeoutError(60_000, 'p1')),
        agent,
        'security-agent',
        60_000,
      ),
    ).toMatchObject({
      status: 'timeout',
      message: 'timed out after 60 s',
    });
    expect(
      await runSelftestOnAgent(
        memoryTarget(() => new AgentNotFoundError('container security-agent not found in pod p1')),
        agent,
        'security-agent',
        60_000,
      ),
    ).toMatchObject({
      status: 'error',
      message: /container security-agent not found in pod p1/,
    });
  });

  it('lets transient errors escape for a retry, except on the last attempt', async () => {
    const t = memoryTarget(() => new AgentUnreachableError('API server unreachable'));
    await expect(runSelftestOnAgent(t, agent, 'security-agent', 60_000, true, true)).rejects.toThrow('API server unreachable');
    expect(await runSelftestOnAgent(t, agent, 'security-agent', 60_000, true, false)).toMatchObject({ status: 'error', message: /API server unreachable/ });
  });
});
