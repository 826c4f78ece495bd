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

/** Strings of the real CLIs (test/fixtures/selftest/SOURCES.md §4.1, §4.2). */
const UNAVAILABLE = {
  stdout: '',
  stderr:
    'Error: unable to get a process self test: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /opt/datadog-agent/run/runtime-security.sock: connect: no such file or directory"\n',
  exitCode: 255,
};
const SP_FAILED = { stdout: 'Runtime self test: error: failed to receive expected event\n', stderr: '', exitCode: 0 };

describe('runSelftestOnAgent: the agent layout decides the command (issue 19)', () => {
  const spOnly: AgentRef = { node: 'n1', pod: 'p1', containers: ['agent', 'system-probe'] };
  const both: AgentRef = { node: 'n1', pod: 'p1', containers: ['security-agent', 'system-probe'] };

  it('a pod without a security-agent container runs system-probe runtime self-test, no status read', async () => {
    const calls: [string[], string | undefined][] = [];
    const t: AgentTarget = {
      kind: 'kubernetes',
      description: 'memory',
      listAgents: async () => [],
      async exec(_a, argv, opts) {
        calls.push([argv, opts.container]);
        return SP_FAILED;
      },
    };
    const r = await runSelftestOnAgent(t, spOnly, undefined, 60_000);
    expect(r).toMatchObject({ status: 'failed', message: 'failed to receive expected event', command: 'system-probe runtime self-test' });
    expect(calls).toEqual([[['system-probe', 'runtime', 'self-test'], 'systemProbe']]);
  });

  it('security-agent first where the pod has it; its Unavailable dial error falls back to system-probe', async () => {
    const t = memoryTarget((argv) => (argv[0] === 'security-agent' ? UNAVAILABLE : OK));
    const r = await runSelftestOnAgent(t, both, undefined, 60_000);
    expect(r).toMatchObject({ status: 'ok', command: 'system-probe runtime self-test' });
    expect(t.calls).toEqual([
      ['security-agent', 'runtime', 'self-test'],
      ['system-probe', 'runtime', 'self-test'],
    ]);
  });

  it('security-agent OK stays security-agent (and reads its status)', async () => {
    const t = memoryTarget((argv) => (argv[1] === 'status' ? status([]) : OK));
    expect(await runSelftestOnAgent(t, both, undefined, 60_000)).toMatchObject({ status: 'ok', command: 'security-agent runtime self-test' });
    expect(t.calls).toHaveLength(2);
  });

  it('a missing security-agent container (exec refused, 400) falls back; both down: system-probe’s answer', async () => {
    const t = memoryTarget((argv) =>
      argv[0] === 'security-agent' ? new AgentNotFoundError('cannot exec into container security-agent of pod p1 (400)') : UNAVAILABLE,
    );
    const r = await runSelftestOnAgent(t, { node: 'n1', pod: 'p1' }, undefined, 60_000);
    expect(r).toMatchObject({ status: 'error', message: /system-probe unreachable/, command: 'system-probe runtime self-test' });
  });

  it('an explicit selftest.binary wins: no fallback', async () => {
    const t = memoryTarget(() => UNAVAILABLE);
    const r = await runSelftestOnAgent(t, both, 'security-agent', 60_000);
    expect(r).toMatchObject({ status: 'error', command: 'security-agent runtime self-test' });
    expect(t.calls).toHaveLength(1);
  });

  it('host: a missing security-agent binary tries system-probe; neither there: the first error stands', async () => {
    const host = (behave: (argv: string[]) => ExecResult | Error) => ({ ...memoryTarget(behave), kind: 'host' as const });
    const h1 = host((argv) =>
      argv[0] === 'security-agent' ? new AgentNotFoundError('/opt/x/security-agent not found on m1', "Check the cluster's `binary` setting.") : OK,
    );
    expect(await runSelftestOnAgent(h1, { node: 'm1', pod: 'host' }, undefined, 60_000)).toMatchObject({
      status: 'ok',
      command: 'system-probe runtime self-test',
    });
    const h2 = host((argv) => new AgentNotFoundError(`/opt/x/${argv[0]} not found on m1`, "Check the cluster's `binary` setting."));
    expect(await runSelftestOnAgent(h2, { node: 'm1', pod: 'host' }, undefined, 60_000)).toMatchObject({
      status: 'error',
      message: /security-agent not found on m1.*binary/,
      command: 'security-agent runtime self-test',
    });
    // host: an unreachable module is not a reason to ask system-probe (same socket)
    const h3 = host(() => UNAVAILABLE);
    await runSelftestOnAgent(h3, { node: 'm1', pod: 'host' }, undefined, 60_000, false);
    expect(h3.calls).toHaveLength(1);
  });

  it('docker keeps today’s single command', async () => {
    const t = { ...memoryTarget(() => UNAVAILABLE), kind: 'docker' as const };
    await runSelftestOnAgent(t, { node: 'e', pod: 'datadog-agent' }, undefined, 60_000);
    expect(t.calls).toHaveLength(1);
  });
});
