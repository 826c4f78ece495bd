import type { AgentResult } from '../../src/contract/jobs.ts';
import { combineWithStatus, parseSelftestStatus } from '../../src/core/selftest/status.ts';
import { parseSelftestOutput } from '../../src/core/selftest/verdict.ts';
import { ExecTimeoutError, TargetError, formatSeconds } from '../targets/errors.ts';
import type { AgentRef, AgentTarget } from '../targets/types.ts';

/** One agent's self-test: exec, parse the verdict, then (optionally) name failing tests from `status`. */
export async function runSelftestOnAgent(
  target: AgentTarget,
  agent: AgentRef,
  binary: string,
  timeoutMs: number,
  readStatus = true,
  /** Let transient errors (API server unreachable) escape so the job is retried. */
  rethrowTransient = false,
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
    if (err instanceof TargetError && err.transient && rethrowTransient) throw err;
    if (err instanceof TargetError)
      return { ...base, status: 'error', failedTests: [], message: err.hint ? `${err.message}. ${err.hint}` : err.message, durationMs };
    throw err;
  }
}
