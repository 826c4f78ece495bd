/**
 * Parsers for what the worker reads on a node (pure): `tc filter show dev IFACE ingress`
 * and `/proc/net/dev`.
 *
 * tc output forms handled (iproute2, one line per filter, continuation lines indented):
 *   filter protocol all pref 1 bpf chain 0
 *   filter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited
 *   filter protocol all pref 1 bpf handle 0x1 bpf_lxc.o:[from-container] direct-action not_in_hw id 4481 tag 18a10b547e2fa35f jited   (older, no chain)
 *   filter parent ffff:fff2 protocol all pref 49152 bpf chain 0 handle 0x1 calico_from_hos:[61] direct-action …
 *   filter protocol all pref 10 bpf chain 0 handle 0x2 classifier_ingress_security380_4026531992_2115 direct-action … id 4491 name classifier_ingr tag … jited
 * The first form (no handle) is the per-priority header iproute2 prints before the filters of
 * that priority; it yields a filter only when no handle line follows for the same pref.
 * Empty output means no classifier on the hook.
 */

export interface TcFilter {
  pref: number;
  protocol: string;
  /** Classifier kind: `bpf`, `u32`, `flower`, `matchall`, … */
  kind: string;
  /** bpf: the section/program name printed after the handle. */
  name?: string;
  /** bpf: the kernel's (15-char) program name printed as `name X` after the id (newer iproute2). */
  progName?: string;
  directAction: boolean;
  chain?: number;
  handle?: string;
  id?: number;
  tag?: string;
  parent?: string;
}

export type TcParse = { ok: true; filters: TcFilter[] } | { ok: false; error: string };

const BPF_KEYWORDS = new Set(['direct-action', 'da', 'not_in_hw', 'in_hw', 'skip_hw', 'skip_sw', 'jited', 'verbose']);

export function parseTcFilterShow(output: string): TcParse {
  const filters: TcFilter[] = [];
  const headers: TcFilter[] = [];
  const lines = output.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (!raw.trim()) continue;
    if (/^\s/.test(raw)) {
      // continuation of the previous filter (u32 `match …`, `action order 1: …`); ignorable
      if (filters.length === 0 && headers.length === 0) return { ok: false, error: `line ${i + 1}: indented line before any filter: ${clip(raw)}` };
      continue;
    }
    const parsed = parseFilterLine(raw);
    if (typeof parsed === 'string') return { ok: false, error: `line ${i + 1}: ${clip(parsed)}: ${clip(raw)}` };
    if (parsed.handle === undefined) headers.push(parsed);
    else filters.push(parsed);
  }
  for (const h of headers) {
    const covered = filters.some((f) => f.pref === h.pref && f.kind === h.kind && f.protocol === h.protocol && f.chain === h.chain);
    if (!covered) filters.push(h);
  }
  return { ok: true, filters };
}

function parseFilterLine(line: string): TcFilter | string {
  const t = line.trim().split(/\s+/);
  if (t[0] !== 'filter') return 'not a tc filter line';
  let i = 1;
  let parent: string | undefined;
  let protocol: string | undefined;
  let pref: number | undefined;
  while (i < t.length && pref === undefined) {
    const k = t[i]!;
    const val = t[i + 1];
    if (k === 'parent' && val) ((parent = val), (i += 2));
    else if (k === 'protocol' && val) ((protocol = val), (i += 2));
    else if ((k === 'pref' || k === 'prio' || k === 'priority') && val) {
      pref = uint(val, 0xffff); // tc priorities are 16 bits
      if (pref === undefined) return `bad priority "${val}"`;
      i += 2;
    } else if (k === 'dev' && val) i += 2;
    else if (k === 'ingress' || k === 'egress' || k === 'block') i += k === 'block' ? 2 : 1;
    else return `unexpected "${k}" before the priority`;
  }
  if (pref === undefined) return 'no priority (pref)';
  const kind = t[i++];
  if (!kind || !/^[a-z_0-9]+$/.test(kind)) return 'no classifier kind after the priority';
  const f: TcFilter = { pref, protocol: protocol ?? 'all', kind, directAction: false };
  if (parent) f.parent = parent;
  while (i < t.length) {
    const k = t[i]!;
    const val = t[i + 1];
    if (k === 'chain' && val !== undefined) {
      const chain = uint(val, 0xffffffff);
      if (chain === undefined) return `bad chain "${val}"`;
      f.chain = chain;
      i += 2;
    } else if ((k === 'handle' || k === 'fh') && val !== undefined) {
      f.handle = val;
      i += 2;
      if (kind === 'bpf') break; // the rest is the bpf description
    } else {
      // non-bpf filters print kind-specific words (`ht divisor 1`, `flowid 1:1`); keep the line
      i++;
    }
  }
  if (kind !== 'bpf') return f;
  while (i < t.length) {
    const k = t[i]!;
    const val = t[i + 1];
    if (k === 'direct-action' || k === 'da') ((f.directAction = true), i++);
    else if (BPF_KEYWORDS.has(k)) i++;
    else if (k === 'id' && val !== undefined) {
      const id = uint(val, 0xffffffff);
      if (id === undefined) return `bad program id "${val}"`;
      f.id = id;
      i += 2;
    } else if (k === 'tag' && val !== undefined) ((f.tag = val), (i += 2));
    else if (k === 'name' && val !== undefined && f.id !== undefined) ((f.progName = val), (i += 2));
    else if ((k === 'flowid' || k === 'classid') && val !== undefined) i += 2;
    else if (f.name === undefined) ((f.name = k), i++);
    else i++;
  }
  return f;
}

/**
 * The Datadog agent's own CWS classifiers: programs `classifier_ingress` / `classifier_egress`
 * (pkg/security/ebpf/c …/hooks/network/tc.h, they return ACT_OK = TC_ACT_UNSPEC); ebpf-manager
 * names the filter after the program plus a UID, e.g. `classifier_ingress_security380_4026531992_2115`.
 */
export function isDatadogClassifier(f: TcFilter): boolean {
  return /^classifier_(ingress|egress|raw)/.test(f.name ?? '') || /^classifier_(ingr|egre|raw)/.test(f.progName ?? '');
}

// ---------------------------------------------------------------------------------------
// /proc/net/dev

export interface NetDev {
  name: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

export type NetDevParse = { ok: true; interfaces: NetDev[] } | { ok: false; error: string };

/**
 *   Inter-|   Receive                                                |  Transmit
 *    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
 *       lo:  123 …
 *   lxc9fc12c71903b: 123 …      (names of 15 characters leave no leading space; old kernels print `eth0:123`)
 */
export function parseProcNetDev(text: string): NetDevParse {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return { ok: false, error: 'empty /proc/net/dev' };
  if (!/^\s*Inter-\|/.test(lines[0]!) || !lines[1] || !/^\s*face\s*\|/.test(lines[1]))
    return { ok: false, error: `not /proc/net/dev (header is "${clip(lines[0]!)}")` };
  const interfaces: NetDev[] = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^\s*([^\s:]+):\s*(.*)$/.exec(lines[i]!);
    if (!m) return { ok: false, error: `line ${i + 1}: not "name: counters": ${clip(lines[i]!)}` };
    const nums = m[2]!.trim().split(/\s+/);
    if (nums.length !== 16 || !nums.every((n) => /^\d+$/.test(n))) return { ok: false, error: `line ${i + 1}: expected 16 counters for ${clip(m[1]!)}` };
    interfaces.push({ name: m[1]!, rxBytes: Number(nums[0]), rxPackets: Number(nums[1]), txBytes: Number(nums[8]), txPackets: Number(nums[9]) });
  }
  return { ok: true, interfaces };
}

/**
 * Pod-facing interfaces (the host end of a pod's veth pair), by name prefix:
 *   lxc*       Cilium / GKE Dataplane V2 (incl. lxc_health, Cilium's health endpoint)
 *   cali*      Calico, Canal
 *   vethwepl*  Weave Net (vethwe-bridge / vethwe-datapath are Weave's own plumbing: excluded)
 *   eni*       AWS VPC CNI
 *   azv*       Azure CNI
 *   gke*       GKE without Dataplane V2
 *   veth*      generic bridge/ptp plugins: Flannel, kindnet, kube-router, Docker
 * Antrea names the host interface after the pod (`<pod-name-prefix>-<hash>`), which no
 * prefix can tell from other interfaces: pass `extraPrefixes` when the worker knows better.
 * Everything else is ignored, notably the node's uplinks and the plugins' own devices:
 * lo, eth*, ens* enp* eno*, bond*, cilium_*, docker0, cni0, cbr0, flannel.*, tunl0,
 * vxlan.calico, kube-ipvs0, kube-bridge, weave, datapath, antrea-gw0, antrea-tun0,
 * genev_sys_*, ovs-system, nodelocaldns, dummy*, br-*.
 */
const POD_FACING: ReadonlyArray<[RegExp, string]> = [
  [/^lxc/, 'Cilium endpoint (lxc*)'],
  [/^cali/, 'Calico workload (cali*)'],
  [/^vethwepl/, 'Weave pod veth (vethwepl*)'],
  [/^eni[0-9a-f]/, 'AWS VPC CNI pod veth (eni*)'],
  [/^azv/, 'Azure CNI pod veth (azv*)'],
  [/^gke[0-9a-f]/, 'GKE pod veth (gke*)'],
  [/^veth/, 'generic pod veth (veth*)'],
];
const NEVER_POD_FACING =
  /^(lo|eth\d|ens|enp|eno|enx|em\d|bond|wlan|cilium_|docker\d|cni\d|cbr\d|flannel[.-]|tunl\d|vxlan[.-]|wireguard\.|kube-ipvs|kube-bridge|kube-dummy|weave$|datapath$|vethwe-|antrea-gw|antrea-tun|genev_sys|ovs-system|nodelocaldns|dummy|br-|virbr|ip6tnl|sit\d|gre|erspan)/;

export interface PodFacingPick {
  podFacing: { name: string; hint: string }[];
  ignored: string[];
}

export function pickPodFacingInterfaces(names: readonly string[], extraPrefixes: readonly string[] = []): PodFacingPick {
  const podFacing: PodFacingPick['podFacing'] = [];
  const ignored: string[] = [];
  for (const name of names) {
    const extra = extraPrefixes.find((p) => name.startsWith(p));
    if (extra) {
      podFacing.push({ name, hint: `configured prefix ${extra}*` });
      continue;
    }
    if (NEVER_POD_FACING.test(name)) {
      ignored.push(name);
      continue;
    }
    const hit = POD_FACING.find(([re]) => re.test(name));
    if (hit) podFacing.push({ name, hint: hit[1] });
    else ignored.push(name);
  }
  return { podFacing, ignored };
}

/** At most 120 UTF-16 units, never half of a surrogate pair: errors end up in Slack messages. */
const clip = (s: string) => (s.length > 120 ? `${s.slice(0, /[\ud800-\udbff]/.test(s[119]!) ? 119 : 120)}…` : s);

/** A decimal the kernel's field can hold (u16 priority, u32 chain and program ID); undefined otherwise. */
function uint(text: string, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}
