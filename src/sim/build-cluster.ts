/**
 * The objects a fleet spec describes, built once at start: namespaces, nodes, the agent
 * DaemonSet (with the labels/annotations/owner of whoever manages it), the CNI DaemonSet and
 * the system-probe ConfigMap. Pure apart from the Mint (ids and time). Pods are made by the
 * DaemonSet controller (daemonset-controller.ts), as in a cluster.
 */
import { type ContainerSpec, DIRECT_SEND_ENV, type Fleet, podLayout } from './fleet.ts';
import type { ConfigMap, Container, DaemonSet, Namespace, Node, PodSpec } from './k8s-types.ts';
import { type Mint, timestamp } from './meta.ts';

export const KUBERNETES_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.4' } as const;
export type ContainerRuntime = 'containerd' | 'cri-dockerd';
export const RUNTIME_VERSION: Record<ContainerRuntime, string> = {
  containerd: 'containerd://1.7.22',
  'cri-dockerd': 'docker://24.0.9',
};
export const SYSTEM_PROBE_CONFIG_KEY = 'system-probe.yaml';
export const SYSTEM_PROBE_CONFIG_PATH = '/etc/datadog-agent/system-probe.yaml';
/** Where the chart mounts the host's /proc (`procdir`) in system-probe. */
export const HOST_PROC_PATH = '/host/proc';
/** The chart's default `agents.containers.systemProbe.securityContext.capabilities.add`. */
export const SYSTEM_PROBE_CAPABILITIES = [
  'SYS_ADMIN',
  'SYS_RESOURCE',
  'SYS_PTRACE',
  'NET_ADMIN',
  'NET_BROADCAST',
  'NET_RAW',
  'IPC_LOCK',
  'CHOWN',
  'DAC_READ_SEARCH',
] as const;

/**
 * The emptyDir both charts share between system-probe (read-write) and the agent containers
 * (read-only): system-probe's sockets, among them the runtime security module's
 * (runtime-security.sock) that `security-agent runtime self-test` dials.
 */
export const SYSPROBE_SOCKET_VOLUME = 'sysprobe-socket-dir';
export const SYSPROBE_SOCKET_DIR = '/var/run/sysprobe';

export function systemProbeConfigMapName(daemonSet: string): string {
  return `${daemonSet}-system-probe-config`;
}

/** Deterministic addresses: node i gets 10.0.x.y and the pod CIDR 10.(64+i/256).(i%256).0/24. */
export function nodeAddress(index: number): { internalIP: string; podCIDR: string } {
  return {
    internalIP: `10.0.${Math.floor(index / 200)}.${10 + (index % 200)}`,
    podCIDR: `10.${64 + Math.floor(index / 256)}.${index % 256}.0/24`,
  };
}

function meta(mint: Mint, name: string, namespace?: string) {
  return { name, ...(namespace ? { namespace } : {}), uid: mint.uid(), resourceVersion: '', creationTimestamp: timestamp(mint.now()) };
}

export function buildNamespaces(fleet: Fleet, mint: Mint): Namespace[] {
  const names = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', fleet.namespace]);
  if (fleet.cni) names.add(fleet.cni.namespace);
  return [...names].map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { ...meta(mint, name), labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  }));
}

export function buildNode(name: string, index: number, ready: boolean, runtime: ContainerRuntime, mint: Mint): Node {
  const { internalIP, podCIDR } = nodeAddress(index);
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      ...meta(mint, name),
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR, podCIDRs: [podCIDR] },
    status: {
      conditions: [],
      addresses: [
        { type: 'InternalIP', address: internalIP },
        { type: 'Hostname', address: name },
      ],
      allocatable: { cpu: '3920m', 'ephemeral-storage': '95070146566', memory: '15214232Ki', pods: '110' },
      capacity: { cpu: '4', 'ephemeral-storage': '103158232Ki', memory: '16331416Ki', pods: '110' },
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: mint.uid(),
        containerRuntimeVersion: RUNTIME_VERSION[runtime],
        kernelVersion: '5.15.0-1067-aws',
        kubeProxyVersion: KUBERNETES_VERSION.gitVersion,
        kubeletVersion: KUBERNETES_VERSION.gitVersion,
        machineID: mint.hexId().slice(0, 32),
        operatingSystem: 'linux',
        osImage: 'Ubuntu 22.04.5 LTS',
        systemUUID: mint.uid(),
      },
    },
  };
  setNodeReadiness(node, ready, mint.now());
  return node;
}

/**
 * Ready, or what the node lifecycle controller shows when the kubelet stopped posting status
 * (conditions Unknown, the unreachable taints): the fleet spec's `ready: false`.
 */
export function setNodeReadiness(node: Node, ready: boolean, now: Date): void {
  const t = timestamp(now);
  const cond = (type: string, okStatus: 'True' | 'False', reason: string, message: string) =>
    ready
      ? { type, status: okStatus, lastHeartbeatTime: t, lastTransitionTime: t, reason, message }
      : {
          type,
          status: 'Unknown' as const,
          lastHeartbeatTime: t,
          lastTransitionTime: t,
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
        };
  node.status.conditions = [
    cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
  if (ready) delete node.spec.taints;
  else
    node.spec.taints = [
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: t },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: t },
    ];
}

export function isNodeReady(node: Node): boolean {
  return node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

const AGENT_COMMANDS: Record<string, string[]> = {
  agent: ['agent', 'run'],
  'trace-agent': ['trace-agent', '-config=/etc/datadog-agent/datadog.yaml'],
  'process-agent': ['process-agent', '--cfgpath=/etc/datadog-agent/datadog.yaml'],
  'security-agent': ['security-agent', 'start', '-c=/etc/datadog-agent/datadog.yaml'],
  'system-probe': ['system-probe', `--config=${SYSTEM_PROBE_CONFIG_PATH}`],
};

/** Helm's release name for a DaemonSet named by the chart's fullname template. */
export function helmReleaseName(daemonSet: string): string {
  return daemonSet.endsWith('-datadog') ? daemonSet.slice(0, -'-datadog'.length) : daemonSet;
}

export function datadogAgentName(daemonSet: string): string {
  return daemonSet.endsWith('-agent') ? daemonSet.slice(0, -'-agent'.length) : 'datadog';
}

interface ContainerContext {
  image: string;
  /** The system-probe ConfigMap's name, when the fleet has one. */
  configMap: string | undefined;
  /** Whether the pod has a system-probe container (then the socket dir is shared). */
  hasSystemProbe: boolean;
  directSend: boolean;
}

const configMount = { name: 'sysprobe-config', mountPath: SYSTEM_PROBE_CONFIG_PATH, subPath: SYSTEM_PROBE_CONFIG_KEY, readOnly: true };
const socketMount = (readOnly: boolean) => ({ name: SYSPROBE_SOCKET_VOLUME, mountPath: SYSPROBE_SOCKET_DIR, readOnly });

/**
 * One agent container as the charts build it: the agent's command for known names; in
 * system-probe the host's /proc, its default capabilities and the socket dir (read-write); in the
 * agent and security-agent containers the socket dir read-only (the Operator gives the
 * security-agent none in direct-send mode); system-probe.yaml where the charts mount it.
 */
export function agentContainer(name: string, spec: ContainerSpec, o: ContainerContext): Container {
  const env = Object.entries(spec.env).map(([k, v]) => ({ name: k, value: v }));
  if (name === 'system-probe' && o.directSend && !(DIRECT_SEND_ENV in spec.env)) env.push({ name: DIRECT_SEND_ENV, value: 'true' });
  const c: Container = {
    name,
    image: o.image,
    ...(AGENT_COMMANDS[name] ? { command: AGENT_COMMANDS[name] } : {}),
    env,
    imagePullPolicy: 'IfNotPresent',
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
  const mounts: Record<string, unknown>[] = [];
  if (name === 'system-probe') {
    // The Helm chart's system-probe: the host's /proc at /host/proc, and its default capabilities.
    c.securityContext = { capabilities: { add: [...SYSTEM_PROBE_CAPABILITIES] }, privileged: false };
    if (o.configMap) mounts.push(configMount);
    mounts.push({ name: 'procdir', mountPath: HOST_PROC_PATH, readOnly: true }, socketMount(false));
  } else if (name === 'security-agent') {
    if (o.configMap) mounts.push(configMount); // the chart mounts system-probe.yaml here too when CWS is on
    if (o.hasSystemProbe && !o.directSend) mounts.push(socketMount(true));
  } else if (name === 'agent' && o.hasSystemProbe) {
    if (o.configMap) mounts.push(configMount);
    mounts.push(socketMount(true));
  }
  if (mounts.length > 0) c.volumeMounts = mounts;
  return c;
}

function podVolumes(containers: readonly Container[], configMap: string | undefined): Record<string, unknown>[] {
  const hasSystemProbe = containers.some((c) => c.name === 'system-probe');
  return [
    ...(configMap ? [{ name: 'sysprobe-config', configMap: { name: configMap, defaultMode: 420 } }] : []),
    ...(hasSystemProbe
      ? [
          { name: 'procdir', hostPath: { path: '/proc', type: '' } },
          { name: SYSPROBE_SOCKET_VOLUME, emptyDir: {} },
        ]
      : []),
  ];
}

export function buildAgentDaemonSet(fleet: Fleet, mint: Mint): DaemonSet {
  const { daemonSet: name, image, managedBy, systemProbeYaml } = fleet.agent;
  const ns = fleet.namespace;
  const configMap = systemProbeYaml === undefined ? undefined : systemProbeConfigMapName(name);
  const hasSystemProbe = 'system-probe' in fleet.agent.containers;
  const cc: ContainerContext = { image, configMap, hasSystemProbe, directSend: fleet.agent.directSend };
  const containers = Object.entries(fleet.agent.containers).map(([cname, spec]) => agentContainer(cname, spec, cc));
  const volumes = podVolumes(containers, configMap);

  const labels: Record<string, string> = { ...fleet.agent.labels };
  const annotations: Record<string, string> = { 'deprecated.daemonset.template.generation': '1' };
  const templateLabels: Record<string, string> = { app: name, ...fleet.agent.labels };
  let ownerReferences: DaemonSet['metadata']['ownerReferences'];
  if (managedBy === 'helm') {
    const release = helmReleaseName(name);
    Object.assign(labels, {
      'helm.sh/chart': 'datadog-3.69.3',
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/instance': release,
      'app.kubernetes.io/managed-by': 'Helm',
      'app.kubernetes.io/version': '7',
    });
    Object.assign(annotations, { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': ns });
    Object.assign(templateLabels, { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': release });
  } else if (managedBy === 'operator') {
    const dda = datadogAgentName(name);
    Object.assign(labels, {
      'agent.datadoghq.com/name': dda,
      'agent.datadoghq.com/component': 'agent',
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/managed-by': 'datadog-operator',
      'app.kubernetes.io/part-of': `${ns}-${dda}`,
    });
    Object.assign(templateLabels, { 'agent.datadoghq.com/name': dda, 'agent.datadoghq.com/component': 'agent' });
    ownerReferences = [{ apiVersion: 'datadoghq.com/v2alpha1', kind: 'DatadogAgent', name: dda, uid: mint.uid(), controller: true, blockOwnerDeletion: true }];
  }

  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { ...meta(mint, name, ns), generation: 1, labels, annotations, ...(ownerReferences ? { ownerReferences } : {}) },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: templateLabels, name },
        spec: {
          containers,
          ...(volumes.length > 0 ? { volumes } : {}),
          hostPID: true, // the chart's default (datadog.useHostPID: true)
          serviceAccountName: name,
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '10%' } },
      revisionHistoryLimit: 10,
    },
    status: { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 },
  };
}

export function buildCniDaemonSet(cni: NonNullable<Fleet['cni']>, mint: Mint): DaemonSet {
  const container = cni.daemonSet === 'cilium' || cni.daemonSet === 'anetd' ? 'cilium-agent' : cni.daemonSet;
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      ...meta(mint, cni.daemonSet, cni.namespace),
      generation: 1,
      labels: { ...cni.labels },
      annotations: { 'deprecated.daemonset.template.generation': '1' },
    },
    spec: {
      selector: { matchLabels: { ...cni.labels } },
      template: {
        metadata: { labels: { ...cni.labels } },
        spec: {
          containers: [
            {
              name: container,
              image: cni.image,
              ...(container === 'cilium-agent' ? { command: ['cilium-agent'], args: ['--config-dir=/tmp/cilium/config-map'] } : {}),
              imagePullPolicy: 'IfNotPresent',
              resources: {},
            },
          ],
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          priorityClassName: 'system-node-critical',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          serviceAccountName: cni.daemonSet,
          terminationGracePeriodSeconds: 1,
        },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 2 } },
      revisionHistoryLimit: 10,
    },
    status: { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 },
  };
}

export function buildSystemProbeConfigMap(fleet: Fleet, mint: Mint): ConfigMap | undefined {
  if (fleet.agent.systemProbeYaml === undefined) return undefined;
  const name = systemProbeConfigMapName(fleet.agent.daemonSet);
  const labels: Record<string, string> =
    fleet.agent.managedBy === 'helm' ? { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': helmReleaseName(fleet.agent.daemonSet) } : {};
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...meta(mint, name, fleet.namespace), ...(Object.keys(labels).length ? { labels } : {}) },
    data: { [SYSTEM_PROBE_CONFIG_KEY]: fleet.agent.systemProbeYaml },
  };
}

/**
 * The pod spec the agent pod on `node` runs: the DaemonSet's (current) template, then the node
 * override's `agent` changes (fleet.ts podLayout): containers removed (null) or added (or their env
 * set), and direct send turned on or off in that pod. Without an override: the template as it is.
 */
export function nodePodSpec(spec: PodSpec, fleet: Fleet, node: string): PodSpec {
  const o = fleet.nodes.overrides[node]?.agent;
  if (!o) return spec;
  const out = structuredClone(spec);
  const layout = podLayout(fleet, node);
  const configMap = fleet.agent.systemProbeYaml === undefined ? undefined : systemProbeConfigMapName(fleet.agent.daemonSet);
  for (const [name, c] of Object.entries(o.containers ?? {})) {
    const i = out.containers.findIndex((x) => x.name === name);
    if (c === null) {
      if (i >= 0) out.containers.splice(i, 1);
    } else if (i >= 0) {
      const env = [...(out.containers[i]!.env ?? [])];
      for (const [k, v] of Object.entries(c.env)) {
        const j = env.findIndex((e) => e.name === k);
        if (j >= 0) env[j] = { name: k, value: v };
        else env.push({ name: k, value: v });
      }
      out.containers[i] = { ...out.containers[i]!, env };
    }
  }
  const hasSystemProbe = out.containers.some((c) => c.name === 'system-probe');
  const cc: ContainerContext = { image: fleet.agent.image, configMap, hasSystemProbe, directSend: layout.directSend };
  for (const [name, c] of Object.entries(o.containers ?? {})) {
    if (c !== null && !out.containers.some((x) => x.name === name)) out.containers.push(agentContainer(name, c, cc));
  }
  if (o.directSend !== undefined) {
    for (const c of out.containers) {
      if (c.name === 'system-probe') {
        const env = (c.env ?? []).filter((e) => e.name !== DIRECT_SEND_ENV || layout.directSend);
        if (layout.directSend && !env.some((e) => e.name === DIRECT_SEND_ENV)) env.push({ name: DIRECT_SEND_ENV, value: 'true' });
        c.env = env;
      } else if (c.name === 'security-agent') {
        const mounts = ((c.volumeMounts ?? []) as { name?: unknown }[]).filter((m) => m.name !== SYSPROBE_SOCKET_VOLUME);
        if (!layout.directSend && hasSystemProbe) mounts.push(socketMount(true));
        if (mounts.length > 0) c.volumeMounts = mounts;
        else delete c.volumeMounts;
      }
    }
  }
  const have = new Set(((out.volumes ?? []) as { name?: unknown }[]).map((v) => v.name));
  const missing = podVolumes(out.containers, configMap).filter((v) => !have.has(v.name));
  if (missing.length > 0) out.volumes = [...((out.volumes as unknown[] | undefined) ?? []), ...missing];
  return out;
}
