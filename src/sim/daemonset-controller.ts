/**
 * What the DaemonSet controller and the kubelet make of a DaemonSet: one pod per node from the
 * current template, and the DaemonSet's status counts. Pure apart from the Mint.
 *
 * Pod states:
 * - node Ready → phase Running, every container running and ready;
 * - node not ready (fleet `ready: false`: the kubelet stopped posting status) and the pod was
 *   already there → phase stays Running (nobody updates it), the node lifecycle controller
 *   marks the pod's Ready/ContainersReady conditions False, and the containers show not ready;
 * - a pod created while its node is not ready → Pending (no kubelet ever started it).
 */
import type { ContainerRuntime } from './build-cluster.ts';
import { isNodeReady } from './build-cluster.ts';
import type { Condition, DaemonSet, DaemonSetStatus, Node, Pod, PodTemplate } from './k8s-types.ts';
import { type Mint, sha256Hex, shortHash, timestamp } from './meta.ts';

export type PodState = 'running' | 'not-ready' | 'pending';

export function templateHash(ds: DaemonSet): string {
  return shortHash(JSON.stringify(ds.spec.template));
}

export function isPodReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function ownedBy(pod: Pod, ds: DaemonSet): boolean {
  return pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet' && o.uid === ds.metadata.uid) ?? false;
}

export function imageID(image: string): string {
  const repo = image.split('@')[0]!.replace(/:[^/:]+$/, '');
  return `${repo}@sha256:${sha256Hex(image)}`;
}

export interface NewPod {
  ds: DaemonSet;
  node: Node;
  name: string;
  podIP: string;
  runtime: ContainerRuntime;
  mint: Mint;
  /** What this node's pod runs instead of the template's spec (the fleet's per-node layout); default: the template's. */
  podSpec?: (spec: PodTemplate['spec']) => PodTemplate['spec'];
}

export function buildPod({ ds, node, name, podIP, runtime, mint, podSpec }: NewPod): Pod {
  const template = structuredClone(ds.spec.template);
  if (podSpec) template.spec = podSpec(template.spec);
  const hostIP = node.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
  const hostNetwork = template.spec.hostNetwork === true;
  const ip = hostNetwork ? hostIP : podIP;
  const now = timestamp(mint.now());
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace ?? 'default',
      uid: mint.uid(),
      resourceVersion: '',
      creationTimestamp: now,
      labels: {
        ...template.metadata.labels,
        'controller-revision-hash': templateHash(ds),
        'pod-template-generation': String(ds.metadata.generation ?? 1),
      },
      ...(template.metadata.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name, uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      ...template.spec,
      nodeName: node.metadata.name,
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node.metadata.name] }] }],
          },
        },
      },
      tolerations: [
        ...((template.spec.tolerations as unknown[] | undefined) ?? []),
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
      ],
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
  const scheme = runtime === 'containerd' ? 'containerd' : 'docker';
  if (isNodeReady(node)) {
    pod.status = {
      phase: 'Running',
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: 'BestEffort',
      containerStatuses: template.spec.containers.map((c) => ({
        name: c.name,
        ready: true,
        restartCount: 0,
        started: true,
        image: c.image,
        imageID: imageID(c.image),
        containerID: `${scheme}://${mint.hexId()}`,
        state: { running: { startedAt: now } },
      })),
    };
  } else {
    pod.status = { phase: 'Pending', hostIP, hostIPs: [{ ip: hostIP }], qosClass: 'BestEffort' };
  }
  pod.status.conditions = podConditions(isNodeReady(node) ? 'running' : 'pending', now);
  return pod;
}

function podConditions(state: PodState, t: string): Condition[] {
  const on = (type: string, ok: boolean, reason?: string): Condition => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: t,
    ...(reason ? { reason } : {}),
  });
  if (state === 'pending') return [on('PodScheduled', true)];
  const ready = state === 'running';
  return [
    on('PodReadyToStartContainers', true),
    on('Initialized', true),
    on('Ready', ready, ready ? undefined : 'NodeNotReady'),
    on('ContainersReady', ready, ready ? undefined : 'NodeNotReady'),
    on('PodScheduled', true),
  ];
}

/** The node went away or came back: what the node lifecycle controller / kubelet then report. */
export function setPodNodeReadiness(pod: Pod, nodeReady: boolean, now: Date): void {
  if (pod.status.phase !== 'Running') return;
  const t = timestamp(now);
  pod.status.conditions = podConditions(nodeReady ? 'running' : 'not-ready', t);
  for (const c of pod.status.containerStatuses ?? []) c.ready = nodeReady;
}

export function daemonSetStatus(ds: DaemonSet, pods: readonly Pod[], nodes: readonly Node[]): DaemonSetStatus {
  const hash = templateHash(ds);
  const nodeNames = new Set(nodes.map((n) => n.metadata.name));
  const scheduled = pods.filter((p) => p.spec.nodeName !== undefined && nodeNames.has(p.spec.nodeName));
  const ready = scheduled.filter(isPodReady).length;
  const desired = nodes.length;
  const status: DaemonSetStatus = {
    currentNumberScheduled: scheduled.length,
    desiredNumberScheduled: desired,
    numberAvailable: ready,
    numberMisscheduled: 0,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: scheduled.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length,
  };
  if (desired - ready > 0) status.numberUnavailable = desired - ready;
  if (ready === 0) delete status.numberAvailable;
  return status;
}
