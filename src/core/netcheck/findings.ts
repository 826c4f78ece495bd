/**
 * Verdicts, finding codes and remediation codes of `/cws netcheck` (a contract: they travel in
 * the `cws_netcheck_result` metadata), and how verdicts combine.
 */

export type Verdict = 'ok' | 'action_required' | 'broken' | 'unknown';
export type Severity = 'info' | 'warning' | 'critical';
export type RemediationCode = 'set_classifier_priority' | 'disable_network_detections' | 'disable_cws' | 'upgrade_agent';

export type FindingCode =
  | 'network_disabled'
  | 'cws_disabled'
  | 'no_ebpf_cni'
  | 'cni_tc_act_unspec'
  | 'priority_conflict_1'
  | 'priority_must_be_below'
  | 'priority_ok'
  | 'priority_differs'
  | 'cilium_race'
  | 'upgrade_hint'
  | 'vendor_filters_not_visible'
  | 'no_pod_interfaces'
  | 'config_conflict'
  | 'unknown_agent_version'
  | 'unknown_cni'
  | 'unknown_cni_version'
  | 'unknown_tc'
  | 'unknown_tc_action'
  | 'unknown_cws_enabled'
  | 'unknown_network_enabled'
  | 'unknown_classifier_priority'
  /** The agent refuses its network classifier handles (equal and not 0, or only one set): CWS does not start. */
  | 'classifier_handles_refused'
  /** An env var the agent ignores: another source of the same setting wins (see config.ts). */
  | 'config_shadowed'
  /** A remediation by env would not take: the agent reads the setting from system-probe.yaml first. */
  | 'remediation_needs_file';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  node?: string;
  message: string;
}

export interface NetcheckDecision {
  verdict: Verdict;
  findings: Finding[];
  remediations: RemediationCode[];
  /** For `set_classifier_priority`: the vendor's lowest priority on any node, minus one. */
  suggestedPriority?: number;
}

/** Known problems outrank missing facts; missing facts outrank "fine". */
const RANK: Record<Verdict, number> = { ok: 0, unknown: 1, action_required: 2, broken: 3 };

export function worst(verdicts: Iterable<Verdict>): Verdict {
  let w: Verdict = 'ok';
  for (const v of verdicts) if (RANK[v] > RANK[w]) w = v;
  return w;
}

/** Remediations in the order the report offers them. */
export const REMEDIATION_ORDER: readonly RemediationCode[] = ['set_classifier_priority', 'disable_network_detections', 'upgrade_agent', 'disable_cws'];

export function orderRemediations(codes: Iterable<RemediationCode>): RemediationCode[] {
  const set = new Set(codes);
  return REMEDIATION_ORDER.filter((c) => set.has(c));
}
