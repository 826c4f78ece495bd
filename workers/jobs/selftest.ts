import pLimit from 'p-limit';
import type { AgentResult, SelftestJobData, SelftestProgress, SelftestResult } from '../../src/jobs/schemas.ts';
import { combineWithStatus, parseSelftestStatus } from '../../src/selftest/status.ts';
import { parseSelftestOutput } from '../../src/selftest/verdict.ts';
import { ExecTimeoutError, TargetError, formatSeconds } from '../targets/errors.ts';
import type { AgentRef, AgentTarget } from '../targets/types.ts';

export interface SelftestDeps {
  target: AgentTarget;
  /** `security-agent` (default) or `system-probe` (Agent ≥ 7.77 docs). */
  binary: 'security-agent' | 'system-probe';
  concurrency: number;
  /** Read the "Self Tests" block of `security-agent status` after the self-test (default true). */
  readStatus?: boolean;
  /** Called with progress; the caller throttles what it forwards. */
  report: (p: SelftestProgress) => void | Promise<void>;
  now?: () => Date;
}

export async function runSelftestOnAgent(
  target: AgentTarget,
  agent: AgentRef,
  binary: string,
  timeoutMs: number,
  readStatus = true,
): Promise<AgentResult> {
  const started = Date.now();
  const base = { node: agent.node, pod: agent.pod };
  if (agent.unavailable) return { ...base, status: 'error', failedTests: [], message: agent.unavailable, durationMs: 0 };
  try {
    const out = await target.exec(agent, [binary, 'runtime', 'self-test'], { timeoutMs, container: 'securityAgent' });
    let verdict = parseSelftestOutput(out);
    if (readStatus && verdict.status !== 'error') {
      // Newer agents report per-test results only in `security-agent status` ("Self Tests").
      const left = Math.max(1000, timeoutMs - (Date.now() - started));
      const status = await target
        .exec(agent, ['security-agent', 'status'], { timeoutMs: left, container: 'securityAgent' })
        .then((s) => parseSelftestStatus(s.stdout))
        .catch(() => undefined);
      verdict = combineWithStatus(verdict, status);
    }
    return { ...base, ...verdict, durationMs: Date.now() - started };
  } catch (err) {
    const durationMs = Date.now() - started;
    if (err instanceof ExecTimeoutError)
      return { ...base, status: 'timeout', failedTests: [], message: `timed out after ${formatSeconds(err.timeoutMs)}`, durationMs };
    if (err instanceof TargetError)
      return { ...base, status: 'error', failedTests: [], message: err.hint ? `${err.message}. ${err.hint}` : err.message, durationMs };
    throw err;
  }
}

/** Lists the agents, runs the self-test on each with bounded concurrency, and collects verdicts. */
export async function runSelftest(data: SelftestJobData, deps: SelftestDeps): Promise<SelftestResult> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now().toISOString();
  await deps.report({ phase: 'listing', total: 0, done: 0, failing: 0 });
  const agents = await deps.target.listAgents(data.node ? { node: data.node } : undefined);
  const limit = pLimit(deps.concurrency);
  let done = 0;
  let failing = 0;
  await deps.report({ phase: 'running', total: agents.length, done, failing });
  const results = await Promise.all(
    agents.map((agent) =>
      limit(async () => {
        const r = await runSelftestOnAgent(deps.target, agent, deps.binary, data.agentTimeoutMs, deps.readStatus ?? true);
        done++;
        if (r.status !== 'ok') failing++;
        await deps.report({ phase: 'running', total: agents.length, done, failing });
        return r;
      }),
    ),
  );
  return { kind: 'selftest', cluster: data.cluster, target: deps.target.kind, startedAt, finishedAt: now().toISOString(), results };
}
