/**
 * What a container sees beyond its own writable files (pod-fs.ts), derived from its pod spec
 * so that patches change it (new pods, new spec):
 *   - ConfigMap volumes at their `mountPath` (a `subPath` mount is one file; otherwise a
 *     directory of the keys, or of `items`), e.g. /etc/datadog-agent/system-probe.yaml;
 *   - procfs: the container's own at /proc (PID namespace of the host with `hostPID: true`,
 *     else its own, whose PID 1 is the container's main process), and the host's wherever a
 *     `hostPath: /proc` volume is mounted (the Helm chart's `procdir` at /host/proc in system-probe).
 *     Only what network facts need: `net/dev` (of the reader's network namespace for
 *     `net`, `self`, `thread-self`; of PID 1's for `1/net/dev`) and `<pid>/ns/net`;
 *   - its Linux capabilities (`securityContext`), which decide what `nsenter` may do.
 * With `mnt: 'host'` (nsenter -m into the host's mount namespace) only the host's /proc is there.
 */
import { SYSTEM_PROBE_CONFIG_PATH } from './build-cluster.ts';
import type { ExecContext } from './exec-registry.ts';
import { hostInterfaces, type NetNs, POD_INTERFACES, renderProcNetDev } from './host-net.ts';
import type { Container, Pod } from './k8s-types.ts';
import { normalizePath } from './pod-fs.ts';
import type { ClusterState } from './state.ts';

export type MountedEntry =
  | { kind: 'file'; data: Uint8Array }
  | { kind: 'dir' }
  /**
   * A namespace file (/proc/PID/ns/<type>): opening it is fine, reading it is EINVAL. `net` and
   * `mnt` say whose network and mount namespaces that process has; `hostInit`: the host's PID 1.
   */
  | { kind: 'ns'; type: string; net: NetNs; mnt: 'host' | 'container'; hostInit: boolean };

export const NS_TYPES: readonly string[] = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'uts', 'user'];

/** The network namespace the command runs in. */
export function currentNetns(ctx: Pick<ExecContext, 'pod' | 'namespaces'>): NetNs {
  return ctx.namespaces?.net ?? podNetns(ctx.pod);
}

export function podNetns(pod: Pod): NetNs {
  return pod.spec.hostNetwork === true ? 'host' : 'pod';
}

export function containerOf(pod: Pod, name: string): Container | undefined {
  return pod.spec.containers.find((c) => c.name === name);
}

const DEFAULT_CAPS = new Set([
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
]);

/** Whether the container's processes hold `cap` (containerd's default set, then securityContext add/drop; privileged = all). */
export function hasCapability(container: Container | undefined, cap: string): boolean {
  const sc = (container?.securityContext ?? {}) as { privileged?: unknown; capabilities?: { add?: unknown; drop?: unknown } };
  if (sc.privileged === true) return true;
  const norm = (list: unknown) => (Array.isArray(list) ? list.map((c) => String(c).toUpperCase().replace(/^CAP_/, '')) : []);
  const add = norm(sc.capabilities?.add);
  const drop = norm(sc.capabilities?.drop);
  if (add.includes(cap)) return true;
  if (drop.includes('ALL') || drop.includes(cap)) return false;
  return DEFAULT_CAPS.has(cap);
}

interface ProcRoot {
  root: string;
  /** Whose PID namespace this procfs shows. */
  pidns: 'host' | 'container';
}

function procRoots(pod: Pod, container: Container | undefined, mnt: 'host' | 'container'): ProcRoot[] {
  if (mnt === 'host') return [{ root: '/proc', pidns: 'host' }];
  const roots: ProcRoot[] = [{ root: '/proc', pidns: pod.spec.hostPID === true ? 'host' : 'container' }];
  for (const m of volumeMounts(container)) {
    const v = volumeOf(pod, m.name);
    const hostPath = v?.hostPath as { path?: unknown } | undefined;
    if (hostPath && typeof hostPath.path === 'string' && normalizePath(hostPath.path) === '/proc' && !m.subPath) {
      roots.push({ root: normalizePath(m.mountPath), pidns: 'host' });
    }
  }
  return roots;
}

interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
}

function volumeMounts(container: Container | undefined): VolumeMount[] {
  const list = container?.volumeMounts;
  if (!Array.isArray(list)) return [];
  return list.filter((m): m is VolumeMount => typeof m === 'object' && m !== null && typeof m.name === 'string' && typeof m.mountPath === 'string');
}

function volumeOf(pod: Pod, name: string): Record<string, unknown> | undefined {
  const vols = pod.spec.volumes;
  if (!Array.isArray(vols)) return undefined;
  return vols.find((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && (v as { name?: unknown }).name === name);
}

/** The network namespace of PID 1 in a procfs whose PID namespace is `pidns`. */
function pid1Netns(pod: Pod, pidns: 'host' | 'container'): NetNs {
  return pidns === 'host' ? 'host' : podNetns(pod);
}

/** The files a ConfigMap volume mount puts at `path`, if any. */
function configMapEntry(state: ClusterState, pod: Pod, container: Container | undefined, path: string): MountedEntry | undefined {
  for (const m of volumeMounts(container)) {
    const cm = volumeOf(pod, m.name)?.configMap as { name?: unknown; items?: unknown } | undefined;
    if (!cm || typeof cm.name !== 'string') continue;
    const mountPath = normalizePath(m.mountPath);
    const data = state.getConfigMap(pod.metadata.namespace ?? 'default', cm.name)?.data ?? {};
    const items = Array.isArray(cm.items) ? (cm.items as { key?: string; path?: string }[]) : undefined;
    const files = new Map<string, string>();
    for (const [k, v] of Object.entries(data)) {
      if (!items) files.set(k, v);
      else for (const it of items) if (it.key === k && typeof it.path === 'string') files.set(it.path, v);
    }
    if (m.subPath) {
      const content = files.get(m.subPath);
      if (path === mountPath && content !== undefined) return { kind: 'file', data: Buffer.from(content, 'utf8') };
      continue;
    }
    if (path === mountPath) return { kind: 'dir' };
    if (path.startsWith(`${mountPath}/`)) {
      const content = files.get(path.slice(mountPath.length + 1));
      if (content !== undefined) return { kind: 'file', data: Buffer.from(content, 'utf8') };
    }
  }
  return undefined;
}

/** `/proc/net/dev` of a network namespace on `node`. */
export function netDevText(state: ClusterState, node: string, pod: Pod, ns: NetNs): string {
  if (ns === 'host') return renderProcNetDev(state.hostInterfaces(node), `host/${node}`);
  return renderProcNetDev(POD_INTERFACES, `pod/${pod.metadata.uid}`);
}

/** The interfaces of a network namespace on `node`. */
export function interfacesOf(state: ClusterState, node: string, ns: NetNs): string[] {
  return ns === 'host' ? state.hostInterfaces(node) : [...POD_INTERFACES];
}

function procEntry(ctx: Pick<ExecContext, 'pod' | 'node' | 'namespaces' | 'state'>, proc: ProcRoot, rel: string[]): MountedEntry | undefined {
  const reader = currentNetns(ctx);
  const file = (text: string): MountedEntry => ({ kind: 'file', data: Buffer.from(text, 'utf8') });
  const [first, ...rest] = rel;
  if (first === undefined) return { kind: 'dir' };
  let ns: NetNs;
  let mnt: 'host' | 'container';
  let hostInit = false;
  if (first === 'net') {
    // /proc/net is a link to /proc/self/net: the reader's own namespace.
    if (rest.length === 0) return { kind: 'dir' };
    return rest.length === 1 && rest[0] === 'dev' ? file(netDevText(ctx.state, ctx.node, ctx.pod, reader)) : undefined;
  }
  if (first === 'self' || first === 'thread-self') {
    ns = reader;
    mnt = ctx.namespaces?.mnt ?? 'container';
  } else if (first === '1') {
    ns = pid1Netns(ctx.pod, proc.pidns);
    mnt = proc.pidns === 'host' ? 'host' : 'container';
    hostInit = proc.pidns === 'host';
  } else return undefined;
  const path = rest.join('/');
  if (path === '' || path === 'net' || path === 'ns') return { kind: 'dir' };
  if (path === 'net/dev') return file(netDevText(ctx.state, ctx.node, ctx.pod, ns));
  const nsType = /^ns\/([a-z]+)$/.exec(path)?.[1];
  if (nsType !== undefined && NS_TYPES.includes(nsType)) return { kind: 'ns', type: nsType, net: ns, mnt, hostInit };
  return undefined;
}

/**
 * What is at `path` in the container beyond its writable files: a ConfigMap-mounted file, a
 * procfs entry, or undefined (then the pod's own files decide, or nothing is there).
 */
export function mountedEntry(ctx: Pick<ExecContext, 'pod' | 'node' | 'container' | 'namespaces' | 'state'>, rawPath: string): MountedEntry | undefined {
  const path = normalizePath(rawPath);
  const container = containerOf(ctx.pod, ctx.container);
  const mnt = ctx.namespaces?.mnt ?? 'container';
  for (const proc of procRoots(ctx.pod, container, mnt)) {
    if (path === proc.root) return { kind: 'dir' };
    if (path.startsWith(`${proc.root}/`)) return procEntry(ctx, proc, path.slice(proc.root.length + 1).split('/'));
  }
  if (mnt === 'host') return undefined;
  return configMapEntry(ctx.state, ctx.pod, container, path);
}

/** The system-probe.yaml a pod's system-probe container reads, if mounted. */
export function systemProbeYamlOf(state: ClusterState, pod: Pod, container = 'system-probe'): string | undefined {
  const e = configMapEntry(state, pod, containerOf(pod, container), SYSTEM_PROBE_CONFIG_PATH);
  return e?.kind === 'file' ? Buffer.from(e.data).toString('utf8') : undefined;
}

/** A container's plain `env` values (valueFrom entries are not resolved). */
export function envOf(pod: Pod, container: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of containerOf(pod, container)?.env ?? []) if (typeof e.value === 'string') out[e.name] = e.value;
  return out;
}
