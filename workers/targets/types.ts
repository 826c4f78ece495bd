import type { AgentVersion } from '../../src/core/selftest/version.ts';
import type { ExecTimeoutError } from './errors.ts';
import type { ClusterInspector, DaemonSetPatcher } from './kubernetes-inspect.ts';

/**
 * One interface for every place an agent runs. Drivers: kubernetes.ts, docker.ts, host.ts.
 * argv only, never a shell string. Capabilities only some drivers have are optional members.
 */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** stdout as bytes, when asked for with `binary` (e.g. `cat` of an archive). */
  stdoutBytes?: Buffer;
}

export interface ChainResult {
  results: ExecResult[];
  timedOut?: ExecTimeoutError;
}

/** The agent pod's containers by role: `agent` is the core agent (its `agent flare`). */
export type AgentContainer = 'securityAgent' | 'systemProbe' | 'agent';

export interface ExecOptions {
  timeoutMs: number;
  /** Which container of the agent (Kubernetes); ignored where there is only one. */
  container?: AgentContainer;
  /** Keep stdout as bytes (binary-safe), up to `maxBytes` (default 1 MiB). */
  binary?: boolean;
  maxBytes?: number;
}

/** A running command with stdin open: for programs that prompt (the flare's confirmation). */
export interface ExecSession {
  /** Resolves with the first match of `re` in stdout+stderr, or null if the command ended first. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpExecArray | null>;
  output(): { stdout: string; stderr: string };
  write(text: string): void;
  /** Closes stdin: a prompt reading a line sees EOF. */
  endStdin(): void;
  /** Resolves when the command ends; ExecTimeoutError (and the session closed) after `timeoutMs`. */
  result(timeoutMs: number): Promise<ExecResult>;
  /** Ends the session; the command sees EOF on stdin and its output is no longer read. */
  close(): void;
}

export interface AgentRef {
  /** Node (Kubernetes), engine host (Docker) or machine (host). */
  node: string;
  /** Pod name, container name, or `host`. */
  pod: string;
  /** When set, the agent cannot be exec'd and this says why (not running, not ready, missing). */
  unavailable?: string;
  /** Kubernetes pod phase (Running, Pending…) and readiness of the security-agent container. */
  phase?: string;
  ready?: boolean;
  /** The agent image (e.g. gcr.io/datadoghq/agent:7.50.3). */
  image?: string;
  /** The agent version its image tag names (Kubernetes; src/core/selftest/version.ts), absent when the tag does not say. */
  version?: AgentVersion;
  /** The pod's container names (Kubernetes), from the listing: which commands the layout allows. */
  containers?: string[];
}

export interface AgentTarget {
  readonly kind: 'kubernetes' | 'docker' | 'host';
  /** Where the agents are, for messages ("Docker engine at unix:///…"). */
  readonly description: string;
  listAgents(filter?: { node?: string }): Promise<AgentRef[]>;
  exec(agent: AgentRef, argv: string[], opts: ExecOptions): Promise<ExecResult>;
  /**
   * Runs `commands` one after another in one session, each only after the previous one exited 0
   * (chain.ts: the container's /bin/sh with a fixed script). Resolves with the results of the commands
   * that finished; on a timeout, those and `timedOut`. Undefined when the container has no shell: run
   * them one by one.
   */
  execChain?(agent: AgentRef, commands: string[][], opts: ExecOptions): Promise<ChainResult | undefined>;
  /** Starts a command with stdin open (flare). */
  openSession?(agent: AgentRef, argv: string[], opts: { container?: AgentContainer }): Promise<ExecSession>;
  /** Restart the agent on a node (Kubernetes: delete the pod). Absent where the bot cannot do it. */
  restartAgent?(node: string): Promise<{ deleted: string | null }>;
  /** The agent pod's container names (Kubernetes, as configured): to read an AgentRef's `containers`. */
  readonly containerNames?: { securityAgent: string; systemProbe: string };
  /** Reads the cluster's API objects for the netcheck (Kubernetes). */
  readonly inspector?: ClusterInspector;
  /** Patches the agent DaemonSet for remediations (Kubernetes). */
  readonly patcher?: DaemonSetPatcher;
  close?(): Promise<void>;
}
