/**
 * A node's network as the tools see it, driven by the fleet spec (DESIGN.md, "Fleet spec"). Pure.
 *
 * - Interfaces. The host network namespace has `lo`, `eth0`, Cilium's own devices when the CNI
 *   is Cilium (`cilium_net`, `cilium_host`, `cilium_vxlan`), and the node's pod-facing
 *   interfaces: the keys of its `tc` map. A pod's own namespace has `lo` and `eth0` only.
 * - `/proc/net/dev`, in the kernel's layout (net/core/net-procfs.c `dev_seq_show`).
 * - `tc filter show dev IFACE ingress|egress`: the spec's text for the interface, as given
 *   (ingress only; egress and the root qdisc have no vendor filters). Optionally with the
 *   Datadog agent's own classifiers merged in, at the priority its configuration resolves to
 *   (ClusterState.setAgentClassifiers; off by default, so the spec's text is the whole answer).
 */
import { parse as parseYaml } from 'yaml';
import type { Fleet } from './fleet.ts';
import { sha256Hex } from './meta.ts';

export type NetNs = 'host' | 'pod';

/** The inode of the initial network namespace (`readlink /proc/1/ns/net` → `net:[4026531840]`). */
export const HOST_NETNS_INODE = 4026531840;
export const POD_INTERFACES: readonly string[] = ['lo', 'eth0'];

export function isCiliumCni(cni: Fleet['cni']): boolean {
  if (!cni) return false;
  const repo = cni.image.split('@')[0]!.replace(/:[^/:]+$/, '');
  return cni.daemonSet === 'cilium' || cni.daemonSet === 'anetd' || /(^|\/)cilium$/.test(repo);
}

/** The host namespace's interfaces, in creation order (the order /proc/net/dev lists them). */
export function hostInterfaces(cni: Fleet['cni'], tc: Readonly<Record<string, string>>): string[] {
  const out = ['lo', 'eth0'];
  if (isCiliumCni(cni)) out.push('cilium_net', 'cilium_host', 'cilium_vxlan');
  for (const name of Object.keys(tc)) if (!out.includes(name)) out.push(name);
  return out;
}

/** Deterministic, plausible counters per interface (stable across reads). */
function counters(seed: string, iface: string): number[] {
  const h = sha256Hex(`${seed}/${iface}`);
  const num = (i: number, mod: number) => Number.parseInt(h.slice(i * 8, i * 8 + 8), 16) % mod;
  const rxBytes = 1_000_000 + num(0, 4_000_000_000);
  const rxPackets = Math.max(1, Math.floor(rxBytes / (400 + num(1, 1000))));
  if (iface === 'lo') return [rxBytes, rxPackets, 0, 0, 0, 0, 0, 0, rxBytes, rxPackets, 0, 0, 0, 0, 0, 0];
  const txBytes = 1_000_000 + num(2, 2_000_000_000);
  const txPackets = Math.max(1, Math.floor(txBytes / (300 + num(3, 1100))));
  return [rxBytes, rxPackets, 0, num(4, 40), 0, 0, 0, iface === 'eth0' ? num(5, 5000) : 0, txBytes, txPackets, 0, 0, 0, 0, 0, 0];
}

const NET_DEV_HEADER =
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
// "%6s: %7llu %7llu %4llu %4llu %4llu %5llu %10llu %9llu %8llu %7llu %4llu %4llu %4llu %5llu %7llu %10llu\n"
const NET_DEV_WIDTHS = [7, 7, 4, 4, 4, 5, 10, 9, 8, 7, 4, 4, 4, 5, 7, 10];

/** `/proc/net/dev` of a namespace holding `ifaces`; `seed` keeps one namespace's counters apart from another's. */
export function renderProcNetDev(ifaces: readonly string[], seed: string): string {
  const rows = ifaces.map((name) => {
    const cols = counters(seed, name).map((v, i) => String(v).padStart(NET_DEV_WIDTHS[i]!));
    return `${name.padStart(6)}: ${cols.join(' ')}\n`;
  });
  return NET_DEV_HEADER + rows.join('');
}

// ── tc filter show ───────────────────────────────────────────────────────────────────────

export type TcParent = 'ingress' | 'egress' | 'root';

export interface AgentClassifier {
  pref: number;
  /** Kernel-assigned when the agent's classifier_handle is 0 (its default). */
  name: string;
  progId: number;
  tag: string;
}

interface FilterLine {
  text: string;
  pref: number | undefined;
}

function specLines(text: string): FilterLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /\bpref (\d+)\b/.exec(l);
      return { text: l, pref: m ? Number(m[1]) : undefined };
    });
}

/**
 * The lines `tc filter show dev IFACE <parent> [pref N]` prints (each ending in "\n"): the
 * vendor's (spec) lines for ingress, the agent's classifiers merged in by priority as tc lists
 * them (ascending pref; a filter sharing a vendor's pref joins its list, with the next handle).
 */
export function tcFilterLines(spec: string | undefined, parent: TcParent, agent: AgentClassifier | undefined, prefFilter?: number): string[] {
  const vendor = parent === 'ingress' && spec !== undefined ? specLines(spec) : [];
  const lines = [...vendor];
  if (agent && parent !== 'root') {
    const shared = vendor.some((l) => l.pref === agent.pref && /\bprotocol all\b/.test(l.text) && /\bbpf\b/.test(l.text));
    const head = `filter protocol all pref ${agent.pref} bpf chain 0 `;
    const own = [
      ...(shared ? [] : [{ text: head, pref: agent.pref }]),
      { text: `${head}handle 0x${shared ? 2 : 1} ${agent.name} direct-action not_in_hw id ${agent.progId} tag ${agent.tag} jited `, pref: agent.pref },
    ];
    let at = lines.length;
    for (let i = 0; i < lines.length; i++) {
      const p = lines[i]!.pref;
      if (p !== undefined && p > agent.pref) {
        at = i;
        break;
      }
    }
    lines.splice(at, 0, ...own);
  }
  return lines.filter((l) => prefFilter === undefined || l.pref === prefFilter).map((l) => `${l.text}\n`);
}

/** `tc -j filter show …`: iproute2's JSON for the same lines (bpf options parsed from the text). */
export function tcFilterJson(lines: readonly string[]): unknown[] {
  return lines.map((line) => {
    const m = /^filter (?:(?:parent \S+|ingress|egress|root) )?protocol (\S+) pref (\d+) (\S+) chain (\d+)(?: handle (\S+))?(.*)$/.exec(line.trimEnd());
    if (!m) return { raw: line.trimEnd() };
    const out: Record<string, unknown> = { protocol: m[1], pref: Number(m[2]), kind: m[3], chain: Number(m[4]) };
    if (m[5] === undefined) return out;
    const options: Record<string, unknown> = { handle: m[5] };
    const words = m[6]!.trim().split(/\s+/).filter(Boolean);
    const prog: Record<string, unknown> = {};
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === 'direct-action' || w === 'not_in_hw' || w === 'skip_hw' || w === 'skip_sw' || w === 'in_hw') options[w] = true;
      else if (w === 'id' && words[i + 1] !== undefined) prog.id = Number(words[++i]);
      else if (w === 'tag' && words[i + 1] !== undefined) prog.tag = words[++i];
      else if (w === 'jited') prog.jited = true;
      else if (options.bpf_name === undefined && Object.keys(options).length === 1) options.bpf_name = w;
    }
    if (Object.keys(prog).length > 0) options.prog = prog;
    out.options = options;
    return out;
  });
}

// ── the agent's own classifiers ──────────────────────────────────────────────────────────

/** Go's strconv.ParseBool (what viper/cast accept); anything else reads as false, as cast.ToBool does. */
function goBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === undefined || v === null) return undefined;
  const s = String(v);
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  return false;
}

function goInt(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number.parseInt(String(v).trim(), 10);
  return Number.isFinite(n) ? n : 0;
}

function versionAtLeast(version: string, min: [number, number, number]): boolean | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
  return true;
}

export interface AgentNetworkConfig {
  /** CWS runs and network detections are on: the agent attaches classifiers. */
  attaches: boolean;
  /** The pref its classifiers get. */
  priority: number;
}

/**
 * What system-probe resolves from its environment and system-probe.yaml (env wins), as the
 * simulator models it: CWS and network detections on unless set false (the simulated fleet runs
 * CWS); `classifier_priority` default 10, 0 → ebpf-manager's default 50; agents before 7.39.2 had
 * no such key and attached at priority 1; agents before 7.36 had no network detections.
 */
export function agentNetworkConfig(env: Readonly<Record<string, string>>, systemProbeYaml: string | undefined, agentVersion: string): AgentNetworkConfig {
  let rsc: Record<string, unknown> = {};
  try {
    const doc = systemProbeYaml === undefined ? undefined : (parseYaml(systemProbeYaml) as unknown);
    const r = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).runtime_security_config : undefined;
    if (r && typeof r === 'object') rsc = r as Record<string, unknown>;
  } catch {
    /* an unreadable file: the agent would not start; keep defaults */
  }
  const network = rsc.network && typeof rsc.network === 'object' ? (rsc.network as Record<string, unknown>) : {};
  const enabled = goBool(env.DD_RUNTIME_SECURITY_CONFIG_ENABLED) ?? goBool(rsc.enabled) ?? true;
  const netEnabled = goBool(env.DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED) ?? goBool(network.enabled) ?? true;
  const hasNetwork = versionAtLeast(agentVersion, [7, 36, 0]) ?? true;
  const hasPriorityKey = versionAtLeast(agentVersion, [7, 39, 2]) ?? true;
  let priority = hasPriorityKey ? (goInt(env.DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY) ?? goInt(network.classifier_priority) ?? 10) : 1;
  if (priority <= 0 || priority > 0xffff) priority = 50;
  return { attaches: enabled && netEnabled && hasNetwork, priority };
}

/**
 * The agent's classifier on one interface: ebpf-manager names a tc filter
 * `<section>_<UID>_<pid>` with non-alphanumerics as "_" (section `classifier/ingress`, UID
 * `security<ifindex>_<netns>`), so a new agent process shows a new name.
 */
export function agentClassifier(direction: 'ingress' | 'egress', iface: string, ifindex: number, podUid: string, priority: number): AgentClassifier {
  const h = sha256Hex(`${podUid}/${iface}/${direction}`);
  const pid = 1000 + (Number.parseInt(sha256Hex(podUid).slice(0, 6), 16) % 60_000);
  return {
    pref: priority,
    name: `classifier_${direction}_security${ifindex}_${HOST_NETNS_INODE}_${pid}`,
    progId: 100 + (Number.parseInt(h.slice(0, 6), 16) % 50_000),
    tag: h.slice(16, 32),
  };
}
