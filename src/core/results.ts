import { z } from 'zod';
import { ClusterName } from './names.ts';

/**
 * What the work produces: per-agent self-test verdicts, netcheck facts and decisions, flare
 * reviews and outcomes, remediation before/after. Workers return these through BullMQ; the bot's
 * builders render them. Types come from the schemas.
 */

export const AgentRefSchema = z.object({
  node: z.string(),
  pod: z.string(),
  unavailable: z.string().optional(),
  phase: z.string().optional(),
  ready: z.boolean().optional(),
  image: z.string().optional(),
  /** The pod's container names (Kubernetes): which commands the agent layout allows (issue 19). */
  containers: z.array(z.string()).optional(),
});

export const RestartAgentResult = z.object({
  kind: z.literal('restart-agent'),
  cluster: ClusterName,
  node: z.string(),
  before: z.object({ pod: z.string().nullable() }),
  after: z.object({ pod: z.string().nullable() }),
  status: z.enum(['restarted', 'no_agent']),
});
export type RestartAgentResult = z.infer<typeof RestartAgentResult>;

export const AgentStatus = z.enum(['ok', 'failed', 'error', 'timeout']);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const AgentResult = z.object({
  node: z.string(),
  pod: z.string(),
  status: AgentStatus,
  failedTests: z.array(z.string()),
  message: z.string(),
  durationMs: z.number().nonnegative(),
  /** The command that gave the verdict, e.g. `system-probe runtime self-test` (absent from older workers). */
  command: z.string().optional(),
});
export type AgentResult = z.infer<typeof AgentResult>;

export const SelftestResult = z.object({
  kind: z.literal('selftest'),
  cluster: ClusterName,
  target: z.enum(['kubernetes', 'docker', 'host']),
  startedAt: z.string(),
  finishedAt: z.string(),
  results: z.array(AgentResult),
});
export type SelftestResult = z.infer<typeof SelftestResult>;

export const SelftestProgress = z.object({
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failing: z.number().int().nonnegative(),
  phase: z.enum(['listing', 'running']),
});
export type SelftestProgress = z.infer<typeof SelftestProgress>;

/** A job that failed as a whole (after its attempts): what the bot shows the user. */
/**
 * Why a job failed as a whole: a closed set, so callers switch on a code, never on a message.
 * The worker's named errors (workers/targets/errors.ts) each carry one.
 */
export const FAILURE_CODES = [
  /** The cluster's kind cannot do this (a netcheck on a host, a flare on a target without sessions). */
  'unsupported',
  /** No agent on the node (or in the cluster) the job named. */
  'no_agent',
  /** The agent is there but not running or not ready. */
  'agent_unavailable',
  /** The agent (or its API server, Docker engine) could not be reached. */
  'agent_unreachable',
  /** The agent container or binary is not where the config says. */
  'agent_not_found',
  /** A command in the agent ran past its time limit. */
  'exec_timeout',
  /** A command in the agent could not be run. */
  'exec_failed',
  /** Too much open at once (flares on a worker). */
  'busy',
  /** Bot and worker do not speak the same version: an unknown job name, an unreadable payload or result. */
  'unknown_job',
  'bad_job',
  'bad_result',
  /** The job is no longer in the queue. */
  'expired',
  /** Part of the job vanished from Redis (a failover to a replica that had not got it, a restart without persistence). */
  'lost',
  /** A bug in the worker. */
  'internal',
  /** A failure without a code (plain text from BullMQ, an older worker). */
  'error',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export const JobFailure = z.object({
  code: z.enum(FAILURE_CODES),
  message: z.string(),
  hint: z.string().optional(),
});
export type JobFailure = z.infer<typeof JobFailure>;

export const SecretFindingSchema = z.object({
  file: z.string(),
  line: z.number().int(),
  kind: z.string(),
  preview: z.string(),
  where: z.enum(['name', 'binary']).optional(),
});

/** A file (or line) of the archive the secret scan could not read, and why. */
export const NotScannedSchema = z.object({ file: z.string(), reason: z.string() });

export const FlareArchive = z.object({
  path: z.string(),
  name: z.string(),
  bytes: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  /** SHA-256 of the reviewed archive, computed by `sha256sum` on the agent and over the bytes read: Send re-checks it. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

export const FlareProgress = z.object({
  stage: z.enum(['building', 'review', 'sending']),
  node: z.string().optional(),
  pod: z.string().optional(),
  archive: FlareArchive.optional(),
  fileList: z.array(z.object({ label: z.string(), bytes: z.number() })).optional(),
  findings: z.array(SecretFindingSchema).optional(),
  /** Every secret the scan found (findings holds the first ones). */
  findingsTotal: z.number().int().nonnegative().optional(),
  /** What the scan could not read (too large, binary, damaged, lines over the cap), with the reason. */
  notScanned: z.array(NotScannedSchema).optional(),
  /** Older workers: files not scanned because too large. */
  skipped: z.array(z.string()).optional(),
  expiresAt: z.string().optional(),
  /** The flare command building the archive: `security-agent flare` or the core agent's `agent flare` (absent from older workers). */
  command: z.string().optional(),
});
export type FlareProgress = z.infer<typeof FlareProgress>;

export const FlareResult = z.object({
  kind: z.literal('flare'),
  cluster: ClusterName,
  node: z.string(),
  pod: z.string(),
  stage: z.enum(['sent', 'cancelled', 'failed']),
  /** Why it ended that way: the user cancelled, the review expired, the upload failed… */
  reason: z.enum(['sent', 'cancelled', 'expired', 'upload_failed', 'build_failed', 'session_lost', 'archive_changed', 'busy']),
  archive: FlareArchive.optional(),
  /** What the agent printed at the end (the upload's answer or its error). */
  agentOutput: z.string(),
  caseId: z.string().optional(),
  archiveRemoved: z.boolean().optional(),
  /** Cancel/expiry found another file at the reviewed path (another flare in the same second): left in place. */
  archiveReplaced: z.boolean().optional(),
  /** The reviewed archive was already gone from the node. */
  archiveMissing: z.boolean().optional(),
  /** Something the requester must know beyond the outcome (e.g. the file changed during the upload). */
  warning: z.string().optional(),
  /** reason busy: who holds the node's flare lock, with which job. */
  heldBy: z.object({ user: z.string(), job: z.string() }).optional(),
  /** The flare command used: `security-agent flare` or the core agent's `agent flare` (absent from older workers). */
  command: z.string().optional(),
});
export type FlareResult = z.infer<typeof FlareResult>;

export const ListAgentsResult = z.object({ kind: z.literal('list-agents'), cluster: ClusterName, agents: z.array(AgentRefSchema) });
export type ListAgentsResult = z.infer<typeof ListAgentsResult>;

const ConfigValueSchema = z.object({ value: z.union([z.boolean(), z.number()]).nullable(), origin: z.string(), note: z.string().optional() });

export const NetcheckResult = z.object({
  kind: z.literal('netcheck'),
  cluster: ClusterName,
  verdict: z.enum(['ok', 'action_required', 'broken', 'unknown']),
  findings: z.array(z.object({ code: z.string(), severity: z.enum(['info', 'warning', 'critical']), node: z.string().optional(), message: z.string() })),
  remediations: z.array(z.enum(['set_classifier_priority', 'disable_network_detections', 'disable_cws', 'upgrade_agent'])),
  suggestedPriority: z.number().int().optional(),
  agent: z.object({ version: z.string().nullable(), image: z.string().nullable(), daemonSet: z.string(), managedBy: z.enum(['none', 'helm', 'operator']) }),
  cni: z.object({
    status: z.enum(['detected', 'none', 'unknown']),
    vendor: z.string().nullable(),
    version: z.string().nullable(),
    daemonSet: z.string().nullable(),
    detail: z.string(),
  }),
  config: z.object({
    cwsEnabled: ConfigValueSchema,
    networkEnabled: ConfigValueSchema,
    classifierPriority: ConfigValueSchema,
    /** Newer network options and direct send (absent from older workers): see src/core/netcheck/config.ts. */
    classifierHandle: ConfigValueSchema.optional(),
    rawClassifierHandle: ConfigValueSchema.optional(),
    rawPacketEnabled: ConfigValueSchema.optional(),
    directSend: ConfigValueSchema.optional(),
    /** Which key family the agent version reads: event_monitoring_config (7.44+), runtime_security_config only, unknown. */
    layout: z.enum(['event_monitoring', 'legacy', 'unknown']).optional(),
  }),
  /**
   * The env vars a remediation sets on system-probe for this agent (src/core/remediation/env-change.ts
   * networkEnvNames: by version and what the pod already sets), and the file key family it reads
   * (absent from older workers: DD_RUNTIME_SECURITY_CONFIG_NETWORK_*, runtime_security_config).
   */
  remediationEnv: z
    .object({
      classifierPriority: z.array(z.string()),
      networkEnabled: z.array(z.string()),
      fileKeys: z.enum(['event_monitoring_config', 'runtime_security_config']),
    })
    .optional(),
  /** Per node: the vendor's ingress classifier priorities seen on pod-facing interfaces, or why unknown. */
  nodes: z.array(z.object({ node: z.string(), priorities: z.array(z.number()), interfaces: z.number().int(), error: z.string().optional() })),
  /** How each fact was obtained (API object, exec, default…). */
  how: z.array(z.string()),
});
export type NetcheckResult = z.infer<typeof NetcheckResult>;

/** Env values of the agent containers touched by a remediation: container → var → value (null = absent). */
export const EnvSnapshot = z.record(z.string(), z.record(z.string(), z.string().nullable()));
export type EnvSnapshot = z.infer<typeof EnvSnapshot>;

export const RemediationAction = z.enum(['set_classifier_priority', 'disable_network_detections', 'disable_cws', 'revert']);
export type RemediationAction = z.infer<typeof RemediationAction>;

export const RemediateResult = z.object({
  kind: z.literal('remediate'),
  cluster: ClusterName,
  action: RemediationAction,
  daemonSet: z.string(),
  before: EnvSnapshot,
  after: EnvSnapshot,
  status: z.enum(['applied', 'no_change']),
  rollout: z.object({
    generation: z.number(),
    observedGeneration: z.number(),
    desired: z.number(),
    updated: z.number(),
    ready: z.number(),
    complete: z.boolean(),
  }),
});
export type RemediateResult = z.infer<typeof RemediateResult>;
