import { parseCniImage, type Version } from './version.ts';

/**
 * What we know about CNI plugins, for the seed's checklist ("Compatibility with custom
 * Kubernetes network plugins"): does the vendor attach eBPF tc classifiers on pod-facing
 * interfaces, what does it return after allowing a packet, at which priority.
 *
 * Every claim carries its source. `verified: false` marks a claim we could not confirm in
 * the sources; decide.ts never concludes "fine" from an unverified claim (it reports
 * "unknown" instead) — observations on the nodes (`tc filter show`) always win over this table.
 */

export type CniVendorId =
  'cilium' | 'gke-dataplane-v2' | 'calico' | 'canal' | 'antrea' | 'weave' | 'flannel' | 'kube-router' | 'aws-vpc-cni' | 'azure-cni' | 'kindnet';

export type TcAction = 'TC_ACT_OK' | 'TC_ACT_UNSPEC' | 'unknown';

export interface Claim<T> {
  value: T;
  /** For `depends`: when it applies. */
  condition?: string;
  source: string;
  verified: boolean;
}

export interface CniVendor {
  id: CniVendorId;
  name: string;
  /** kube-system DaemonSet names (exact). */
  daemonSets: string[];
  /** Image repositories (matched against the part before the tag). */
  images: RegExp[];
  /** Names of the vendor's programs as printed by `tc filter show`, to tell them from others. */
  filterNames?: RegExp;
  usesEbpfTc: Claim<'yes' | 'no' | 'depends' | 'unknown'>;
  tcAction: Claim<TcAction>;
  defaultPriority: Claim<number | 'unknown'>;
  /** The vendor's own knob to move its classifiers. */
  priorityOption?: Claim<string>;
  notes?: string[];
}

const DD_PR_13692 =
  'DataDog/datadog-agent PR #13692 / #13762 (7.39 backport): "Cilium is currently configured to own Filter 1 and Handle 0x1 on the host side of every lxc veth pair"; "network detections from CWS will no longer work inside containers managed by Cilium"';

const CILIUM_BASE = {
  filterNames: /cil_|bpf_lxc|from-container|to-container|bpf_host/,
  usesEbpfTc: {
    value: 'yes',
    source: `${DD_PR_13692}; cilium/cilium issue #21345 (tc filter show output on lxc interfaces)`,
    verified: true,
  },
  tcAction: {
    value: 'TC_ACT_OK',
    source:
      'cilium bpf/include/bpf/ctx/skb.h: "#define CTX_ACT_OK TC_ACT_OK" (also TC_ACT_REDIRECT); edgelesssys/constellation PR #2664: "the Cilium eBPF programs don\'t return to the filter chain"',
    verified: true,
  },
  defaultPriority: {
    value: 1,
    source:
      'cilium/cilium PR #18896 ("hardcoded priority of 1 … The default is 1, for backward compatibility"); cilium option table: bpf-filter-priority Int default 1',
    verified: true,
  },
  priorityOption: {
    value: 'bpf-filter-priority (cilium-config / --bpf-filter-priority; added by cilium/cilium PR #18896, 2022)',
    source: 'cilium/cilium PR #18896; pkg/option/config.go TCFilterPriority = "bpf-filter-priority"',
    verified: true,
  },
  notes: [
    'Cilium 1.16+ attaches with tcx on kernels ≥ 6.6 when it can (enable-tcx); tcx programs are not listed by `tc filter show` and run before all netlink tc filters (cilium/cilium PR #31553 "TCX will be released with 1.16"; Grafana Beyla docs "Cilium compatibility").',
  ],
} satisfies Partial<CniVendor>;

const UNVERIFIED_NO = (why: string): Claim<'no'> => ({
  value: 'no',
  source: `${why}; absence of eBPF tc classifiers on pod interfaces not confirmed`,
  verified: false,
});
const UNKNOWN_ACTION: Claim<TcAction> = { value: 'unknown', source: 'not found in the sources', verified: false };
const UNKNOWN_PRIORITY: Claim<'unknown'> = { value: 'unknown', source: 'not found in the sources', verified: false };

export const CNI_VENDORS: readonly CniVendor[] = [
  {
    id: 'cilium',
    name: 'Cilium',
    daemonSets: ['cilium'],
    images: [/(^|\/)cilium\/cilium$/],
    ...CILIUM_BASE,
  },
  {
    id: 'gke-dataplane-v2',
    name: 'GKE Dataplane V2 (Cilium)',
    daemonSets: ['anetd'],
    images: [/^gke\.gcr\.io\/cilium\/cilium$/],
    ...CILIUM_BASE,
    defaultPriority: {
      value: 1,
      source: "Cilium's default (GKE runs Cilium as DaemonSet anetd: shared/reference/datadog-agent.md); GKE's own bpf-filter-priority setting not checked",
      verified: false,
    },
  },
  {
    id: 'calico',
    name: 'Calico',
    daemonSets: ['calico-node'],
    images: [/(^|\/)calico\/node$/],
    filterNames: /cali|calico/,
    usesEbpfTc: {
      value: 'depends',
      condition:
        'only with the eBPF dataplane (FelixConfiguration bpfEnabled / Installation linuxDataplane: BPF); the iptables and nftables dataplanes attach no tc programs',
      source:
        'projectcalico/calico felix/bpf/tc/attach.go (tc programs on cali* interfaces belong to the BPF dataplane); felix/CLAUDE.md lists BPF, iptables, nftables dataplanes',
      verified: true,
    },
    tcAction: UNKNOWN_ACTION,
    defaultPriority: {
      value: 49152,
      condition: 'kernel-assigned when Calico is the first to attach; it reuses the highest existing calico pref otherwise',
      source:
        'projectcalico/calico felix/bpf/tc/attach.go: example "filter protocol all pref 49152 bpf chain 0 handle 0x1 … calico_from_hos…", findFilterPriority() (0 → kernel picks)',
      verified: true,
    },
  },
  {
    id: 'canal',
    name: 'Canal (Calico policy + Flannel)',
    daemonSets: ['canal'],
    images: [],
    filterNames: /cali|calico/,
    usesEbpfTc: {
      value: 'unknown',
      source: 'Calico felix runs inside canal; whether its eBPF dataplane can be enabled there was not checked',
      verified: false,
    },
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'antrea',
    name: 'Antrea',
    daemonSets: ['antrea-agent'],
    images: [/(^|\/)antrea\/antrea-(agent-)?(ubuntu|ubi)$/],
    usesEbpfTc: UNVERIFIED_NO('antrea docs/architecture.md: "Antrea leverages Open vSwitch as the networking data plane"'),
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'weave',
    name: 'Weave Net',
    daemonSets: ['weave-net'],
    images: [/(^|\/)weaveworks\/weave-kube$/],
    usesEbpfTc: UNVERIFIED_NO('Weave fast datapath uses the Open vSwitch kernel datapath (not checked in the sources)'),
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'flannel',
    name: 'Flannel',
    daemonSets: ['kube-flannel-ds', 'kube-flannel-ds-amd64', 'kube-flannel-ds-arm64', 'flannel'],
    images: [/(^|\/)(flannel|flannelcni|coreos)\/flannel$/, /(^|\/)flannel-io\/flannel$/],
    usesEbpfTc: UNVERIFIED_NO('Flannel backends are vxlan/host-gw/wireguard/udp (not checked in the sources)'),
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'kube-router',
    name: 'kube-router',
    daemonSets: ['kube-router'],
    images: [/(^|\/)cloudnativelabs\/kube-router$/],
    usesEbpfTc: UNVERIFIED_NO('kube-router uses iptables/ipset and IPVS (not checked in the sources)'),
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'aws-vpc-cni',
    name: 'AWS VPC CNI',
    daemonSets: ['aws-node'],
    images: [/(^|\/)amazon-k8s-cni$/],
    usesEbpfTc: {
      value: 'depends',
      condition: 'only when network policy enforcement is on (aws-network-policy-agent, VPC CNI ≥ 1.14.0)',
      source:
        'aws/aws-network-policy-agent README: "enforces them via eBPF probes attached to pod\'s host Veth interface"; "Starting with Amazon VPC CNI v1.14.0, Network Policy agent will be automatically installed"',
      verified: true,
    },
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'azure-cni',
    name: 'Azure CNI',
    daemonSets: ['azure-cns', 'azure-cni'],
    images: [/(^|\/)containernetworking\/(azure-cns|azure-cni)$/],
    usesEbpfTc: UNVERIFIED_NO('Azure CNI without Cilium (Azure CNI powered by Cilium runs the cilium DaemonSet, detected as Cilium)'),
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
  {
    id: 'kindnet',
    name: 'kindnet',
    daemonSets: ['kindnet'],
    images: [/(^|\/)kindest\/kindnetd$/],
    usesEbpfTc: UNVERIFIED_NO('kindnet (kind) programs routes and iptables/nftables (not checked in the sources)'),
    tcAction: UNKNOWN_ACTION,
    defaultPriority: UNKNOWN_PRIORITY,
  },
];

export function cniVendor(id: CniVendorId, table: readonly CniVendor[] = CNI_VENDORS): CniVendor {
  const found = table.find((x) => x.id === id);
  if (!found) throw new Error(`no CNI vendor ${id} in the table`);
  return found;
}

/** A kube-system DaemonSet as netcheck needs it (names only, no Kubernetes types). */
export interface DaemonSetSummary {
  name: string;
  namespace?: string;
  /** Images of all containers (init containers may be included; they are ignored when the vendor image matches). */
  images: string[];
}

export interface DetectedCni {
  vendor: CniVendorId;
  daemonSet: string;
  image?: string;
  version?: Version;
  versionHow: string;
  matchedBy: 'daemonset-name' | 'image';
}

export type CniFact =
  | { status: 'detected'; vendor: CniVendorId; version?: Version; versionHow: string; daemonSet: string; image?: string; others: CniVendorId[] }
  | { status: 'none'; reason: string }
  | { status: 'unknown'; reason: string };

/**
 * Which CNI runs, from the DaemonSets of kube-system (and kube-flannel). A DaemonSet name match
 * wins over an image match (`anetd` runs a `cilium/cilium` image but is GKE Dataplane V2).
 * When several match (Cilium chained on AWS VPC CNI), the one that matters for tc comes first:
 * the order of `CNI_VENDORS`. No match → `unknown` (an unrecognised CNI may be there), never "none".
 */
export function detectCni(daemonSets: readonly DaemonSetSummary[], table: readonly CniVendor[] = CNI_VENDORS): CniFact {
  const found: DetectedCni[] = [];
  for (const ds of daemonSets) {
    const byName = table.find((x) => x.daemonSets.includes(ds.name));
    const byImage = byName ? undefined : table.find((x) => ds.images.some((img) => matchesImage(x, img)));
    const vendor = byName ?? byImage;
    if (!vendor) continue;
    const image = ds.images.find((img) => matchesImage(vendor, img)) ?? (vendor.images.length ? undefined : ds.images[0]);
    const reading = image ? parseCniImage(image) : undefined;
    const d: DetectedCni = {
      vendor: vendor.id,
      daemonSet: ds.namespace ? `${ds.namespace}/${ds.name}` : ds.name,
      versionHow: reading ? reading.how : 'no vendor image in the DaemonSet: version unknown',
      matchedBy: byName ? 'daemonset-name' : 'image',
    };
    if (image) d.image = image;
    if (reading?.version) d.version = reading.version;
    found.push(d);
  }
  if (found.length === 0) {
    const names = daemonSets.map((d) => d.name).join(', ') || 'none';
    return { status: 'unknown', reason: `no known CNI DaemonSet (DaemonSets seen: ${names})` };
  }
  const rank = (id: CniVendorId) => table.findIndex((x) => x.id === id);
  found.sort((a, b) => rank(a.vendor) - rank(b.vendor));
  const first = found[0]!;
  const fact: CniFact = {
    status: 'detected',
    vendor: first.vendor,
    versionHow: first.versionHow,
    daemonSet: first.daemonSet,
    others: [...new Set(found.slice(1).map((d) => d.vendor))].filter((id) => id !== first.vendor),
  };
  if (first.version) fact.version = first.version;
  if (first.image) fact.image = first.image;
  return fact;
}

function matchesImage(vendor: CniVendor, image: string): boolean {
  const repo = image
    .trim()
    .replace(/@.*$/, '')
    .replace(/:[^/:]*$/, '');
  const path = repo.replace(/^[^/]+\.[^/]+\//, '').replace(/^localhost(:\d+)?\//, ''); // strip registry host
  return vendor.images.some((re) => re.test(repo) || re.test(path));
}
