import { describe, expect, it } from 'vitest';
import type { SelftestProgress } from '../../src/jobs/schemas.ts';
import { runSelftest } from '../../workers/jobs/selftest.ts';
import { AgentNotFoundError, ExecTimeoutError } from '../../workers/targets/errors.ts';
import type { AgentRef, AgentTarget, ExecResult } from '../../workers/targets/types.ts';

/** An in-memory AgentTarget: the processor's logic without any process or network. */
function memoryTarget(agents: AgentRef[], behave: (a: AgentRef, argv: string[]) => ExecResult | Error): AgentTarget & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    kind: 'kubernetes',
    description: 'memory',
    calls,
    async listAgents(filter) {
      return agents.filter((a) => !filter?.node || a.node === filter.node);
    },
    async exec(agent, argv) {
      calls.push([agent.node, ...argv]);
      const r = behave(agent, argv);
      if (r instanceof Error) throw r;
      return r;
    },
  };
}

const data = { kind: 'selftest' as const, cluster: 'c', requestedBy: 'U1', requestedAt: 'now', agentTimeoutMs: 60_000 };
const OK = { stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 };
const STATUS_OK = { stdout: '  Self Tests\n  ==========\n    Last execution: now\n    Succeeded:\n      - datadog_agent_cws_self_test_rule_open\n    Failed: none\n', stderr: '', exitCode: 0 };

describe('runSelftest', () => {
  it('turns every agent into one verdict, including unavailable ones, and reports progress', async () => {
    const agents: AgentRef[] = [
      { node: 'n1', pod: 'p1' },
      { node: 'n2', pod: 'p2' },
      { node: 'n3', pod: 'p3' },
      { node: 'n4', pod: 'p4', unavailable: 'pod p4 is Pending, not ready' },
      { node: 'n5', pod: 'p5' },
    ];
    const target = memoryTarget(agents, (a, argv) => {
      if (argv[1] === 'status') return a.node === 'n2' ? { ...STATUS_OK, stdout: STATUS_OK.stdout.replace('Failed: none', 'Failed:\n      - datadog_agent_cws_self_test_rule_chown') } : STATUS_OK;
      if (a.node === 'n3') return new ExecTimeoutError(60_000, 'p3');
      if (a.node === 'n5') return new AgentNotFoundError('container security-agent not found in pod p5');
      return OK;
    });
    const progress: SelftestProgress[] = [];
    const r = await runSelftest(data, { target, binary: 'security-agent', concurrency: 2, report: (p) => void progress.push(p) });
    const by = Object.fromEntries(r.results.map((x) => [x.node, x]));
    expect(by.n1).toMatchObject({ status: 'ok' });
    expect(by.n2).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_chown'] });
    expect(by.n3).toMatchObject({ status: 'timeout', message: 'timed out after 60 s' });
    expect(by.n4).toMatchObject({ status: 'error', message: 'pod p4 is Pending, not ready' });
    expect(by.n5).toMatchObject({ status: 'error', message: /container security-agent not found in pod p5/ });
    expect(target.calls.some((c) => c[0] === 'n4')).toBe(false);
    expect(target.calls.find((c) => c[0] === 'n1')).toEqual(['n1', 'security-agent', 'runtime', 'self-test']);
    expect(progress[0]).toMatchObject({ phase: 'listing' });
    expect(progress.at(-1)).toEqual({ phase: 'running', total: 5, done: 5, failing: 4 });
  });

  it('narrows to one node and uses the configured binary', async () => {
    const target = memoryTarget([{ node: 'n1', pod: 'p1' }, { node: 'n2', pod: 'p2' }], () => OK);
    const r = await runSelftest({ ...data, node: 'n2' }, { target, binary: 'system-probe', concurrency: 5, readStatus: false, report: () => {} });
    expect(r.results.map((x) => x.node)).toEqual(['n2']);
    expect(target.calls).toEqual([['n2', 'system-probe', 'runtime', 'self-test']]);
  });

  it('keeps concurrency bounded', async () => {
    let running = 0;
    let peak = 0;
    const agents = Array.from({ length: 40 }, (_, i) => ({ node: `n${i}`, pod: `p${i}` }));
    const target: AgentTarget = {
      kind: 'kubernetes',
      description: 'memory',
      listAgents: async () => agents,
      exec: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running--;
        return OK;
      },
    };
    await runSelftest(data, { target, binary: 'security-agent', concurrency: 7, readStatus: false, report: () => {} });
    expect(peak).toBe(7);
  });

  it('lets a listing failure fail the job (retried by BullMQ)', async () => {
    const target: AgentTarget = { kind: 'docker', description: 'd', listAgents: async () => { throw new Error('boom'); }, exec: async () => OK };
    await expect(runSelftest(data, { target, binary: 'security-agent', concurrency: 1, report: () => {} })).rejects.toThrow('boom');
  });
});
