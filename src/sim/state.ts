/**
 * The simulated cluster in memory: what the API serves, the controllers' reactions to writes,
 * and the per-node behaviour the exec commands read.
 *
 * Controllers act synchronously, inside the write: when `deletePod` returns, the DaemonSet
 * already has its replacement pod (new name, same node); when `patchDaemonSet` returns with a
 * new template, every pod has been recreated from it (all at once, not in maxUnavailable
 * steps) unless the update strategy is OnDelete. So a client never waits for them.
 *
 * Getters return copies: mutate through the methods, not through returned objects.
 */
import {
  buildAgentDaemonSet,
  buildCniDaemonSet,
  buildNamespaces,
  buildNode,
  buildSystemProbeConfigMap,
  type ContainerRuntime,
  isNodeReady,
  nodePodSpec,
  setNodeReadiness,
} from './build-cluster.ts';
import { buildPod, daemonSetStatus, ownedBy, setPodNodeReadiness } from './daemonset-controller.ts';
import { prepareDaemonSetUpdate } from './daemonset-update.ts';
import { badRequest, invalid, notFound } from './errors.ts';
import { ExecRegistry } from './exec-registry.ts';
import { type FieldSelector, matchesFields } from './field-selector.ts';
import { type FlareBehaviour, type Fleet, mergeDefined, type NodeSpec, nodeSpec, type SelftestBehaviour } from './fleet.ts';
import type { ConfigMap, DaemonSet, KObject, Namespace, Node, Pod } from './k8s-types.ts';
import { containerOf, envOf, systemProbeYamlOf } from './container-files.ts';
import { hostInterfaces } from './host-net.ts';
import { type CliAnswer, type RuntimeModuleState, runtimeModuleState, runtimeSelftestAnswer } from './selftest-config.ts';
import { type LabelSelector, matchesLabels, parseLabelSelector } from './label-selector.ts';
import { type Mint, systemMint, timestamp } from './meta.ts';
import { applyPatch, PatchDecodeError, type PatchContentType, PatchError } from './patch.ts';
import { type PodFilesystem, PodFilesystems } from './pod-fs.ts';
import { metaFields, nodeFields, podFields } from './resource-fields.ts';
import { deepEqual } from './strategic-merge.ts';

export interface ClusterStateOptions {
  /** Decides node info and exec start-failure wording; default containerd. */
  runtime?: ContainerRuntime;
  mint?: Mint;
}

type Selector = string | LabelSelector | undefined;

/** One `security-agent flare` upload attempt, as the simulated Datadog intake saw it. */
export interface FlareUpload {
  node: string;
  pod: string;
  /** The archive's path in the container. */
  path: string;
  caseId: string;
  email: string;
  outcome: 'ok' | 'forbidden' | 'error';
  /** The case id the intake answered with (outcome ok). */
  responseCaseId?: number;
  /** The bytes sent: the file at `path` when the upload read it. */
  archive: Uint8Array;
  sha256: string;
  at: Date;
}

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

export class ClusterState {
  readonly fleet: Fleet;
  readonly runtime: ContainerRuntime;
  /** Commands exec can run; agent commands are registered by `registerAgentCommands`. */
  readonly exec = new ExecRegistry();
  private readonly mint: Mint;
  private rv = 1000;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly nodes = new Map<string, Node>();
  private readonly pods = new Map<string, Pod>();
  private readonly daemonSets = new Map<string, DaemonSet>();
  private readonly configMaps = new Map<string, ConfigMap>();
  private readonly selftestOverrides = new Map<string, Partial<SelftestBehaviour>>();
  private readonly selftestRuns = new Map<string, Date>();
  /** Per node: the runtime module of its current agent pod (selftest-config.ts). */
  private readonly runtimeModules = new Map<string, { state: RuntimeModuleState; answer: CliAnswer | undefined }>();
  private readonly flareOverrides = new Map<string, Partial<FlareBehaviour>>();
  private readonly tcOverrides = new Map<string, Record<string, string>>();
  private agentClassifiers = false;
  private readonly uploads: FlareUpload[] = [];
  /** Each container's writable files (what exec'd commands leave, e.g. the flare archive in /tmp). */
  private readonly filesystems = new PodFilesystems();
  private readonly podIpSeq = new Map<string, number>();

  constructor(fleet: Fleet, opts: ClusterStateOptions = {}) {
    this.fleet = fleet;
    this.runtime = opts.runtime ?? 'containerd';
    this.mint = opts.mint ?? systemMint;
    for (const ns of buildNamespaces(fleet, this.mint)) this.store(this.namespaces, ns);
    // Every node starts Ready and gets its pods; then the `ready: false` ones lose their kubelet,
    // so their agent pods are the ones that were running there (Running, not ready), not Pending.
    fleet.nodes.names.forEach((name, i) => this.store(this.nodes, buildNode(name, i, true, this.runtime, this.mint)));
    const cm = buildSystemProbeConfigMap(fleet, this.mint);
    if (cm) this.store(this.configMaps, cm);
    const sets = [buildAgentDaemonSet(fleet, this.mint), ...(fleet.cni ? [buildCniDaemonSet(fleet.cni, this.mint)] : [])];
    for (const ds of sets) {
      this.store(this.daemonSets, ds);
      this.reconcile(ds);
    }
    for (const name of fleet.nodes.names) if (!nodeSpec(fleet, name).ready) this.setNodeReady(name, false);
  }

  /** The latest resourceVersion handed out (lists report it). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  // ── reads ────────────────────────────────────────────────────────────────────────────

  listNamespaces(selector?: Selector, fields?: FieldSelector): Namespace[] {
    return select([...this.namespaces.values()], undefined, selector, fields, (n) => ({ ...metaFields(n), 'status.phase': n.status.phase }));
  }
  getNamespace(name: string): Namespace | undefined {
    return copy(this.namespaces.get(key(undefined, name)));
  }
  listNodes(selector?: Selector, fields?: FieldSelector): Node[] {
    return select([...this.nodes.values()], undefined, selector, fields, nodeFields);
  }
  getNode(name: string): Node | undefined {
    return copy(this.nodes.get(key(undefined, name)));
  }
  /** Pods in `namespace` (all namespaces when undefined), by label and field selector. */
  listPods(namespace?: string, selector?: Selector, fields?: FieldSelector): Pod[] {
    return select([...this.pods.values()], namespace, selector, fields, podFields);
  }
  getPod(namespace: string, name: string): Pod | undefined {
    return copy(this.pods.get(key(namespace, name)));
  }
  /**
   * The stored pod and node themselves, not copies, for the exec path (every exec session reads
   * its pod and node; copying them was a third of the simulator's CPU in a 1000-agent fan-out).
   * Callers only read them, and read what they need as the session starts (the controller may
   * update a pod's status in place later).
   */
  peekPod(namespace: string, name: string): Readonly<Pod> | undefined {
    return this.pods.get(key(namespace, name));
  }
  peekNode(name: string): Readonly<Node> | undefined {
    return this.nodes.get(key(undefined, name));
  }
  listDaemonSets(namespace?: string, selector?: Selector, fields?: FieldSelector): DaemonSet[] {
    return select([...this.daemonSets.values()], namespace, selector, fields, metaFields);
  }
  getDaemonSet(namespace: string, name: string): DaemonSet | undefined {
    return copy(this.daemonSets.get(key(namespace, name)));
  }
  listConfigMaps(namespace?: string, selector?: Selector, fields?: FieldSelector): ConfigMap[] {
    return select([...this.configMaps.values()], namespace, selector, fields, metaFields);
  }
  getConfigMap(namespace: string, name: string): ConfigMap | undefined {
    return copy(this.configMaps.get(key(namespace, name)));
  }
  /** The agent DaemonSet's pod on `node`, if any. */
  agentPod(node: string): Pod | undefined {
    const ds = this.daemonSets.get(key(this.fleet.namespace, this.fleet.agent.daemonSet));
    return copy([...this.pods.values()].find((p) => p.spec.nodeName === node && ds !== undefined && ownedBy(p, ds)));
  }

  // ── writes ───────────────────────────────────────────────────────────────────────────

  /** Deletes a pod (immediately, as with a zero grace period); its DaemonSet replaces it at once. */
  deletePod(namespace: string, name: string): Pod {
    const pod = this.pods.get(key(namespace, name));
    if (!pod) throw notFound({ group: '', resource: 'pods' }, name);
    this.pods.delete(key(namespace, name));
    this.filesystems.drop(pod.metadata.uid);
    this.rv++;
    const deleted = structuredClone(pod);
    deleted.metadata.deletionTimestamp = timestamp(this.mint.now());
    deleted.metadata.resourceVersion = String(this.rv);
    const owner = [...this.daemonSets.values()].find((ds) => ownedBy(pod, ds));
    if (owner) this.reconcile(owner);
    return deleted;
  }

  /** PATCH of a DaemonSet in one of the three patch formats; ApiError on a bad or invalid patch. */
  patchDaemonSet(namespace: string, name: string, type: PatchContentType, body: string): DaemonSet {
    const old = this.daemonSets.get(key(namespace, name));
    if (!old) throw notFound({ group: 'apps', resource: 'daemonsets' }, name);
    let patched;
    try {
      patched = applyPatch(structuredClone(old) as never, type, body);
    } catch (err) {
      if (err instanceof PatchDecodeError) throw badRequest(err.message);
      if (err instanceof PatchError) throw invalid('DaemonSet', 'apps', name, [{ field: '<patch>', message: err.message }]);
      throw err;
    }
    const { next, templateChanged } = prepareDaemonSetUpdate(old, patched);
    if (deepEqual(next, old)) return structuredClone(old); // a no-op patch writes nothing (same resourceVersion)
    this.store(this.daemonSets, next);
    if (templateChanged && next.spec.updateStrategy?.type !== 'OnDelete') {
      for (const pod of this.podsOf(next)) {
        this.pods.delete(key(pod.metadata.namespace, pod.metadata.name));
        this.filesystems.drop(pod.metadata.uid);
      }
    }
    this.reconcile(next);
    return structuredClone(this.daemonSets.get(key(namespace, name))!);
  }

  /** Takes a node's kubelet away (false) or brings it back (true). */
  setNodeReady(node: string, ready: boolean): void {
    const n = this.nodes.get(key(undefined, node));
    if (!n) throw notFound({ group: '', resource: 'nodes' }, node);
    setNodeReadiness(n, ready, this.mint.now());
    this.store(this.nodes, n);
    for (const pod of this.pods.values()) {
      if (pod.spec.nodeName !== node) continue;
      if (ready && pod.status.phase === 'Pending') {
        this.pods.delete(key(pod.metadata.namespace, pod.metadata.name));
        this.filesystems.drop(pod.metadata.uid);
        continue;
      }
      setPodNodeReadiness(pod, ready, this.mint.now());
      this.store(this.pods, pod);
    }
    for (const ds of this.daemonSets.values()) this.reconcile(ds);
  }

  // ── behaviour ────────────────────────────────────────────────────────────────────────

  /** Changes a node's self-test behaviour from now on (fields given replace the current ones). */
  setSelftest(node: string, behaviour: Partial<SelftestBehaviour>): void {
    if (!this.nodes.has(key(undefined, node))) throw notFound({ group: '', resource: 'nodes' }, node);
    this.selftestOverrides.set(node, { ...this.selftestOverrides.get(node), ...behaviour });
  }

  /** Changes a node's flare behaviour from now on (fields given replace the current ones). */
  setFlare(node: string, behaviour: Partial<FlareBehaviour>): void {
    if (!this.nodes.has(key(undefined, node))) throw notFound({ group: '', resource: 'nodes' }, node);
    this.flareOverrides.set(node, { ...this.flareOverrides.get(node), ...behaviour });
  }

  /**
   * Replaces a node's pod-facing interfaces and what `tc filter show dev IFACE ingress` prints
   * on each, from now on (as the fleet spec's `tc` map; e.g. after a CNI upgrade).
   */
  setTc(node: string, tc: Record<string, string>): void {
    if (!this.nodes.has(key(undefined, node))) throw notFound({ group: '', resource: 'nodes' }, node);
    this.tcOverrides.set(node, { ...tc });
  }

  /**
   * Models the Datadog agent's own tc classifiers (off by default: `tc filter show` prints the
   * fleet spec's text and nothing else). On: each agent pod's system-probe adds its
   * `classifier_ingress_…`/`classifier_egress_…` filters on the node's pod-facing interfaces, at
   * the priority its env/system-probe.yaml resolve to (host-net.ts `agentNetworkConfig`), so an
   * env patch of DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY shows in the new pods.
   */
  setAgentClassifiers(enabled: boolean): void {
    this.agentClassifiers = enabled;
  }

  agentClassifiersModelled(): boolean {
    return this.agentClassifiers;
  }

  /** The node's host network namespace interfaces, as /proc/net/dev lists them (host-net.ts). */
  hostInterfaces(node: string): string[] {
    return hostInterfaces(this.fleet.cni, this.nodeSpec(node).tc);
  }

  /** A node's effective settings: the fleet spec, then any run-time changes. */
  nodeSpec(node: string): NodeSpec {
    const spec = nodeSpec(this.fleet, node);
    const n = this.nodes.get(key(undefined, node));
    return {
      ...spec,
      ready: n ? isNodeReady(n) : spec.ready,
      selftest: mergeDefined(spec.selftest, this.selftestOverrides.get(node)),
      tc: { ...(this.tcOverrides.get(node) ?? spec.tc) },
      flare: mergeDefined(spec.flare, this.flareOverrides.get(node)),
    };
  }

  flareFor(node: string): FlareBehaviour {
    return this.nodeSpec(node).flare;
  }

  /**
   * A container's writable files, by pod (namespace/name, or the pod's uid with `byUid`). Empty
   * for a new pod; gone with a deleted one (undefined: no such pod).
   *   state.podFiles('datadog', pod).list('/tmp')  →  ['/tmp/datadog-agent-…-info.zip']
   */
  podFiles(namespace: string, pod: string, container = 'security-agent'): PodFilesystem | undefined {
    const p = this.pods.get(key(namespace, pod));
    return p ? this.filesystems.of(p.metadata.uid, container) : undefined;
  }

  /** The filesystem of a pod by uid (exec handlers hold the pod object they started with). */
  podFilesByUid(uid: string, container: string): PodFilesystem {
    return this.filesystems.of(uid, container);
  }

  recordFlareUpload(upload: FlareUpload): void {
    this.uploads.push(upload);
  }

  /** Every flare upload attempt so far (on `node` only, when given), oldest first. */
  flareUploads(node?: string): FlareUpload[] {
    return this.uploads.filter((u) => node === undefined || u.node === node);
  }

  /** The simulator's clock (the Mint's). */
  now(): Date {
    return this.mint.now();
  }

  /**
   * What the node's `runtime self-test` does: the fleet spec's `selftest` (and `setSelftest`), unless
   * the agent pod's system-probe started without the runtime module or its self-tester
   * (selftest-config.ts): then the CLI's fixed answer, at once.
   */
  selftestFor(node: string): SelftestBehaviour {
    const spec = this.nodeSpec(node).selftest;
    const answer = this.runtimeModules.get(node)?.answer;
    return answer ? { ...spec, ...answer, latencyMs: 0, hang: false, failedTests: [] } : spec;
  }

  /** The runtime module of the node's agent pod, as its system-probe read its configuration at start. */
  runtimeModuleOf(node: string): RuntimeModuleState | undefined {
    return this.runtimeModules.get(node)?.state;
  }

  /** system-probe reads its env and system-probe.yaml when it starts: a pod's module is fixed for its life. */
  private startRuntimeModule(node: string, pod: Pod): void {
    if (!containerOf(pod, 'system-probe')) {
      this.runtimeModules.delete(node);
      return;
    }
    const env = envOf(pod, 'system-probe');
    const state = runtimeModuleState(env, systemProbeYamlOf(this, pod));
    this.runtimeModules.set(node, { state, answer: runtimeSelftestAnswer(state, env.DD_RUNTIME_SECURITY_CONFIG_SOCKET) });
  }

  recordSelftestRun(node: string, at: Date = this.mint.now()): void {
    this.selftestRuns.set(node, at);
  }

  /** When the self-tests last ran on `node` (agents run them at start, so at least the pod's start). */
  lastSelftestRun(node: string): Date | undefined {
    const run = this.selftestRuns.get(node);
    if (run) return run;
    const started = this.agentPod(node)?.status.startTime;
    return started ? new Date(started) : undefined;
  }

  // ── internals ────────────────────────────────────────────────────────────────────────

  private podsOf(ds: DaemonSet): Pod[] {
    return [...this.pods.values()].filter((p) => ownedBy(p, ds));
  }

  /** The DaemonSet controller: one pod per node, then the status counts. */
  private reconcile(ds: DaemonSet): void {
    const pods = this.podsOf(ds);
    for (const node of this.nodes.values()) {
      if (pods.some((p) => p.spec.nodeName === node.metadata.name)) continue;
      const agent = ds.metadata.namespace === this.fleet.namespace && ds.metadata.name === this.fleet.agent.daemonSet;
      const podSpec = agent ? (spec: DaemonSet['spec']['template']['spec']) => nodePodSpec(spec, this.fleet, node.metadata.name) : undefined;
      const pod = buildPod({
        ds,
        node,
        name: this.podName(ds),
        podIP: this.nextPodIP(node),
        runtime: this.runtime,
        mint: this.mint,
        ...(podSpec ? { podSpec } : {}),
      });
      this.store(this.pods, pod);
      if (agent) this.startRuntimeModule(node.metadata.name, pod);
    }
    const status = daemonSetStatus(ds, this.podsOf(ds), [...this.nodes.values()]);
    const current = this.daemonSets.get(key(ds.metadata.namespace, ds.metadata.name)) ?? ds;
    if (JSON.stringify(current.status) !== JSON.stringify(status)) {
      current.status = status;
      this.store(this.daemonSets, current);
    }
  }

  private podName(ds: DaemonSet): string {
    for (;;) {
      const name = `${ds.metadata.name}-${this.mint.suffix()}`;
      if (!this.pods.has(key(ds.metadata.namespace, name))) return name;
    }
  }

  private nextPodIP(node: Node): string {
    const cidr = node.spec.podCIDR ?? '10.64.0.0/24';
    const n = (this.podIpSeq.get(node.metadata.name) ?? 0) + 1;
    this.podIpSeq.set(node.metadata.name, n);
    return cidr.replace(/\.0\/24$/, `.${2 + ((n - 1) % 250)}`);
  }

  private store<T extends KObject>(map: Map<string, T>, obj: T): void {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    map.set(key(obj.metadata.namespace, obj.metadata.name), obj);
  }
}

function copy<T>(o: T | undefined): T | undefined {
  return o === undefined ? undefined : structuredClone(o);
}

function select<T extends KObject>(
  objs: T[],
  namespace: string | undefined,
  selector: Selector,
  fields: FieldSelector | undefined,
  fieldsOf: (o: T) => Record<string, string>,
): T[] {
  const labels = typeof selector === 'string' ? parseLabelSelector(selector) : (selector ?? []);
  return objs
    .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
    .filter((o) => matchesLabels(labels, o.metadata.labels))
    .filter((o) => !fields || matchesFields(fields, fieldsOf(o as never)))
    .sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name))
    .map((o) => structuredClone(o));
}
