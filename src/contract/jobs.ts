import { z } from 'zod';
import { ClusterName } from '../config/clusters.ts';

/**
 * Every payload that crosses Redis between the bot and the workers.
 * Workers never see Slack identifiers beyond the requester (for audit); they return plain results.
 */
export const SelftestJobData = z.object({
  kind: z.literal('selftest'),
  cluster: ClusterName,
  node: z.string().optional(),
  /** Only these nodes ("Re-run failed"). */
  nodes: z.array(z.string()).max(5000).optional(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  /** Per-agent exec timeout. */
  agentTimeoutMs: z.number().int().positive(),
  /** Set by the worker: the parent lists agents, fans out one child per agent, then collects. */
  step: z.enum(['list', 'wait']).optional(),
  total: z.number().int().nonnegative().optional(),
  startedAt: z.string().optional(),
});
export type SelftestJobData = z.infer<typeof SelftestJobData>;

export const AgentRefSchema = z.object({
  node: z.string(),
  pod: z.string(),
  unavailable: z.string().optional(),
  phase: z.string().optional(),
  ready: z.boolean().optional(),
  image: z.string().optional(),
});

/** One unit of a fanned-out self-test: one agent. Runs on any replica serving the cluster. */
export const SelftestAgentJobData = z.object({
  kind: z.literal('selftest-agent'),
  cluster: ClusterName,
  parentId: z.string(),
  total: z.number().int().nonnegative(),
  agent: AgentRefSchema,
  agentTimeoutMs: z.number().int().positive(),
});
export type SelftestAgentJobData = z.infer<typeof SelftestAgentJobData>;

/** "Restart agent on <node>": delete that agent pod; the DaemonSet brings a new one up. */
export const RestartAgentJobData = z.object({
  kind: z.literal('restart-agent'),
  cluster: ClusterName,
  node: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
});
export type RestartAgentJobData = z.infer<typeof RestartAgentJobData>;

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
export const JobFailure = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
});
export type JobFailure = z.infer<typeof JobFailure>;

/** The `cws_selftest_result` message metadata (DESIGN.md contract). */
export const SelftestMetadataPayload = z.object({
  jobId: z.string(),
  cluster: z.string(),
  total: z.number().int(),
  ok: z.number().int(),
  failed: z.number().int(),
  error: z.string().optional(),
  results: z.array(
    z.object({
      node: z.string(),
      pod: z.string(),
      status: AgentStatus,
      failedTests: z.array(z.string()),
      message: z.string(),
    }),
  ),
});
export type SelftestMetadataPayload = z.infer<typeof SelftestMetadataPayload>;

/** Where the bot keeps the Slack side of a job (never sent to workers). */
export const TrackedMessage = z.object({ channel: z.string(), ts: z.string() });
export type TrackedMessage = z.infer<typeof TrackedMessage>;

export const JobRecord = z.object({
  jobId: z.string(),
  kind: z.enum(['selftest', 'restart-agent', 'flare', 'list-agents', 'netcheck', 'remediate']),
  cluster: ClusterName,
  node: z.string().optional(),
  nodes: z.array(z.string()).optional(),
  requestedBy: z.string(),
  channel: z.string(),
  caseId: z.string().optional(),
  email: z.string().optional(),
  expiresAt: z.string().optional(),
  /** list-agents: the pending flare request waiting for a node. */
  requestId: z.string().optional(),
  /** remediate: what was done, and the netcheck or remediation it came from. */
  action: z.string().optional(),
  origin: z.string().optional(),
  threadTs: z.string().optional(),
  /**
   * When the job's message in `channel` is created: at command time (absent), or `deferred`
   * until the job shows it has something to say there (a `--node` self-test whose node may not
   * exist answers its requester privately), or `none` (answered privately only).
   */
  post: z.enum(['deferred', 'none']).optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

/** `/cws flare`: build on the agent, review in Slack, then send or cancel (DESIGN.md "Flare"). */
export const FlareJobData = z.object({
  kind: z.literal('flare'),
  cluster: ClusterName,
  node: z.string().optional(),
  caseId: z.string().regex(/^[0-9]{1,12}$/).optional(),
  email: z.email(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  /** After this the review is void: the worker answers "no" to the agent's prompt. */
  expiresAt: z.string(),
  /** Set once the review is posted: a re-run of this job after a crash must not build again. */
  reviewStarted: z.boolean().optional(),
  /** The archive's path, masked by the secret scan (for messages; the worker keeps the real one). */
  archivePath: z.string().optional(),
  /** The per-node flare lock the bot takes for this job once it is queued (src/flare/lock.ts). */
  lock: z.object({ scope: z.string().max(300) }).optional(),
});
export type FlareJobData = z.infer<typeof FlareJobData>;

export const SecretFindingSchema = z.object({ file: z.string(), line: z.number().int(), kind: z.string(), preview: z.string(), where: z.enum(['name', 'binary']).optional() });

/** A file (or line) of the archive the secret scan could not read, and why. */
export const NotScannedSchema = z.object({ file: z.string(), reason: z.string() });

export const FlareArchive = z.object({
  path: z.string(),
  name: z.string(),
  bytes: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  /** SHA-256 of the reviewed archive, computed by `sha256sum` on the agent and over the bytes read: Send re-checks it. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
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
});
export type FlareResult = z.infer<typeof FlareResult>;

/** Lists a cluster's agents for the bot (which has no cluster access), e.g. for a node picker. */
export const ListAgentsJobData = z.object({ kind: z.literal('list-agents'), cluster: ClusterName, requestedBy: z.string() });
export type ListAgentsJobData = z.infer<typeof ListAgentsJobData>;
export const ListAgentsResult = z.object({ kind: z.literal('list-agents'), cluster: ClusterName, agents: z.array(AgentRefSchema) });
export type ListAgentsResult = z.infer<typeof ListAgentsResult>;

/** A `/cws flare` waiting for its node (picker) or email (modal); buttons carry only its ID. */
export const FlareRequest = z.object({
  id: z.string(),
  cluster: ClusterName,
  node: z.string().optional(),
  caseId: z.string().optional(),
  email: z.string().optional(),
  userId: z.string(),
  channelId: z.string(),
  /** Nodes offered by the picker: the choice must be one of them. */
  nodes: z.array(z.string()).optional(),
});
export type FlareRequest = z.infer<typeof FlareRequest>;

/** `/cws netcheck`: facts gathered by the worker, the decision, and how each fact was obtained. */
export const NetcheckJobData = z.object({ kind: z.literal('netcheck'), cluster: ClusterName, requestedBy: z.string(), requestedAt: z.string() });
export type NetcheckJobData = z.infer<typeof NetcheckJobData>;

const ConfigValueSchema = z.object({ value: z.union([z.boolean(), z.number()]).nullable(), origin: z.string(), note: z.string().optional() });
export const NetcheckResult = z.object({
  kind: z.literal('netcheck'),
  cluster: ClusterName,
  verdict: z.enum(['ok', 'action_required', 'broken', 'unknown']),
  findings: z.array(z.object({ code: z.string(), severity: z.enum(['info', 'warning', 'critical']), node: z.string().optional(), message: z.string() })),
  remediations: z.array(z.enum(['set_classifier_priority', 'disable_network_detections', 'disable_cws', 'upgrade_agent'])),
  suggestedPriority: z.number().int().optional(),
  agent: z.object({ version: z.string().nullable(), image: z.string().nullable(), daemonSet: z.string(), managedBy: z.enum(['none', 'helm', 'operator']) }),
  cni: z.object({ status: z.enum(['detected', 'none', 'unknown']), vendor: z.string().nullable(), version: z.string().nullable(), daemonSet: z.string().nullable(), detail: z.string() }),
  config: z.object({ cwsEnabled: ConfigValueSchema, networkEnabled: ConfigValueSchema, classifierPriority: ConfigValueSchema }),
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

/** A change to the agent DaemonSet, or the revert of one (restores `restore`). */
export const RemediateJobData = z.object({
  kind: z.literal('remediate'),
  cluster: ClusterName,
  action: RemediationAction,
  priority: z.number().int().min(1).max(1000).optional(),
  restore: EnvSnapshot.optional(),
  requestedBy: z.string(),
  requestedAt: z.string(),
});
export type RemediateJobData = z.infer<typeof RemediateJobData>;

export const RemediateResult = z.object({
  kind: z.literal('remediate'),
  cluster: ClusterName,
  action: RemediationAction,
  daemonSet: z.string(),
  before: EnvSnapshot,
  after: EnvSnapshot,
  status: z.enum(['applied', 'no_change']),
  rollout: z.object({ generation: z.number(), observedGeneration: z.number(), desired: z.number(), updated: z.number(), ready: z.number(), complete: z.boolean() }),
});
export type RemediateResult = z.infer<typeof RemediateResult>;
