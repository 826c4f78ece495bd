import { CNI_VENDORS, type CniFact, type CniVendor, type TcAction } from './cni.ts';
import type { ConfigValue, EffectiveCwsConfig } from './config.ts';
import { type Finding, type NetcheckDecision, type RemediationCode, type Verdict, orderRemediations, worst } from './findings.ts';

export type { Finding, FindingCode, NetcheckDecision, RemediationCode, Severity, Verdict } from './findings.ts';
import { isDatadogClassifier, type TcFilter } from './tc.ts';
import { compareVersions, formatVersion, releaseLine, v, type Version } from './version.ts';

/**
 * The seed's decision table ("Compatibility with custom Kubernetes network plugins") as a pure
 * function. Rows, in order:
 *  - network detections disabled → ok, stop;  CWS disabled → ok, stop;
 *  - vendor attaches no eBPF tc classifier → ok;  vendor returns TC_ACT_UNSPEC → ok;
 *  - vendor priority 1 → broken (detections do not work inside containers);
 *  - 2–10 → action_required unless classifier_priority < vendor's (suggest vendor − 1);  ≥ 11 → ok;
 *  - Cilium ≤ 1.9 × Agent 7.36.0 … 7.39.1 → broken, known connectivity race.
 * The vendor's priority comes from the nodes' `tc filter show` (pod-facing interfaces, ingress)
 * when available, else from the vendor table (verified claims only). Missing facts give
 * `unknown` with a finding that names them; a known problem still outranks them.
 *
 * Pre-releases: the race range is [7.36.0, 7.39.2) with the lower bound taken on the release
 * line (7.36.0-rc.1 counts as 7.36) and the upper bound by SemVer precedence (7.39.2-rc.1 <
 * 7.39.2 counts as affected): rc builds at either edge are treated as affected. 7.40.0-rc.1 is
 * after 7.39.2, so not affected.
 */

export type NodeTcFact =
  /** Pod-facing interfaces of the node with their ingress filters. */
  | { node: string; interfaces: readonly { name: string; filters: readonly TcFilter[] }[] }
  /** tc could not be read on that node. */
  | { node: string; error: string };

export interface NetcheckFacts {
  agentVersion: Version | undefined;
  config: EffectiveCwsConfig;
  cni: CniFact;
  /** undefined: tc was not gathered at all. */
  nodes: readonly NodeTcFact[] | undefined;
}

const RACE_FROM = v('7.36.0');
const RACE_FIXED = v('7.39.2');
const CILIUM_LIKE = new Set(['cilium', 'gke-dataplane-v2']);

interface Eval {
  verdict: Verdict;
  finding: Finding;
  remediation?: RemediationCode;
  suggest?: number;
  vendorPriority?: number;
  cws?: string;
  who?: string;
  /** The same evaluation described for several nodes at once. */
  summarise?: (where: string) => Eval;
}

export function decide(facts: NetcheckFacts, table: readonly CniVendor[] = CNI_VENDORS): NetcheckDecision {
  const { config, agentVersion: agent, cni } = facts;
  const findings: Finding[] = [];
  const remediations = new Set<RemediationCode>();
  const verdicts: Verdict[] = [];
  let conditional = false; // problems depend on a setting we could not read

  const conflictOn = (s: string) => config.conflicts.filter((c) => c.setting === s);
  for (const c of config.conflicts) findings.push({ code: 'config_conflict', severity: 'warning', message: c.message });
  // Which value the agent applies depends on its version, which is unknown: problems are conditional.
  if (config.conflicts.length) conditional = true;
  for (const c of config.shadowed ?? []) findings.push({ code: 'config_shadowed', severity: 'warning', message: c.message });

  // The agent refuses these handles before anything else (pkg/security/probe/config/config.go, Config.sanitize):
  // CWS does not start at all, whatever the CNI does.
  const refused = handlesRefused(config);
  if (refused && config.cwsEnabled.value !== false)
    return {
      verdict: 'broken',
      findings: [...findings, { code: 'classifier_handles_refused', severity: 'critical', message: refused }],
      remediations: [],
    };

  const net = config.networkEnabled;
  if (net.value === false && conflictOn('network.enabled').length === 0) {
    return stop(findings, {
      code: 'network_disabled',
      severity: 'info',
      message: `CWS network detections are already disabled (network.enabled: false, ${net.origin}${net.key ? ` ${net.key}` : ''}): the CNI checklist does not apply.`,
    });
  }
  const cws = config.cwsEnabled;
  if (cws.value === false) {
    return stop(findings, {
      code: 'cws_disabled',
      severity: 'info',
      message: `Cloud Workload Security is disabled (runtime_security_config.enabled: false, ${cws.origin}): no tc classifiers, nothing to check.`,
    });
  }
  if (cws.value === undefined) {
    conditional = true;
    findings.push({
      code: 'unknown_cws_enabled',
      severity: 'warning',
      message: `Unknown whether CWS is enabled (${cws.note ?? cws.origin}); the findings below assume it is.`,
    });
  }
  if (net.value !== true) {
    conditional = true;
    findings.push({
      code: 'unknown_network_enabled',
      severity: 'warning',
      message: `Unknown whether CWS network detections are enabled (${net.value === false ? 'env and file disagree' : (net.note ?? net.origin)}); the findings below assume they are.`,
    });
  }
  if (!agent)
    findings.push({
      code: 'unknown_agent_version',
      severity: 'warning',
      message: 'Agent version unknown (no readable image tag): the 7.36–7.39.1 race and the classifier priority default cannot be checked.',
    });

  const vendor = cni.status === 'detected' ? table.find((x) => x.id === cni.vendor) : undefined;
  const vname = vendor?.name ?? 'the CNI plugin';
  if (cni.status === 'unknown') findings.push({ code: 'unknown_cni', severity: 'warning', message: `CNI plugin unknown: ${cni.reason}.` });

  // Known race: Cilium ≤ 1.9 × Agent 7.36 … 7.39.1
  if (cni.status === 'detected' && CILIUM_LIKE.has(cni.vendor)) {
    const oldCilium = cni.version ? cni.version.major < 1 || (cni.version.major === 1 && cni.version.minor <= 9) : undefined;
    const raceAgent = agent ? compareVersions(releaseLine(agent), RACE_FROM) >= 0 && compareVersions(agent, RACE_FIXED) < 0 : undefined;
    if (oldCilium === true && raceAgent === true) {
      verdicts.push('broken');
      remediations.add('upgrade_agent').add('disable_network_detections');
      findings.push({
        code: 'cilium_race',
        severity: 'critical',
        message: `Known race: ${vname} ${formatVersion(cni.version!)} (1.9 or lower) with Agent ${formatVersion(agent!)} (7.36 to 7.39.1) may cut a new pod's connectivity when it starts. Upgrade the agent to 7.39.2 or later, or disable network detections.`,
      });
    } else if (oldCilium === undefined && raceAgent !== false) {
      verdicts.push('unknown');
      findings.push({
        code: 'unknown_cni_version',
        severity: 'warning',
        message: `${vname} version unknown (${cni.versionHow}): the known race of Cilium 1.9 and lower with Agent 7.36 to 7.39.1 cannot be ruled out.`,
      });
    } else if (oldCilium === true && raceAgent === undefined) {
      verdicts.push('unknown');
    }
  }

  // Classifier priorities, per node
  const cwsFromConfig = conflictOn('network.classifier_priority').length ? undefined : config.classifierPriority;
  const evals: { node?: string; e: Eval }[] = [];
  const nodesOk = (facts.nodes ?? []).filter((n): n is Extract<NodeTcFact, { interfaces: unknown }> => 'interfaces' in n);
  for (const n of facts.nodes ?? [])
    if ('error' in n)
      findings.push({ code: 'unknown_tc', severity: 'warning', node: n.node, message: `tc filters could not be read on ${n.node}: ${n.error}` });

  if (nodesOk.length === 0) {
    evals.push({
      e: fromTable(cni, vendor, cwsFromConfig, facts.nodes === undefined ? 'tc filters were not gathered' : 'tc filters could not be read on any node'),
    });
  } else {
    for (const n of nodesOk) {
      const pod = n.interfaces;
      if (pod.length === 0) {
        findings.push({
          code: 'no_pod_interfaces',
          severity: 'info',
          node: n.node,
          message: `No pod-facing interface on ${n.node}: nothing to compare there.`,
        });
        continue;
      }
      const all = pod.flatMap((i) => i.filters.filter((f) => f.kind === 'bpf').map((f) => ({ iface: i.name, f })));
      const ours = all.filter((x) => isDatadogClassifier(x.f));
      const foreign = all.filter((x) => !isDatadogClassifier(x.f));
      if (foreign.length === 0) {
        if (vendor?.usesEbpfTc.value === 'yes') {
          evals.push({
            node: n.node,
            e: {
              verdict: 'unknown',
              finding: {
                code: 'vendor_filters_not_visible',
                severity: 'warning',
                message: `No ${vname} classifier in \`tc filter show\` on ${pod.length} pod interface(s) (e.g. ${pod[0]!.name}): ${vname} may attach with tcx (Cilium 1.16+ on kernel ≥ 6.6), which tc does not list and which runs before every tc filter.`,
              },
            },
          });
        } else {
          evals.push({
            node: n.node,
            e: {
              verdict: 'ok',
              finding: {
                code: 'no_ebpf_cni',
                severity: 'info',
                message: `No eBPF tc classifier from ${vname} on the pod interfaces (observed with tc): nothing to do.`,
              },
            },
          });
        }
        continue;
      }
      const p = Math.min(...foreign.map((x) => x.f.pref));
      const atP = foreign.filter((x) => x.f.pref === p);
      const attributed = vendor?.filterNames ? atP.every((x) => vendor.filterNames!.test(`${x.f.name ?? ''} ${x.f.progName ?? ''}`)) : false;
      const action: TcAction = attributed && vendor!.tcAction.verified ? vendor!.tcAction.value : 'unknown';
      const who = attributed ? vname : `${atP[0]!.f.name ?? 'an unnamed bpf program'}${vendor ? ` (not recognised as ${vname})` : ''}`;
      const cwsObserved = ours.length ? Math.min(...ours.map((x) => x.f.pref)) : undefined;
      const cwsPref =
        cwsObserved !== undefined
          ? { value: cwsObserved, from: 'observed with tc' }
          : cwsFromConfig?.value !== undefined
            ? { value: cwsFromConfig.value, from: cwsFromConfig.origin }
            : undefined;
      const knob = attributed ? knobOf(vendor) : undefined;
      const e = evaluate(p, action, cwsPref, who, `observed with tc on ${n.node}, e.g. ${atP[0]!.iface}`, knob);
      e.summarise = (where) => evaluate(p, action, cwsPref, who, where, knob);
      evals.push({ node: n.node, e });
    }
    // Nothing observed on any node (no pod-facing interface): fall back to what is known of the vendor.
    if (evals.length === 0) evals.push({ e: fromTable(cni, vendor, cwsFromConfig, 'no pod-facing interface to observe on any node') });
  }

  // Aggregate: one finding when all nodes agree, per-node findings when they differ
  const keyOf = (e: Eval) => `${e.finding.code}|${e.vendorPriority ?? ''}|${e.verdict}|${e.cws ?? ''}|${e.who ?? ''}`;
  const distinct = new Set(evals.map((x) => keyOf(x.e)));
  const prios = new Set(evals.map((x) => x.e.vendorPriority).filter((p) => p !== undefined));
  if (prios.size > 1)
    findings.push({
      code: 'priority_differs',
      severity: 'warning',
      message: `Nodes disagree on the vendor's classifier priority (${[...prios].sort((a, b) => a - b).join(', ')}): see each node.`,
    });
  if (distinct.size === 1 && evals.length > 0) {
    const first = evals[0]!;
    const nodes = evals.filter((x) => x.node).length;
    if (nodes <= 1) findings.push({ ...first.e.finding, ...(first.node ? { node: first.node } : {}) });
    else findings.push((first.e.summarise?.(`observed with tc on all ${nodes} nodes`) ?? first.e).finding);
  } else {
    for (const x of evals) findings.push({ ...x.e.finding, ...(x.node ? { node: x.node } : {}) });
  }

  for (const x of evals) {
    verdicts.push(x.e.verdict);
    if (x.e.remediation) remediations.add(x.e.remediation);
  }
  const suggestions = evals.map((x) => x.e.suggest).filter((s): s is number => s !== undefined);

  if (agent && compareVersions(agent, RACE_FIXED) < 0 && evals.some((x) => x.e.vendorPriority === 1) && !findings.some((f) => f.code === 'cilium_race')) {
    remediations.add('upgrade_agent');
    findings.push({
      code: 'upgrade_hint',
      severity: 'info',
      message: `Agent ${formatVersion(agent)} attaches its own classifiers at priority 1 too (classifier_priority exists since 7.39.2): upgrade to 7.39.2 or later so they stop competing for priority 1.`,
    });
  }

  // The remediation patches env; where the agent reads the setting from system-probe.yaml first, it would not take.
  for (const [code, value, setting] of [
    ['set_classifier_priority', config.classifierPriority, 'network.classifier_priority'],
    ['disable_network_detections', config.networkEnabled, 'network.enabled'],
  ] as const) {
    if (!remediations.has(code) || config.layout === 'legacy' || value.key !== `runtime_security_config.${setting}`) continue;
    remediations.delete(code);
    findings.push({
      code: 'remediation_needs_file',
      severity: 'warning',
      message: `${value.key} is set in system-probe.yaml (${value.origin}); agents from 7.44 read this deprecated key before every env var, so an env patch would not take: change (or remove) it in system-probe.yaml${
        config.layout === 'unknown' ? ' (the agent version is unknown; older agents let env win)' : ''
      }, preferably as event_monitoring_config.${setting}.`,
    });
  }

  let verdict = worst(verdicts);
  if (conditional && (verdict === 'broken' || verdict === 'action_required')) verdict = 'unknown';
  const out: NetcheckDecision = { verdict, findings, remediations: orderRemediations(remediations) };
  if (suggestions.length) out.suggestedPriority = Math.min(...suggestions);
  return out;
}

/**
 * The agent's own check of its classifier handles, when raw packets are enabled (Config.sanitize in
 * pkg/security/probe/config/config.go): different handles need both set; equal ones must be 0.
 * Undefined when it accepts them (or a value is unknown).
 */
export function handlesRefused(config: EffectiveCwsConfig): string | undefined {
  const h = config.classifierHandle?.value;
  const raw = config.rawClassifierHandle?.value;
  if (h === undefined || raw === undefined || config.rawPacketEnabled?.value !== true) return undefined;
  const where = `classifier_handle ${h} (${config.classifierHandle.key ?? config.classifierHandle.origin}), raw_classifier_handle ${raw} (${config.rawClassifierHandle.key ?? config.rawClassifierHandle.origin})`;
  if (h !== raw && h * raw === 0)
    return `system-probe refuses its configuration: "none or both of network.classifier_handle and network.raw_classifier_handle must be provided" (${where}, raw packets enabled); CWS does not start. Set both, to different values, or neither.`;
  if (h === raw && h !== 0)
    return `system-probe refuses its configuration: "network.classifier_handle and network.raw_classifier_handle can't be equal and not null" (${where}, raw packets enabled); CWS does not start. Give them different values, or remove both.`;
  return undefined;
}

function stop(findings: Finding[], f: Finding): NetcheckDecision {
  return { verdict: 'ok', findings: [...findings, f], remediations: [] };
}

/** One node (or the vendor default): priority rows of the seed. */
function evaluate(p: number, action: TcAction, cwsPref: { value: number; from: string } | undefined, who: string, where: string, knob?: string): Eval {
  return { ...rows(p, action, cwsPref, who, where, knob), cws: cwsPref ? `${cwsPref.value} ${cwsPref.from}` : '', who };
}

function rows(p: number, action: TcAction, cwsPref: { value: number; from: string } | undefined, who: string, where: string, knob: string | undefined): Eval {
  const at = `${who} attaches its eBPF classifiers at priority ${p} (${where})`;
  if (action === 'TC_ACT_UNSPEC')
    return {
      verdict: 'ok',
      vendorPriority: p,
      finding: {
        code: 'cni_tc_act_unspec',
        severity: 'info',
        message: `${at} and returns TC_ACT_UNSPEC after granting access to a packet: the CWS classifiers still run, nothing to do.`,
      },
    };
  if (p >= 11)
    return { verdict: 'ok', vendorPriority: p, finding: { code: 'priority_ok', severity: 'info', message: `${at}: priority 11 or higher, nothing to do.` } };
  if (action === 'unknown')
    return {
      verdict: 'unknown',
      vendorPriority: p,
      finding: {
        code: 'unknown_tc_action',
        severity: 'warning',
        message: `${at}; whether it returns TC_ACT_OK or TC_ACT_UNSPEC is unknown. With TC_ACT_OK, ${p === 1 ? 'CWS network detections do not work inside your containers' : `classifier_priority must be strictly below ${p}`}.`,
      },
    };
  if (p <= 1)
    return {
      verdict: 'broken',
      vendorPriority: p,
      remediation: 'disable_network_detections',
      finding: {
        code: 'priority_conflict_1',
        severity: 'critical',
        message: `${at}: CWS network detections do not work inside your containers. Disable network detections, or move the vendor's classifiers off priority 1${knob ? ` (${knob})` : ''}.`,
      },
    };
  if (!cwsPref || cwsPref.value === 0)
    return {
      verdict: 'unknown',
      vendorPriority: p,
      finding: {
        code: 'unknown_classifier_priority',
        severity: 'warning',
        message: `${at}; the CWS classifier priority is unknown${cwsPref ? ' (0: chosen by ebpf-manager)' : ''}, so whether it is strictly below ${p} cannot be told.`,
      },
    };
  if (cwsPref.value < p)
    return {
      verdict: 'ok',
      vendorPriority: p,
      finding: {
        code: 'priority_ok',
        severity: 'info',
        message: `${at}; CWS uses ${cwsPref.value} (${cwsPref.from}), strictly below: CWS classifiers run first.`,
      },
    };
  return {
    verdict: 'action_required',
    vendorPriority: p,
    remediation: 'set_classifier_priority',
    suggest: p - 1,
    finding: {
      code: 'priority_must_be_below',
      severity: 'warning',
      message: `${at}; runtime_security_config.network.classifier_priority is ${cwsPref.value} (${cwsPref.from}) but must be strictly below ${p}: set it to ${p - 1}.`,
    },
  };
}

/** No tc observation: the vendor table decides, from verified claims only. */
function fromTable(cni: CniFact, vendor: CniVendor | undefined, cwsPriority: ConfigValue<number> | undefined, why: string): Eval {
  const unknown = (message: string): Eval => ({ verdict: 'unknown', finding: { code: 'unknown_tc', severity: 'warning', message } });
  if (cni.status === 'none')
    return {
      verdict: 'ok',
      finding: { code: 'no_ebpf_cni', severity: 'info', message: `No CNI plugin (${cni.reason}): no vendor eBPF classifiers to conflict with.` },
    };
  if (!vendor) return unknown(`${why} and the CNI plugin is unknown: the vendor's classifier priority is unknown.`);
  const uses = vendor.usesEbpfTc;
  if (uses.value === 'no' && uses.verified)
    return {
      verdict: 'ok',
      finding: {
        code: 'no_ebpf_cni',
        severity: 'info',
        message: `${vendor.name} does not use eBPF traffic control classifiers (${uses.source}): nothing to do.`,
      },
    };
  if (uses.value !== 'yes' || !uses.verified)
    return unknown(
      `${why}; whether ${vendor.name} attaches eBPF tc classifiers ${uses.value === 'depends' ? `depends: ${uses.condition}` : `is not established (${uses.value}, unverified)`}.`,
    );
  const prio = vendor.defaultPriority;
  if (typeof prio.value !== 'number' || !prio.verified) return unknown(`${why} and ${vendor.name}'s default classifier priority is not known.`);
  const action: TcAction = vendor.tcAction.verified ? vendor.tcAction.value : 'unknown';
  const cws = cwsPriority?.value !== undefined ? { value: cwsPriority.value, from: cwsPriority.origin } : undefined;
  return evaluate(prio.value, action, cws, vendor.name, `vendor default; ${why}`, knobOf(vendor));
}

const knobOf = (vendor: CniVendor | undefined) =>
  vendor?.priorityOption?.verified ? `${vendor.name} option ${vendor.priorityOption.value.split(' ')[0]}` : undefined;
