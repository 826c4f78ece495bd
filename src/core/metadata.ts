import { z } from 'zod';
import {
  AgentStatus,
  EnvSnapshot,
  type FlareResult,
  type NetcheckResult,
  type RemediateResult,
  type RestartAgentResult,
  type SelftestResult,
} from './results.ts';
import { type SelftestSummary, summarise } from './selftest/summary.ts';
import type { MessageMetadata } from './slack/message.ts';

/**
 * The message metadata of every final result (DESIGN.md "Machine-readable results"): one schema
 * and one builder each. Slack messages carry them, and `npx cws … --json` prints exactly them.
 * The contract (`src/contract/metadata.ts`) re-exports this module for other tools.
 */

export const SELFTEST_METADATA_EVENT = 'cws_selftest_result';
export const NETCHECK_METADATA_EVENT = 'cws_netcheck_result';
export const FLARE_METADATA_EVENT = 'cws_flare_result';
export const REMEDIATION_METADATA_EVENT = 'cws_remediation_result';
export const INCIDENT_METADATA_EVENT = 'cws_incident_update';
export const APPROVAL_METADATA_EVENT = 'cws_approval_request';

export const SelftestMetadataPayload = z.object({
  jobId: z.string(),
  cluster: z.string(),
  total: z.number().int(),
  ok: z.number().int(),
  failed: z.number().int(),
  error: z.string().optional(),
  results: z.array(z.object({ node: z.string(), pod: z.string(), status: AgentStatus, failedTests: z.array(z.string()), message: z.string() })),
});
export type SelftestMetadataPayload = z.infer<typeof SelftestMetadataPayload>;

export const NetcheckMetadataPayload = z.object({
  jobId: z.string(),
  cluster: z.string(),
  verdict: z.enum(['ok', 'action_required', 'broken', 'unknown']),
  agentVersion: z.string().nullable(),
  cni: z.object({ vendor: z.string().nullable(), version: z.string().nullable() }),
  findings: z.array(z.object({ code: z.string(), severity: z.enum(['info', 'warning', 'critical']), node: z.string().optional(), message: z.string() })),
  remediations: z.array(z.string()),
  suggestedPriority: z.number().int().optional(),
  error: z.string().optional(),
});
export type NetcheckMetadataPayload = z.infer<typeof NetcheckMetadataPayload>;

export const FlareMetadataPayload = z.object({
  jobId: z.string(),
  cluster: z.string(),
  node: z.string().nullable(),
  caseId: z.string().nullable(),
  stage: z.enum(['review', 'sent', 'cancelled', 'failed']),
  archive: z.object({ name: z.string(), bytes: z.number(), files: z.number() }).nullable(),
  reason: z.string().optional(),
  error: z.string().optional(),
  findings: z.number().int().optional(),
  notScanned: z.number().int().optional(),
  sha256: z.string().optional(),
});
export type FlareMetadataPayload = z.infer<typeof FlareMetadataPayload>;

/** A change to agents: a DaemonSet patch or revert (env before/after), or an agent restart (pod before/after). */
export const RemediationMetadataPayload = z.object({
  jobId: z.string(),
  cluster: z.string(),
  action: z.string(),
  by: z.string(),
  node: z.string().optional(),
  before: z.union([EnvSnapshot, z.object({ pod: z.string().nullable() })]).nullable(),
  after: z.union([EnvSnapshot, z.object({ pod: z.string().nullable() })]).nullable(),
  status: z.string(),
  rollout: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  /** Two-person approval: who approved the change (`by` asked for it). */
  approvedBy: z.string().optional(),
});
export type RemediationMetadataPayload = z.infer<typeof RemediationMetadataPayload>;

/** A job (or approval request) of a cluster, as its one message in the incident channel shows it. */
export const IncidentMetadataPayload = z.object({
  jobId: z.string(),
  cluster: z.string(),
  kind: z.string(),
  /** `running` until it ends (`ok` | `failed` | `error`); an approval request: `pending`, then `approved` | `rejected` | `expired`. */
  state: z.enum(['running', 'ok', 'failed', 'error', 'pending', 'approved', 'rejected', 'expired']),
  verdict: z.string().optional(),
  by: z.string(),
  link: z.string().optional(),
});
export type IncidentMetadataPayload = z.infer<typeof IncidentMetadataPayload>;

/** A change waiting for a second person's approval. */
export const ApprovalMetadataPayload = z.object({
  approvalId: z.string(),
  cluster: z.string(),
  action: z.string(),
  requestedBy: z.string(),
  expiresAt: z.string(),
  node: z.string().optional(),
  state: z.enum(['pending', 'approved', 'rejected', 'expired']).optional(),
  decidedBy: z.string().optional(),
});
export type ApprovalMetadataPayload = z.infer<typeof ApprovalMetadataPayload>;

const meta = (event_type: string, event_payload: Record<string, unknown>): MessageMetadata => ({ event_type, event_payload });

export function selftestPayload(
  jobId: string,
  cluster: string,
  result: SelftestResult | undefined,
  error?: string,
  s: SelftestSummary = summarise(result?.results ?? []),
): SelftestMetadataPayload {
  return {
    jobId,
    cluster,
    total: s.total,
    ok: s.ok,
    failed: s.notOk,
    ...(error ? { error } : {}),
    results: s.sorted.map(({ node, pod, status, failedTests, message }) => ({ node, pod, status, failedTests, message })),
  };
}

export const selftestMetadata = (jobId: string, cluster: string, result: SelftestResult | undefined, error?: string, s?: SelftestSummary) =>
  meta(SELFTEST_METADATA_EVENT, selftestPayload(jobId, cluster, result, error, s));

export function netcheckPayload(jobId: string, cluster: string, r: NetcheckResult | { error: string }): NetcheckMetadataPayload {
  if ('error' in r)
    return { jobId, cluster, verdict: 'unknown', agentVersion: null, cni: { vendor: null, version: null }, findings: [], remediations: [], error: r.error };
  return {
    jobId,
    cluster,
    verdict: r.verdict,
    agentVersion: r.agent.version,
    cni: { vendor: r.cni.vendor, version: r.cni.version },
    findings: r.findings,
    remediations: r.remediations,
    ...(r.suggestedPriority !== undefined ? { suggestedPriority: r.suggestedPriority } : {}),
  };
}

export const netcheckMetadata = (jobId: string, cluster: string, r: NetcheckResult | { error: string }) =>
  meta(NETCHECK_METADATA_EVENT, netcheckPayload(jobId, cluster, r));

export function flareMetadata(
  c: { jobId: string; cluster: string; node?: string | undefined; caseId?: string | undefined },
  stage: FlareMetadataPayload['stage'],
  archive?: { name: string; bytes: number; files: number },
  extra: Pick<FlareMetadataPayload, 'reason' | 'error' | 'findings' | 'notScanned' | 'sha256'> = {},
): MessageMetadata {
  const payload: FlareMetadataPayload = {
    jobId: c.jobId,
    cluster: c.cluster,
    node: c.node ?? null,
    caseId: c.caseId ?? null,
    stage,
    archive: archive ?? null,
    ...extra,
  };
  return meta(FLARE_METADATA_EVENT, payload);
}

export const flareStageOf = (r: FlareResult): FlareMetadataPayload['stage'] => r.stage;

export function remediationMetadata(
  c: { jobId: string; cluster: string; action: string; requestedBy: string; approvedBy?: string | undefined },
  r: RemediateResult | { error: string },
): MessageMetadata {
  const payload: RemediationMetadataPayload =
    'error' in r
      ? { jobId: c.jobId, cluster: c.cluster, action: c.action, by: c.requestedBy, before: null, after: null, status: 'failed', error: r.error }
      : { jobId: c.jobId, cluster: c.cluster, action: r.action, by: c.requestedBy, before: r.before, after: r.after, status: r.status, rollout: r.rollout };
  return meta(REMEDIATION_METADATA_EVENT, c.approvedBy ? { ...payload, approvedBy: c.approvedBy } : payload);
}

export function restartMetadata(
  c: { jobId: string; cluster: string; node: string; requestedBy: string; approvedBy?: string | undefined },
  r: RestartAgentResult | { error: string },
): MessageMetadata {
  const payload: RemediationMetadataPayload =
    'error' in r
      ? {
          jobId: c.jobId,
          cluster: c.cluster,
          action: 'restart_agent',
          node: c.node,
          by: c.requestedBy,
          before: null,
          after: null,
          status: 'failed',
          error: r.error,
        }
      : { jobId: c.jobId, cluster: c.cluster, action: 'restart_agent', node: c.node, by: c.requestedBy, before: r.before, after: r.after, status: r.status };
  return meta(REMEDIATION_METADATA_EVENT, c.approvedBy ? { ...payload, approvedBy: c.approvedBy } : payload);
}

export function incidentPayload(u: IncidentMetadataPayload): IncidentMetadataPayload {
  return IncidentMetadataPayload.parse(u);
}

export const incidentMetadata = (u: IncidentMetadataPayload) => meta(INCIDENT_METADATA_EVENT, incidentPayload(u));

export function approvalPayload(a: ApprovalMetadataPayload): ApprovalMetadataPayload {
  return ApprovalMetadataPayload.parse(a);
}

export const approvalMetadata = (a: ApprovalMetadataPayload) => meta(APPROVAL_METADATA_EVENT, approvalPayload(a));
