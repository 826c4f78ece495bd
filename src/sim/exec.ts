/**
 * The agent commands the simulator answers over exec, driven by the fleet spec:
 *   security-agent runtime self-test   (container security-agent; the node's `selftest`, or, when the
 *                                       container does not share system-probe's socket dir, the
 *                                       client's Unavailable error: SOURCES.md §4)
 *   system-probe runtime self-test     (container system-probe; the node's `selftest`)
 *   security-agent status              (container security-agent)
 *   security-agent flare               (container security-agent; flare.ts)
 *   agent flare | status | version     (container agent: the core agent; flare.ts, FLARE-SOURCES.md §8)
 *   cat, rm, ls, sha256sum             (containers security-agent and agent, over the container's files;
 *                                       coreutils.ts, flare-tools.ts)
 *   sh -c SCRIPT                       (agent, security-agent and system-probe: the image's dash, shell.ts;
 *                                       absent where the fleet says `agent.shell: false`)
 *   cat, tc, nsenter                   (agent, security-agent and system-probe: the image's Ubuntu tools;
 *                                       what they show depends on the container's mounts, capabilities
 *                                       and network namespace — container-files.ts, net-tools.ts)
 * Each binary is registered only in its own container, so running one in the wrong container
 * fails as a missing binary would (real agent images carry both binaries in every container;
 * the stricter simulator catches a worker that picks the wrong one). Other subcommands of
 * these binaries answer as the agent's cobra CLI does: "Error: unknown command …", exit 255.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { agentVersionOf, renderAgentStatus, renderCoreAgentStatus } from './agent-status-text.ts';
import { SYSPROBE_SOCKET_VOLUME } from './build-cluster.ts';
import { containerOf, envOf } from './container-files.ts';
import { runCat, runLs, runRm } from './coreutils.ts';
import type { ExecContext, ExecRegistry } from './exec-registry.ts';
import type { Fleet } from './fleet.ts';
import type { Pod } from './k8s-types.ts';
import { registerFlareCommand } from './flare.ts';
import { runNsenter, runTc } from './net-tools.ts';
import { runShell } from './shell.ts';

const BIN_DIR = '/opt/datadog-agent/embedded/bin';
/** Containers running the agent image, whose OS tools (cat, tc, nsenter) are the same in each. */
const AGENT_IMAGE_CONTAINERS = ['agent', 'security-agent', 'system-probe'];
/** Where the runtime security client dials when `runtime_security_config.socket` is not set (pkg/config/setup). */
export const DEFAULT_RUNTIME_SOCKET = '/opt/datadog-agent/run/runtime-security.sock';
const EXIT_CLI_ERROR = 255; // the agents' main does os.Exit(-1) on a command error

/** Resolves after `ms`, or rejects with an AbortError when the session ends first (no timer left behind). */
export async function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal });
  else signal.throwIfAborted();
}

/** Never resolves; rejects when the session ends. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export async function runSelftest(ctx: ExecContext): Promise<number> {
  const b = ctx.state.selftestFor(ctx.node);
  if (b.hang) await untilAborted(ctx.signal);
  await delay(b.latencyMs, ctx.signal);
  ctx.state.recordSelftestRun(ctx.node);
  if (b.stdout) ctx.stdout.write(b.stdout);
  if (b.stderr) ctx.stderr.write(b.stderr);
  return b.exitCode;
}

function mountsSocketDir(pod: ExecContext['pod'], container: string): boolean {
  const mounts = containerOf(pod, container)?.volumeMounts;
  return Array.isArray(mounts) && mounts.some((m) => (m as { name?: unknown }).name === SYSPROBE_SOCKET_VOLUME);
}

/**
 * Whether `container` reaches the runtime security module: the module runs in system-probe and
 * listens on runtime-security.sock in the socket dir both charts share; a container reaches it when
 * the pod has system-probe and both mount that dir (the Operator gives security-agent no mount in
 * direct-send mode; a patch that removes the mount has the same effect).
 */
export function reachesRuntimeModule(pod: ExecContext['pod'], container: string): boolean {
  return containerOf(pod, 'system-probe') !== undefined && mountsSocketDir(pod, 'system-probe') && mountsSocketDir(pod, container);
}

/** The client's error when nothing listens where it dials (grpc-go's text; SOURCES.md §1.3). */
export function unreachableModuleError(socket: string): string {
  return `Error: unable to get a process self test: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix ${socket}: connect: no such file or directory"\n`;
}

/** `security-agent runtime self-test`: the node's self-test when system-probe's socket is there, else the client's dial error. */
export async function runSecurityAgentSelftest(ctx: ExecContext): Promise<number> {
  if (reachesRuntimeModule(ctx.pod, ctx.container)) return runSelftest(ctx);
  ctx.signal.throwIfAborted();
  ctx.stderr.write(unreachableModuleError(envOf(ctx.pod, ctx.container).DD_RUNTIME_SECURITY_CONFIG_SOCKET || DEFAULT_RUNTIME_SOCKET));
  return EXIT_CLI_ERROR;
}

/** What `security-agent status` prints in this pod at `now`. */
export function agentStatusText(ctx: ExecContext, now: Date): string {
  const b = ctx.state.selftestFor(ctx.node);
  const startedAt = ctx.pod.status.startTime ? new Date(ctx.pod.status.startTime) : now;
  const image = ctx.pod.spec.containers.find((c) => c.name === ctx.container)?.image ?? ctx.state.fleet.agent.image;
  return renderAgentStatus({
    agentVersion: agentVersionOf(image),
    now,
    startedAt,
    lastSelftest: ctx.state.lastSelftestRun(ctx.node) ?? startedAt,
    failedTests: b.failedTests,
    eventsReceived: Math.max(0, Math.floor((now.getTime() - startedAt.getTime()) / 1000)),
    runtimeSecurity: reachesRuntimeModule(ctx.pod, ctx.container),
  });
}

/** What the core agent's `agent status` prints in this pod at `now`. */
export function coreAgentStatusText(ctx: ExecContext, now: Date): string {
  const startedAt = ctx.pod.status.startTime ? new Date(ctx.pod.status.startTime) : now;
  const image = containerOf(ctx.pod, ctx.container)?.image ?? ctx.state.fleet.agent.image;
  const sp = ctx.pod.status.containerStatuses?.find((c) => c.name === 'system-probe');
  const spStarted = (sp?.state as { running?: { startedAt?: string } } | undefined)?.running?.startedAt;
  return renderCoreAgentStatus({
    agentVersion: agentVersionOf(image),
    hostname: ctx.node,
    now,
    startedAt,
    systemProbe: reachesRuntimeModule(ctx.pod, ctx.container) ? { startedAt: spStarted ? new Date(spStarted) : startedAt } : undefined,
  });
}

/**
 * `agent version` (cmd/agent/subcommands/version): "Agent <version> - Commit: … - Serialization
 * version: … - Go version: …" (no Meta part for a release). The commit, serialization and Go
 * versions are illustrative.
 */
export function runCoreVersion(ctx: ExecContext): number {
  const image = containerOf(ctx.pod, ctx.container)?.image ?? ctx.state.fleet.agent.image;
  ctx.stdout.write(`Agent ${agentVersionOf(image)} - Commit: 5f3a1c2 - Serialization version: v5.0.90 - Go version: go1.22.8\n`);
  return 0;
}

export function runStatus(ctx: ExecContext): number {
  ctx.stdout.write(agentStatusText(ctx, new Date()));
  return 0;
}

/** What cobra says for a subcommand the binary does not have. */
function unknownCommand(binary: string, known: Record<string, string[]>) {
  return (ctx: ExecContext): number => {
    const args = ctx.argv.slice(1);
    if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
      ctx.stdout.write(
        `Usage:\n  ${binary} [command]\n\nAvailable Commands:\n${Object.keys(known)
          .map((c) => `  ${c}`)
          .join('\n')}\n`,
      );
      return 0;
    }
    const group = args[0]!;
    const subs = known[group];
    if (subs && subs.length > 0 && args[1] !== undefined && !args[1].startsWith('-')) {
      ctx.stderr.write(`Error: unknown command "${args[1]}" for "${binary} ${group}"\n`);
    } else if (subs && subs.length > 0) {
      ctx.stdout.write(`Usage:\n  ${binary} ${group} [command]\n\nAvailable Commands:\n${subs.map((c) => `  ${c}`).join('\n')}\n`);
      return 0;
    } else {
      ctx.stderr.write(`Error: unknown command "${group}" for "${binary}"\n`);
    }
    return EXIT_CLI_ERROR;
  };
}

export function registerAgentCommands(registry: ExecRegistry, agent: Pick<Fleet['agent'], 'image' | 'shell'>): void {
  const securityAgent = { containers: ['security-agent'], paths: [`${BIN_DIR}/security-agent`] };
  const systemProbe = { containers: ['system-probe'], paths: [`${BIN_DIR}/system-probe`] };
  // The image's /opt/datadog-agent/bin/agent/agent, on $PATH as `agent`.
  const coreAgent = { containers: ['agent'], paths: ['/opt/datadog-agent/bin/agent/agent'] };
  const flareFiles = ['security-agent', 'agent'];

  registry.register({
    ...securityAgent,
    argv: ['security-agent'],
    handler: unknownCommand('security-agent', { flare: [], runtime: ['self-test'], status: [] }),
  });
  registry.register({ ...securityAgent, argv: ['security-agent', 'runtime', 'self-test'], handler: runSecurityAgentSelftest });
  registry.register({ ...securityAgent, argv: ['security-agent', 'status'], handler: runStatus });
  registerFlareCommand(registry, securityAgent, { statusText: agentStatusText, delay, untilAborted });
  registry.register({ ...coreAgent, argv: ['agent'], handler: unknownCommand('agent', { flare: [], status: [], version: [] }) });
  registry.register({ ...coreAgent, argv: ['agent', 'status'], handler: (ctx) => (ctx.stdout.write(coreAgentStatusText(ctx, new Date())), 0) });
  registry.register({ ...coreAgent, argv: ['agent', 'version'], handler: runCoreVersion });
  registerFlareCommand(registry, coreAgent, { statusText: coreAgentStatusText, delay, untilAborted }, 'agent');
  // The fleet's `agent.shell: false` models a custom image without one (distroless): only its own image lacks it.
  const shellIn = (pod: Pod, container: string) => agent.shell || containerOf(pod, container)?.image !== agent.image;
  registry.register({ containers: AGENT_IMAGE_CONTAINERS, paths: ['/bin/sh', '/usr/bin/sh', '/bin/dash'], argv: ['sh'], present: shellIn, handler: runShell });
  registry.register({ containers: AGENT_IMAGE_CONTAINERS, paths: ['/bin/cat', '/usr/bin/cat'], argv: ['cat'], handler: runCat });
  registry.register({ containers: AGENT_IMAGE_CONTAINERS, paths: ['/sbin/tc', '/usr/sbin/tc'], argv: ['tc'], handler: runTc });
  registry.register({ containers: AGENT_IMAGE_CONTAINERS, paths: ['/usr/bin/nsenter', '/bin/nsenter'], argv: ['nsenter'], handler: runNsenter });
  registry.register({ containers: flareFiles, paths: ['/bin/rm', '/usr/bin/rm'], argv: ['rm'], handler: runRm });
  registry.register({ containers: flareFiles, paths: ['/bin/ls', '/usr/bin/ls'], argv: ['ls'], handler: runLs });

  registry.register({ ...systemProbe, argv: ['system-probe'], handler: unknownCommand('system-probe', { runtime: ['self-test'] }) });
  registry.register({ ...systemProbe, argv: ['system-probe', 'runtime', 'self-test'], handler: runSelftest });
}
