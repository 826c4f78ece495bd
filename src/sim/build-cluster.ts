/**
 * The objects a fleet spec describes, built once at start: namespaces, nodes, the agent
 * DaemonSet (with the labels/annotations/owner of whoever manages it), the CNI DaemonSet and
 * the system-probe ConfigMap. Pure apart from the Mint (ids and time). Pods are made by the
 * DaemonSet controller (daemonset-controller.ts), as in a cluster.
 */
import type { Fleet } from './fleet.ts';
import type { ConfigMap, Container, DaemonSet, Namespace, Node } from './k8s-types.ts';
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
export const SYSTEM_PROBE_CAPABILITIES = ['SYS_ADMIN', 'SYS_RESOURCE', 'SYS_PTRACE', 'NET_ADMIN', 'NET_BROADCAST', 'NET_RAW', 'IPC_LOCK', 'CHOWN', 'DAC_READ_SEARCH'] as const;

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
      : { type, status: 'Unknown' as const, lastHeartbeatTime: t, lastTransitionTime: t, reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' };
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

export function buildAgentDaemonSet(fleet: Fleet, mint: Mint): DaemonSet {
  const { daemonSet: name, image, managedBy, systemProbeYaml } = fleet.agent;
  const ns = fleet.namespace;
  const configMap = systemProbeYaml === undefined ? undefined : systemProbeConfigMapName(name);
  const containers: Container[] = Object.entries(fleet.agent.containers).map(([cname, spec]) => {
    const c: Container = {
      name: cname,
      image,
      ...(AGENT_COMMANDS[cname] ? { command: AGENT_COMMANDS[cname] } : {}),
      env: Object.entries(spec.env).map(([k, v]) => ({ name: k, value: v })),
      imagePullPolicy: 'IfNotPresent',
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    };
    const configMount = { name: 'sysprobe-config', mountPath: SYSTEM_PROBE_CONFIG_PATH, subPath: SYSTEM_PROBE_CONFIG_KEY, readOnly: true };
    if (cname === 'system-probe') {
      // The Helm chart's system-probe: the host's /proc at /host/proc, and its default capabilities.
      c.securityContext = { capabilities: { add: [...SYSTEM_PROBE_CAPABILITIES] }, privileged: false };
      c.volumeMounts = [...(configMap ? [configMount] : []), { name: 'procdir', mountPath: HOST_PROC_PATH, readOnly: true }];
    } else if (cname === 'security-agent' && configMap) {
      c.volumeMounts = [configMount]; // the chart mounts system-probe.yaml here too when CWS is on
    }
    return c;
  });
  const hasSystemProbe = containers.some((c) => c.name === 'system-probe');
  const volumes = [
    ...(configMap ? [{ name: 'sysprobe-config', configMap: { name: configMap, defaultMode: 420 } }] : []),
    ...(hasSystemProbe ? [{ name: 'procdir', hostPath: { path: '/proc', type: '' } }] : []),
  ];

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
    metadata: { ...meta(mint, cni.daemonSet, cni.namespace), generation: 1, labels: { ...cni.labels }, annotations: { 'deprecated.daemonset.template.generation': '1' } },
    spec: {
      selector: { matchLabels: { ...cni.labels } },
      template: {
        metadata: { labels: { ...cni.labels } },
        spec: {
          containers: [{ name: container, image: cni.image, ...(container === 'cilium-agent' ? { command: ['cilium-agent'], args: ['--config-dir=/tmp/cilium/config-map'] } : {}), imagePullPolicy: 'IfNotPresent', resources: {} }],
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
  const labels: Record<string, string> = fleet.agent.managedBy === 'helm' ? { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': helmReleaseName(fleet.agent.daemonSet) } : {};
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...meta(mint, name, fleet.namespace), ...(Object.keys(labels).length ? { labels } : {}) },
    data: { [SYSTEM_PROBE_CONFIG_KEY]: fleet.agent.systemProbeYaml },
  };
}
