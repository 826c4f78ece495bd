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
  /** network.classifier_handle when the agent sets one (else the kernel numbers the filter). */
  handle?: number;
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
      {
        text: `${head}handle 0x${agent.handle ? agent.handle.toString(16) : shared ? 2 : 1} ${agent.name} direct-action not_in_hw id ${agent.progId} tag ${agent.tag} jited `,
        pref: agent.pref,
      },
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
export function goBool(v: unknown): boolean | undefined {
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
  /** network.classifier_handle when set (not 0): the tc handle of its classifier; else the kernel's (0x1). */
  handle: number;
  /** Why system-probe's CWS module refused its configuration and did not start (no classifiers then). */
  refused?: string;
  /** What system-probe logs for each deprecated key it applies (pkg/security/probe/config/config.go getBool/getInt). */
  warnings: string[];
}

/** First release with the event_monitoring_config.* keys (event monitor module, DataDog/datadog-agent PR #16108). */
const EVENT_MONITORING_SINCE: [number, number, number] = [7, 44, 0];

/** Viper-style lookup in a parsed YAML document: nested maps, flat dotted keys, or a mix. */
export function yamlLookup(node: unknown, path: readonly string[]): unknown {
  if (path.length === 0) return node;
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const obj = node as Record<string, unknown>;
  for (let n = path.length; n >= 1; n--) {
    const k = path.slice(0, n).join('.');
    if (Object.hasOwn(obj, k)) {
      const r = yamlLookup(obj[k], path.slice(n));
      if (r !== undefined && r !== null) return r;
    }
  }
  return undefined;
}

/**
 * What system-probe resolves from its environment and system-probe.yaml, as the agent applies it
 * (DataDog/datadog-agent; src/sim/README.md "Network options"):
 *
 * - `runtime_security_config.enabled`: env DD_RUNTIME_SECURITY_CONFIG_ENABLED, then the file
 *   (BindEnvAndSetDefault, pkg/config/setup/system_probe_cws.go); the simulated fleet runs CWS
 *   unless it is set false.
 * - The network options from 7.44 (the event_monitoring_config layout): the option is bound to
 *   `event_monitoring_config.network.X` with both env names, DD_EVENT_MONITORING_CONFIG_NETWORK_X
 *   first (pkg/config/setup/system_probe.go eventMonitorBindEnvAndSetDefault: the first env name that
 *   is set and not empty wins), and read with getBool/getInt (pkg/security/probe/config/config.go):
 *   `runtime_security_config.network.X` *configured* (only the file configures it: no env is bound to
 *   that key) wins and logs "%s has been deprecated: please set %s instead"; else the new key
 *   (its env, then the file's event_monitoring_config.network.X), else the default.
 * - Before 7.44: only runtime_security_config.network.X, env DD_RUNTIME_SECURITY_CONFIG_NETWORK_X
 *   over the file; the event_monitoring_config names are not read.
 * - `classifier_priority` default 10, 0 → ebpf-manager's default 50; before 7.39.2 no such key
 *   (priority 1); before 7.36 no network detections.
 * - `classifier_handle` / `raw_classifier_handle` (default 0) with `raw_packet.enabled` (default true):
 *   Config.sanitize refuses one set without the other, or both equal and not 0; NewConfig returns the
 *   error, the CWS module does not start, and no classifier is attached.
 * datadog.yaml does not take part: system-probe reads these keys from its own config (system-probe.yaml).
 */
export function agentNetworkConfig(env: Readonly<Record<string, string>>, systemProbeYaml: string | undefined, agentVersion: string): AgentNetworkConfig {
  let doc: unknown;
  try {
    doc = systemProbeYaml === undefined ? undefined : (parseYaml(systemProbeYaml) as unknown);
  } catch {
    /* an unreadable file: the agent would not start; keep defaults */
  }
  const fileValue = (key: string) => yamlLookup(doc, key.split('.'));
  const envValue = (...names: string[]) => {
    for (const n of names) if (env[n] !== undefined && env[n] !== '') return env[n];
    return undefined;
  };
  const emLayout = versionAtLeast(agentVersion, EVENT_MONITORING_SINCE) ?? true;
  const warnings: string[] = [];
  /** A network option, in the agent's order for its version. */
  const network = (option: string): unknown => {
    const suffix = option.replace(/\./g, '_').toUpperCase();
    const oldKey = `runtime_security_config.network.${option}`;
    const newKey = `event_monitoring_config.network.${option}`;
    if (!emLayout) return envValue(`DD_RUNTIME_SECURITY_CONFIG_NETWORK_${suffix}`) ?? fileValue(oldKey);
    const deprecated = fileValue(oldKey);
    if (deprecated !== undefined) {
      warnings.push(`${oldKey} has been deprecated: please set ${newKey} instead`);
      return deprecated;
    }
    return envValue(`DD_EVENT_MONITORING_CONFIG_NETWORK_${suffix}`, `DD_RUNTIME_SECURITY_CONFIG_NETWORK_${suffix}`) ?? fileValue(newKey);
  };
  const enabled = goBool(envValue('DD_RUNTIME_SECURITY_CONFIG_ENABLED')) ?? goBool(fileValue('runtime_security_config.enabled')) ?? true;
  const netEnabled = goBool(network('enabled')) ?? true;
  const hasNetwork = versionAtLeast(agentVersion, [7, 36, 0]) ?? true;
  const hasPriorityKey = versionAtLeast(agentVersion, [7, 39, 2]) ?? true;
  const prioritySetting = hasPriorityKey ? network('classifier_priority') : undefined;
  let priority = hasPriorityKey ? (goInt(prioritySetting) ?? 10) : 1;
  if (priority <= 0 || priority > 0xffff) priority = 50;
  let handle = 0;
  let refused: string | undefined;
  if (emLayout) {
    handle = goInt(network('classifier_handle')) ?? 0;
    const raw = goInt(network('raw_classifier_handle')) ?? 0;
    const rawPackets = goBool(network('raw_packet.enabled')) ?? true;
    if (rawPackets && handle !== 0 && handle === raw)
      refused = `network.classifier_handle and network.raw_classifier_handle can't be equal and not null: got classifier_handle:${handle} raw_classifier_handle:${raw}`;
    else if (rawPackets && (handle === 0) !== (raw === 0))
      refused = `none or both of network.classifier_handle and network.raw_classifier_handle must be provided: got classifier_handle:${handle} raw_classifier_handle:${raw}`;
  }
  return {
    attaches: enabled && netEnabled && hasNetwork && !refused,
    priority,
    handle,
    ...(refused ? { refused } : {}),
    warnings: [...new Set(warnings)],
  };
}

/**
 * The agent's classifier on one interface: ebpf-manager names a tc filter
 * `<section>_<UID>_<pid>` with non-alphanumerics as "_" (section `classifier/ingress`, UID
 * `security<ifindex>_<netns>`), so a new agent process shows a new name.
 */
export function agentClassifier(
  direction: 'ingress' | 'egress',
  iface: string,
  ifindex: number,
  podUid: string,
  priority: number,
  handle = 0,
): AgentClassifier {
  const h = sha256Hex(`${podUid}/${iface}/${direction}`);
  const pid = 1000 + (Number.parseInt(sha256Hex(podUid).slice(0, 6), 16) % 60_000);
  return {
    pref: priority,
    name: `classifier_${direction}_security${ifindex}_${HOST_NETNS_INODE}_${pid}`,
    progId: 100 + (Number.parseInt(h.slice(0, 6), 16) % 50_000),
    tag: h.slice(16, 32),
    ...(handle ? { handle } : {}),
  };
}
