/**
 * Server-side printing: `meta.k8s.io/v1 Table` rows with the columns the real API server's
 * printers give (pkg/printers/internalversion), which is what `kubectl get` shows. Pure.
 */
import { formatLabelSelector, fromLabelSelectorSpec } from './label-selector.ts';
import type { ConfigMap, DaemonSet, KObject, Namespace, Node, Pod } from './k8s-types.ts';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface TableConverter<T> {
  columns: Column[];
  cells(obj: T, now: Date): (string | number)[];
}

const col = (name: string, type: Column['type'], description: string, priority = 0, format = ''): Column => ({ name, type, format, description, priority });
const nameCol = col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name');
const ageCol = col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** apimachinery `duration.HumanDuration`, as kubectl's AGE column shows it. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 60 * 2) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 60 * 3) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const y = Math.floor(h / 24 / 365);
  if (y < 8) return `${y}y${Math.floor(h / 24) % 365}d`;
  return `${y}y`;
}

export const age = (o: KObject, now: Date) => humanDuration(now.getTime() - Date.parse(o.metadata.creationTimestamp));

export const podTable: TableConverter<Pod> = {
  columns: [
    nameCol,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    ageCol,
    col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
    col('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
    col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
    col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
  ],
  cells(p, now) {
    const statuses = p.status.containerStatuses ?? [];
    const ready = statuses.filter((c) => c.ready).length;
    let reason: string = p.status.phase;
    for (const c of statuses) {
      const waiting = c.state.waiting as { reason?: string } | undefined;
      if (waiting?.reason) reason = waiting.reason;
    }
    if (p.metadata.deletionTimestamp) reason = 'Terminating';
    const restarts = statuses.reduce((n, c) => n + c.restartCount, 0);
    return [
      p.metadata.name,
      `${ready}/${p.spec.containers.length}`,
      reason,
      String(restarts),
      age(p, now),
      p.status.podIP ?? '<none>',
      p.spec.nodeName ?? '<none>',
      '<none>',
      '<none>',
    ];
  },
};

export const nodeTable: TableConverter<Node> = {
  columns: [
    nameCol,
    col('Status', 'string', 'The status of the node'),
    col('Roles', 'string', 'The roles of the node'),
    ageCol,
    col('Version', 'string', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
    col('External-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available.', 1),
    col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
    col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
    col('Container-Runtime', 'string', 'Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
  ],
  cells(n, now) {
    const ready = n.status.conditions.find((c) => c.type === 'Ready');
    let status = ready?.status === 'True' ? 'Ready' : 'NotReady';
    if (n.spec.unschedulable) status += ',SchedulingDisabled';
    const roles = Object.keys(n.metadata.labels ?? {})
      .filter((l) => l.startsWith('node-role.kubernetes.io/'))
      .map((l) => l.slice('node-role.kubernetes.io/'.length));
    const addr = (t: string) => n.status.addresses.find((a) => a.type === t)?.address ?? '<none>';
    const info = n.status.nodeInfo;
    return [
      n.metadata.name,
      status,
      roles.join(',') || '<none>',
      age(n, now),
      info.kubeletVersion ?? '',
      addr('InternalIP'),
      addr('ExternalIP'),
      info.osImage ?? '<unknown>',
      info.kernelVersion ?? '<unknown>',
      info.containerRuntimeVersion ?? '<unknown>',
    ];
  },
};

export const daemonSetTable: TableConverter<DaemonSet> = {
  columns: [
    nameCol,
    col('Desired', 'integer', 'The total number of nodes that should be running the daemon pod.'),
    col('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
    col(
      'Ready',
      'integer',
      'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.',
    ),
    col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
    col(
      'Available',
      'integer',
      'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)',
    ),
    col('Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    ageCol,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
    col('Selector', 'string', 'A label query over pods that are managed by the daemon set.', 1),
  ],
  cells(ds, now) {
    const s = ds.status;
    const nodeSelector = ds.spec.template.spec.nodeSelector as Record<string, string> | undefined;
    const containers = ds.spec.template.spec.containers;
    return [
      ds.metadata.name,
      s.desiredNumberScheduled,
      s.currentNumberScheduled,
      s.numberReady,
      s.updatedNumberScheduled ?? 0,
      s.numberAvailable ?? 0,
      nodeSelector && Object.keys(nodeSelector).length
        ? Object.entries(nodeSelector)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')
        : '<none>',
      age(ds, now),
      containers.map((c) => c.name).join(','),
      containers.map((c) => c.image).join(','),
      formatLabelSelector(fromLabelSelectorSpec(ds.spec.selector)),
    ];
  },
};

export const configMapTable: TableConverter<ConfigMap> = {
  columns: [nameCol, col('Data', 'integer', 'Data contains the configuration data.'), ageCol],
  cells: (cm, now) => [cm.metadata.name, Object.keys(cm.data ?? {}).length, age(cm, now)],
};

export const namespaceTable: TableConverter<Namespace> = {
  columns: [nameCol, col('Status', 'string', 'The status of the namespace'), ageCol],
  cells: (ns, now) => [ns.metadata.name, ns.status.phase, age(ns, now)],
};

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion: string; continue?: string };
  columnDefinitions: Column[];
  rows: { cells: (string | number)[]; object: unknown }[];
}

/** A Table of `objs`; row objects are PartialObjectMetadata unless the full object was asked for. */
export function toTable<T extends KObject>(
  conv: TableConverter<T>,
  objs: readonly T[],
  opts: { now: Date; resourceVersion: string; includeObject: string | null; continueToken?: string },
): Table {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion, ...(opts.continueToken ? { continue: opts.continueToken } : {}) },
    columnDefinitions: conv.columns,
    rows: objs.map((o) => ({
      cells: conv.cells(o, opts.now),
      object:
        opts.includeObject === 'None'
          ? null
          : opts.includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
