/**
 * One interface for every place an agent runs. Drivers: docker.ts, host.ts (kubernetes.ts next).
 * argv only, never a shell string.
 */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface ExecOptions {
  timeoutMs: number;
  /** Which container of the agent (Kubernetes); ignored where there is only one. */
  container?: 'securityAgent' | 'systemProbe';
}

export interface AgentRef {
  /** Node (Kubernetes), engine host (Docker) or machine (host). */
  node: string;
  /** Pod name, container name, or `host`. */
  pod: string;
  /** When set, the agent cannot be exec'd and this says why (not running, not ready, missing). */
  unavailable?: string;
}

export interface AgentTarget {
  readonly kind: 'kubernetes' | 'docker' | 'host';
  /** Where the agents are, for messages ("Docker engine at unix:///…"). */
  readonly description: string;
  listAgents(filter?: { node?: string }): Promise<AgentRef[]>;
  exec(agent: AgentRef, argv: string[], opts: ExecOptions): Promise<ExecResult>;
  /** Restart the agent on a node (Kubernetes: delete the pod). Absent where the bot cannot do it. */
  restartAgent?(node: string): Promise<{ deleted: string | null }>;
  close?(): Promise<void>;
}
