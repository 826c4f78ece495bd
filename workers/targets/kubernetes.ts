import { CoreV1Api, KubeConfig, type V1Pod, type V1Status } from '@kubernetes/client-node';
import type WebSocket from 'ws';
import type { KubernetesClusterConfig } from '../../src/config/clusters.ts';
import { agentVersionFromImage } from '../../src/core/selftest/version.ts';
import { AgentNotFoundError, AgentUnreachableError, ExecFailedError, ExecTimeoutError } from './errors.ts';
import { CHAIN_START, chainScript, splitChainOutput } from './chain.ts';
import { CappedSink } from './output.ts';
import { DaemonSetPatcher, KubernetesInspector } from './kubernetes-inspect.ts';
import { endStdin, KubeExecClient, stdinFrame } from './kubernetes-exec.ts';
import { SessionCore } from './session.ts';
import type { AgentContainer, AgentRef, AgentTarget, ChainResult, ExecOptions, ExecResult, ExecSession } from './types.ts';

/** The core agent's container in the agent pod (Datadog Operator and Helm chart): where `agent flare` runs. */
export const CORE_AGENT_CONTAINER = 'agent';

const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** kubeconfig context (or in-cluster config when no context and no kubeconfig is given). */
export function loadKubeConfig(cfg: Pick<KubernetesClusterConfig, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
  else kc.loadFromDefault();
  if (cfg.context) {
    if (!kc.getContextObject(cfg.context))
      throw new AgentNotFoundError(`kubeconfig has no context "${cfg.context}"`, "Check the cluster's `context` setting and KUBECONFIG.");
    kc.setCurrentContext(cfg.context);
  }
  return kc;
}

/** Exit code from the exec status channel (`v4`/`v5.channel.k8s.io`, channel 3). */
export function exitCodeFromStatus(status: V1Status): { exitCode: number } | { error: string } {
  if (status.status === 'Success') return { exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return { exitCode: code };
  }
  return { error: status.message ?? status.reason ?? 'exec failed' };
}

/**
 * The agent DaemonSet's pods, reached through the API server: list with the label selector,
 * exec over WebSocket in the `security-agent` (or `system-probe`) container.
 */
export class KubernetesTarget implements AgentTarget {
  readonly kind = 'kubernetes' as const;
  readonly description: string;
  private readonly core: CoreV1Api;
  private readonly execClient: KubeExecClient;
  /** Read access to the agent DaemonSet, kube-system DaemonSets and ConfigMaps (netcheck). */
  readonly inspector: KubernetesInspector;
  readonly patcher: DaemonSetPatcher;
  readonly containerNames: { securityAgent: string; systemProbe: string };

  constructor(
    private readonly cfg: KubernetesClusterConfig,
    kc: KubeConfig = loadKubeConfig(cfg),
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.containerNames = { securityAgent: cfg.containers.securityAgent, systemProbe: cfg.containers.systemProbe };
    this.inspector = new KubernetesInspector(cfg, kc);
    this.patcher = new DaemonSetPatcher(cfg, kc);
    this.execClient = new KubeExecClient(kc);
    this.description = `Kubernetes API at ${kc.getCurrentCluster()?.server ?? 'in-cluster'} (namespace ${cfg.namespace})`;
  }

  /** Turns client errors into named errors: API unreachable is transient, the rest says what to fix. */
  private apiError(err: unknown, what: string): Error {
    const e = err as { code?: number | string; body?: unknown; message?: string; cause?: { code?: string } };
    const netCode = typeof e.code === 'string' ? e.code : e.cause?.code;
    if (netCode && TRANSIENT_NET.has(netCode))
      return new AgentUnreachableError(
        `${this.description} is unreachable (${netCode}) while ${what}`,
        "Check the API server address and the worker's network.",
      );
    const status = typeof e.code === 'number' ? e.code : undefined;
    if (status === 429 || (status !== undefined && status >= 500))
      return new AgentUnreachableError(`the API server answered ${status} while ${what}`, 'The worker retries; if it persists, check the API server.');
    if (status === 401 || status === 403)
      return new ExecFailedError(
        `the API server refused ${what} (${status})`,
        `Grant the worker's ServiceAccount list on pods and get+create on pods/exec in namespace ${this.cfg.namespace}.`,
      );
    if (status === 404) return new AgentNotFoundError(`not found while ${what}`);
    return new ExecFailedError(`${what} failed: ${e.message ?? String(err)}`);
  }

  async listAgents(filter?: { node?: string }): Promise<AgentRef[]> {
    const pods: V1Pod[] = [];
    let cont: string | undefined;
    do {
      let page;
      try {
        page = await this.core.listNamespacedPod({
          namespace: this.cfg.namespace,
          labelSelector: this.cfg.selector,
          ...(filter?.node ? { fieldSelector: `spec.nodeName=${filter.node}` } : {}),
          limit: 500,
          ...(cont ? { _continue: cont } : {}),
        });
      } catch (err) {
        throw this.apiError(err, `listing agent pods (${this.cfg.selector}) in ${this.cfg.namespace}`);
      }
      pods.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return pods.map((p) => this.toAgent(p));
  }

  private toAgent(pod: V1Pod): AgentRef {
    const name = pod.metadata?.name ?? '?';
    const containers = (pod.spec?.containers ?? []).map((c) => c.name);
    // The pod's layout decides where the self-test runs: security-agent where the pod has it, else
    // system-probe (the newer layouts without a security-agent container, test/fixtures/selftest/SOURCES.md §4).
    const container =
      !containers.includes(this.cfg.containers.securityAgent) && containers.includes(this.cfg.containers.systemProbe)
        ? this.cfg.containers.systemProbe
        : this.cfg.containers.securityAgent;
    const phase = pod.status?.phase ?? 'Unknown';
    const spec = pod.spec?.containers.find((c) => c.name === container);
    const status = pod.status?.containerStatuses?.find((c) => c.name === container);
    const ref: AgentRef = {
      node: pod.spec?.nodeName ?? '(unscheduled)',
      pod: name,
      phase,
      ready: status?.ready ?? false,
      ...(spec?.image ? { image: spec.image } : {}),
      containers,
    };
    const version = agentVersionFromImage(spec?.image);
    if (version) ref.version = version;
    if (pod.metadata?.deletionTimestamp) ref.unavailable = `pod ${name} is terminating`;
    else if (!spec) ref.unavailable = `container ${container} not found in pod ${name}`;
    else if (phase !== 'Running') ref.unavailable = `pod ${name} is ${phase}, not running`;
    else {
      const cs = status;
      if (cs && !cs.ready) {
        const why = cs.state?.waiting?.reason ?? (cs.state?.terminated ? `terminated: ${cs.state.terminated.reason ?? 'exited'}` : 'not ready');
        ref.unavailable = `container ${container} in pod ${name} is not ready (${why})`;
      }
    }
    return ref;
  }

  /** The container name of a role: the configured ones, and the core agent's `agent` (both charts name it so). */
  private containerName(role: AgentContainer | undefined): string {
    if (role === 'systemProbe') return this.cfg.containers.systemProbe;
    if (role === 'agent') return CORE_AGENT_CONTAINER;
    return this.cfg.containers.securityAgent;
  }

  /** `onStdout` sees each stdout chunk as it comes (execChain's start line). */
  async exec(agent: AgentRef, argv: string[], opts: ExecOptions, onStdout?: (chunk: Buffer) => void): Promise<ExecResult> {
    const container = this.containerName(opts.container);
    const out = new CappedSink(opts.maxBytes);
    const err = new CappedSink();
    let status: V1Status | undefined;
    let timer: NodeJS.Timeout | undefined;
    let socket: WebSocket | undefined;
    const where = `pod ${agent.pod} on ${agent.node}`;
    // The deadline also gives up a session still waiting for its turn to open (kubernetes-exec.ts).
    const deadline = new AbortController();
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        timer = setTimeout(() => {
          const e = new ExecTimeoutError(opts.timeoutMs, where, { stdout: out.text(), stderr: err.text() });
          deadline.abort(e);
          socket?.terminate();
          reject(e);
        }, opts.timeoutMs);
        this.execClient
          .open(
            this.cfg.namespace,
            agent.pod,
            container,
            argv,
            false,
            {
              stdout: onStdout
                ? (c) => {
                    out.write(c);
                    onStdout(c);
                  }
                : (c) => void out.write(c),
              stderr: (c) => void err.write(c),
              status: (s) => (status = s),
            },
            deadline.signal,
          )
          .then((ws) => {
            socket = ws;
            ws.on('close', () => {
              if (!status) return reject(new ExecFailedError(`exec session into ${where} closed without an exit status`));
              const r = exitCodeFromStatus(status);
              if ('error' in r) return reject(new ExecFailedError(`exec in ${container} of ${where} failed: ${r.error}`));
              resolve({ stdout: out.text(), stderr: err.text(), exitCode: r.exitCode, ...(opts.binary ? { stdoutBytes: out.bytes() } : {}) });
            });
          })
          .catch((e: Error & { code?: string }) => reject(this.execError(e, container, agent)));
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Per image: whether it has a `/bin/sh` (false: a custom image without one, whose chains run command by
   * command), or the first chain into it, still finding out. Only that one session probes: a fan-out's
   * other agents of the image wait until its shell starts or fails to (a few milliseconds), instead of
   * each opening a session that fails; for 2 s at most (`PROBE_WAIT_MS`), then they try for themselves.
   */
  private readonly shellOf = new Map<string, boolean | Promise<void>>();

  async execChain(agent: AgentRef, commands: string[][], opts: ExecOptions): Promise<ChainResult | undefined> {
    const image = agent.image ?? '';
    for (let known = this.shellOf.get(image); known !== undefined && known !== true; known = this.shellOf.get(image)) {
      if (known === false) return undefined;
      // A probe whose session is slow to open (its node's kubelet unreachable) holds nobody up for long.
      if (!(await settlesWithin(known, PROBE_WAIT_MS))) break;
    }
    let learnt: (has: boolean | undefined) => void = () => {};
    if (!this.shellOf.has(image)) {
      let settled = false;
      const probe = new Promise<void>((resolve) => {
        learnt = (has) => {
          if (settled) return;
          settled = true;
          // Not learnt (the session failed otherwise): the next chain into the image probes again.
          if (has === undefined) this.shellOf.delete(image);
          else this.shellOf.set(image, has);
          resolve();
        };
      });
      this.shellOf.set(image, probe);
    }
    let head = '';
    const onStdout = (chunk: Buffer) => {
      if (head.length > CHAIN_START.length) return;
      head += chunk.toString('latin1');
      if (head.startsWith(`${CHAIN_START}\n`)) learnt(true);
    };
    let r: ExecResult;
    try {
      r = await this.exec(agent, ['/bin/sh', '-c', chainScript(commands)], opts, onStdout);
    } catch (e) {
      // The runtime's start error for a missing binary (exec-status: "executable file not found"): no shell in this image.
      if (e instanceof ExecFailedError && /executable file not found|no such file or directory/i.test(e.message) && /\/bin\/sh/.test(e.message)) {
        learnt(false);
        return undefined;
      }
      learnt(undefined);
      if (e instanceof ExecTimeoutError) return { results: splitChainOutput(e.partial ?? { stdout: '', stderr: '' }, commands.length).results, timedOut: e };
      throw e;
    }
    const split = splitChainOutput(r, commands.length);
    // cri-dockerd prints the runtime's start error and exits 126 instead (exec-status.ts startFailure).
    if (split.results.length === 0 && r.exitCode === 126 && /OCI runtime exec failed.*\/bin\/sh/.test(r.stdout)) {
      learnt(false);
      return undefined;
    }
    learnt(r.stdout.startsWith(`${CHAIN_START}\n`) ? true : undefined);
    return { results: split.results };
  }

  private execError(e: Error & { code?: string }, container: string, agent: AgentRef): Error {
    const m = /Unexpected server response: (\d+)/.exec(e.message ?? '');
    const status = m ? Number(m[1]) : undefined;
    const where = `pod ${agent.pod} on ${agent.node}`;
    if (status === 404)
      return new AgentNotFoundError(`pod ${agent.pod} no longer exists (node ${agent.node})`, 'The DaemonSet may have replaced it; re-run the self-test.');
    if (status === 400) return new AgentNotFoundError(`cannot exec into container ${container} of ${where} (400: container missing or not running)`);
    if (status === 401 || status === 403)
      return new ExecFailedError(`exec into ${where} refused (${status})`, `Grant the worker get and create on pods/exec in namespace ${this.cfg.namespace}.`);
    if (status !== undefined && (status === 429 || status >= 500)) return new AgentUnreachableError(`the API server answered ${status} to exec into ${where}`);
    if (e.code && TRANSIENT_NET.has(e.code)) return new AgentUnreachableError(`${this.description} is unreachable (${e.code})`);
    return new ExecFailedError(`exec into ${where} failed: ${e.message}`);
  }

  async openSession(agent: AgentRef, argv: string[], opts: { container?: AgentContainer } = {}): Promise<ExecSession> {
    const container = this.containerName(opts.container);
    let socket: WebSocket | undefined;
    const session = new SessionCore(
      {
        write: (t) => socket?.send(stdinFrame(t)),
        // v5: the close signal for channel 0; v4 has none, so the session ends (as client-node does).
        endStdin: () => socket && endStdin(socket),
        close: () => socket?.close(),
      },
      `pod ${agent.pod} on ${agent.node}`,
    );
    let status: V1Status | undefined;
    try {
      socket = await this.execClient.open(this.cfg.namespace, agent.pod, container, argv, true, {
        stdout: (c) => session.pushStdout(c),
        stderr: (c) => session.pushStderr(c),
        status: (s) => (status = s),
      });
    } catch (e) {
      throw this.execError(e as Error & { code?: string }, container, agent);
    }
    socket.on('close', () => {
      if (!status) return session.fail(new ExecFailedError(`exec session into pod ${agent.pod} closed without an exit status`));
      const r = exitCodeFromStatus(status);
      if ('error' in r) session.fail(new ExecFailedError(`exec in ${container} of pod ${agent.pod} failed: ${r.error}`));
      else session.finish(r.exitCode);
    });
    return session;
  }

  /** Deletes the agent pod on `node`; the DaemonSet controller starts a new one there. */
  async restartAgent(node: string): Promise<{ deleted: string | null }> {
    const agents = await this.listAgents({ node });
    const pod = agents[0]?.pod;
    if (!pod) return { deleted: null };
    try {
      await this.core.deleteNamespacedPod({ name: pod, namespace: this.cfg.namespace });
    } catch (err) {
      throw this.apiError(err, `deleting pod ${pod}`);
    }
    return { deleted: pod };
  }
}

/** How long a chain waits for another agent's session to tell whether the image has a shell. */
const PROBE_WAIT_MS = 2000;

/** Whether `p` settles within `ms` (the timer is cleared either way). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
