import type { AgentResult } from '../../src/contract/jobs.ts';
import { combineWithStatus, parseSelftestStatus, type SelftestStatus } from '../../src/core/selftest/status.ts';
import { agentVersionFromImage, okIsFinal, statusNeeded } from '../../src/core/selftest/version.ts';
import { parseSelftestOutput, type SelftestVerdict } from '../../src/core/selftest/verdict.ts';
import { AgentNotFoundError, ExecTimeoutError, TargetError, formatSeconds } from '../targets/errors.ts';
import type { AgentContainer, AgentRef, AgentTarget, ExecResult } from '../targets/types.ts';

export type SelftestBinary = 'security-agent' | 'system-probe';

/** The command line each binary's self-test is, as the result names it. */
export const selftestCommand = (binary: SelftestBinary) => `${binary} runtime self-test`;

const selftestArgv = (binary: SelftestBinary) => [binary, 'runtime', 'self-test'];
const STATUS_ARGV = ['security-agent', 'status'];

const containerOf = (binary: SelftestBinary): AgentContainer => (binary === 'system-probe' ? 'systemProbe' : 'securityAgent');

/** Whether the pod's listing says it has a container of that name (unknown listing: assume the default pair). */
const has = (agent: AgentRef, name: string) => agent.containers === undefined || agent.containers.includes(name);

/**
 * Which binary runs the self-test, from the agent's layout (test/fixtures/selftest/SOURCES.md §4):
 * security-agent where the pod has that container, system-probe in a pod without one. An explicit
 * `selftest.binary` wins. Names are the default container names; the Kubernetes target maps roles
 * to the configured names and lists what the pod has.
 */
export function firstSelftestBinary(agent: AgentRef, configured: SelftestBinary | undefined, names = DEFAULT_NAMES): SelftestBinary {
  if (configured) return configured;
  if (agent.containers && !agent.containers.includes(names.securityAgent) && agent.containers.includes(names.systemProbe)) return 'system-probe';
  return 'security-agent';
}

const DEFAULT_NAMES = { securityAgent: 'security-agent', systemProbe: 'system-probe' };

/**
 * When `security-agent runtime self-test` did not reach the runtime security module, whether to ask
 * system-probe itself. There is no "the module runs elsewhere" message (SOURCES.md §4.2, §4.5): a
 * security-agent without system-probe's socket (direct send, `DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE`)
 * prints the client's `rpc error: code = Unavailable … dial unix …runtime-security.sock` on stderr, exit 255 —
 * the same as a module that is down, which system-probe's own self-test then tells apart. Kubernetes:
 * when the pod has a system-probe container. Host: when the security-agent binary is missing.
 */
function fallsBackToSystemProbe(target: AgentTarget, agent: AgentRef, verdict: SelftestVerdict | 'binary_missing', names = DEFAULT_NAMES): boolean {
  if (target.kind === 'kubernetes') {
    if (!has(agent, names.systemProbe)) return false;
    if (verdict === 'binary_missing') return true;
    return verdict.status === 'error' && /^(system-probe unreachable|agent binary not found)/.test(verdict.message);
  }
  if (target.kind === 'host') return verdict === 'binary_missing' || (verdict.status === 'error' && verdict.message.startsWith('agent binary not found'));
  return false;
}

/**
 * One agent's self-test: exec, parse the verdict, then (optionally) name failing tests from
 * `security-agent status`. The agent's layout picks the command (firstSelftestBinary, then the
 * fallback to system-probe above); the result names the command that gave the verdict.
 */
export async function runSelftestOnAgent(
  target: AgentTarget,
  agent: AgentRef,
  /** The cluster's `selftest.binary`; absent: decided per agent from its layout. */
  binary: SelftestBinary | undefined,
  timeoutMs: number,
  readStatus = true,
  /** Let transient errors (API server unreachable) escape so the agent is retried (inside its batch: workers/jobs/selftest-fanout.ts). */
  rethrowTransient = false,
): Promise<AgentResult> {
  const started = Date.now();
  const base = { node: agent.node, pod: agent.pod };
  if (agent.unavailable) return { ...base, status: 'error', failedTests: [], message: agent.unavailable, durationMs: 0 };
  const names = target.containerNames ?? DEFAULT_NAMES;
  let used = firstSelftestBinary(agent, binary, names);
  try {
    const run = async (b: SelftestBinary, ms: number) =>
      parseSelftestOutput(await target.exec(agent, selftestArgv(b), { timeoutMs: ms, container: containerOf(b) }));
    const version = agent.version ?? agentVersionFromImage(agent.image);
    // Where an OK may hide failures (version.ts), self-test and status share one exec session (chain.ts) when the target can.
    const chainable = readStatus && used === 'security-agent' && !okIsFinal(version) && target.execChain !== undefined;
    let chained: { status: ExecResult | undefined } | undefined;
    const first = async (): Promise<SelftestVerdict> => {
      if (chainable) {
        const c = await target.execChain!(agent, [selftestArgv(used), STATUS_ARGV], { timeoutMs, container: 'securityAgent' });
        if (c?.results[0]) {
          chained = { status: c.results[1] };
          return parseSelftestOutput(c.results[0]);
        }
        if (c?.timedOut) throw c.timedOut;
        // No shell in the image (undefined), or it ended before the self-test did: the plain exec says why.
      }
      return run(used, timeoutMs);
    };
    let verdict: SelftestVerdict | undefined;
    let missing: AgentNotFoundError | undefined;
    try {
      verdict = await first();
    } catch (err) {
      // A missing container or binary (Kubernetes 400, host ENOENT): system-probe may be there.
      if (!binary && used === 'security-agent' && err instanceof AgentNotFoundError && fallsBackToSystemProbe(target, agent, 'binary_missing', names))
        missing = err;
      else throw err;
    }
    if (!binary && used === 'security-agent' && (missing || (verdict && fallsBackToSystemProbe(target, agent, verdict, names)))) {
      used = 'system-probe';
      const sp = await run('system-probe', Math.max(1000, timeoutMs - (Date.now() - started))).catch((err: unknown) => {
        if (err instanceof AgentNotFoundError) return undefined;
        throw err;
      });
      if (sp && !(sp.status === 'error' && sp.message.startsWith('agent binary not found'))) verdict = sp;
      else {
        // system-probe is not there either (a host with neither): security-agent's answer stands, it names the configured path.
        used = 'security-agent';
        if (missing) throw missing;
      }
    }
    if (!verdict) throw missing ?? new Error('no self-test verdict');
    // Newer agents report per-test results only in `security-agent status` ("Self Tests"); system-probe has no
    // `status` (SOURCES.md §4.1), so it is read where a security-agent runs: its own self-test, or a configured system-probe beside it.
    // One exec is enough where the version makes the verdict final (src/core/selftest/version.ts): an error,
    // or an OK from a module-era agent. The job payload carries the image (AgentRef schema), the target may add the version.
    if (
      readStatus &&
      statusNeeded(version, verdict) &&
      (used === 'security-agent' || (binary && agent.containers?.includes(names.securityAgent) !== false && target.kind !== 'host'))
    ) {
      let status: SelftestStatus | undefined;
      if (chained && used === 'security-agent') {
        // Read in the same session; absent when it did not finish in time (the verdict stands without it).
        status = chained.status ? parseSelftestStatus(chained.status.stdout) : undefined;
      } else {
        const left = Math.max(1000, timeoutMs - (Date.now() - started));
        status = await target
          .exec(agent, STATUS_ARGV, { timeoutMs: left, container: 'securityAgent' })
          .then((s) => parseSelftestStatus(s.stdout))
          .catch(() => undefined);
      }
      verdict = combineWithStatus(verdict, status);
    }
    return { ...base, ...verdict, durationMs: Date.now() - started, command: selftestCommand(used) };
  } catch (err) {
    const durationMs = Date.now() - started;
    const command = selftestCommand(used);
    if (err instanceof ExecTimeoutError)
      return { ...base, status: 'timeout', failedTests: [], message: `timed out after ${formatSeconds(err.timeoutMs)}`, durationMs, command };
    if (err instanceof TargetError && err.transient && rethrowTransient) throw err;
    if (err instanceof TargetError)
      return { ...base, status: 'error', failedTests: [], message: err.hint ? `${err.message}. ${err.hint}` : err.message, durationMs, command };
    throw err;
  }
}
