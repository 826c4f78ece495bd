import { z } from 'zod';
import { ClusterName } from '../core/names.ts';
import { AgentRefSchema, EnvSnapshot, RemediationAction } from '../core/results.ts';

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
  /** Set by the worker: the parent lists agents, fans out one child per batch of agents, then collects. */
  step: z.enum(['list', 'wait']).optional(),
  total: z.number().int().nonnegative().optional(),
  startedAt: z.string().optional(),
});
export type SelftestJobData = z.infer<typeof SelftestJobData>;

/** One agent of a fanned-out self-test, as the previous version fanned out (one job per agent); still run for its parents. */
export const SelftestAgentJobData = z.object({
  kind: z.literal('selftest-agent'),
  cluster: ClusterName,
  parentId: z.string(),
  total: z.number().int().nonnegative(),
  agent: AgentRefSchema,
});
export type SelftestAgentJobData = z.infer<typeof SelftestAgentJobData>;

/**
 * One unit of a fanned-out self-test: a batch of agents (the `index`-th of the parent's stably sorted
 * list; workers/jobs/selftest-fanout.ts). Runs on any replica serving the cluster; its value is one
 * AgentResult per agent.
 */
export const SelftestBatchJobData = z.object({
  kind: z.literal('selftest-batch'),
  cluster: ClusterName,
  parentId: z.string(),
  total: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  agents: z.array(AgentRefSchema).min(1).max(1000),
});
export type SelftestBatchJobData = z.infer<typeof SelftestBatchJobData>;

/** "Restart agent on <node>": delete that agent pod; the DaemonSet brings a new one up. */
export const RestartAgentJobData = z.object({
  kind: z.literal('restart-agent'),
  cluster: ClusterName,
  node: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
});
export type RestartAgentJobData = z.infer<typeof RestartAgentJobData>;

/** `/cws flare`: build on the agent, review in Slack, then send or cancel (DESIGN.md "Flare"). */
export const FlareJobData = z.object({
  kind: z.literal('flare'),
  cluster: ClusterName,
  node: z.string().optional(),
  caseId: z
    .string()
    .regex(/^[0-9]{1,12}$/)
    .optional(),
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

/** Lists a cluster's agents for the bot (which has no cluster access), e.g. for a node picker. */
export const ListAgentsJobData = z.object({ kind: z.literal('list-agents'), cluster: ClusterName, requestedBy: z.string() });
export type ListAgentsJobData = z.infer<typeof ListAgentsJobData>;

/** `/cws netcheck`: facts gathered by the worker, the decision, and how each fact was obtained. */
export const NetcheckJobData = z.object({ kind: z.literal('netcheck'), cluster: ClusterName, requestedBy: z.string(), requestedAt: z.string() });
export type NetcheckJobData = z.infer<typeof NetcheckJobData>;

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

/** What the workers return (defined with the core that produces and renders them). */
export * from '../core/results.ts';
/** The metadata payloads. */
export * from './metadata.ts';
