import { z } from 'zod';
import { ClusterName } from '../../core/names.ts';

/** The bot's own state about a job, kept in Redis and never sent to workers. */

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
  /**
   * The schedule this job is a run of (`sc-…`, issue 19 point 3): it shows nothing while it
   * runs, and its result is posted only on the first run or when the outcome changed.
   */
  schedule: z.string().optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

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
