/**
 * Every Redis key this project writes, in one place (as BullMQ's `queue-keys.ts` does for its
 * own). BullMQ's keys are `<QUEUE_PREFIX>:<queue name>:…`, one queue per cluster.
 *
 * Hash tags (`{…}`) keep together what one command or script touches at once, so every
 * multi-key write stays in one slot of a Redis Cluster:
 *  - a cluster's queue: its name is its hash tag (`bull:{cws.<cluster>}:…`), so each BullMQ
 *    script, which touches many keys of one queue, stays in one slot; a self-test's parent and
 *    its children are jobs of the same queue, so the flow does too. Different clusters' queues
 *    hash to different slots and spread over the masters (BullMQ's Redis Cluster guide);
 *  - a job's keys share `{<jobId>}` (its record, messages, claims, facts, channels);
 *  - a fan-out's progress counters share `{<parentId>}`;
 *  - the command limits share `{limits}` (one script checks the user's and the cluster's);
 *  - the open-flare sets share `{flares}` (one script checks the cluster's and the user's).
 * Everything else is one key per command. No script or transaction mixes a queue's keys with ours.
 */

export const QUEUE_PREFIX = 'bull';
/** The BullMQ queue of a cluster: every job kind of that cluster goes through it. Braced: its own hash tag. */
export const queueName = (cluster: string) => `{cws.${cluster}}`;
/**
 * The BullMQ queue of schedule ticks (issue 19 point 3), processed by the bot: its own hash tag.
 * A cluster's queue is always `{cws.<cluster>}`, so no cluster name can take this one.
 */
export const SCHEDULE_QUEUE = '{cws-schedules}';

export const keys = {
  /** Who asked for the job, where, and what it showed (bot). */
  jobRecord: (jobId: string) => `cws:job:{${jobId}}:record`,
  /** The Slack messages showing the job (bot). */
  jobMessages: (jobId: string) => `cws:job:{${jobId}}:messages`,
  /** Channels waiting for the job's message (bot). */
  jobChannels: (jobId: string) => `cws:job:{${jobId}}:channels`,
  /** A claim that one step of the job's result was done once: a final edit, a repost, a thread reply (bot). */
  jobClaim: (jobId: string, what: string) => `cws:job:{${jobId}}:claim:${what}`,
  /** Facts of a finished job its buttons act on (bot). */
  jobFacts: (jobId: string) => `cws:job:{${jobId}}:facts`,
  /** The digest of the progress last shown (bot). */
  jobShown: (jobId: string) => `cws:job:{${jobId}}:shown`,
  /** The result message as first shown, `ChatMessage` JSON (bot): re-rendered with its follow-ups (issue 17, living messages). */
  jobLive: (jobId: string) => `cws:job:{${jobId}}:live`,
  /** Changes started from the job's buttons, a hash follow-up job ID -> JSON (bot). */
  jobFollowUps: (jobId: string) => `cws:job:{${jobId}}:followups`,
  /** When a schedule last found the job's result unchanged, ms (bot): part of the living message's state, shown as its "Last checked" line. */
  jobLastChecked: (jobId: string) => `cws:job:{${jobId}}:lastchecked`,
  /** The details reply in a thread, `{ts}` (bot): one per thread, edited by each later result posted there. */
  threadReply: (channel: string, rootTs: string) => `cws:thread:${channel}:${rootTs}:details`,
  /** Jobs whose result is not posted yet (bot's reconcile loop). */
  openJobs: 'cws:jobs:open',
  /** Idempotency of clicks and claims held by a holder (bot; the flare lock is one). */
  once: (scope: string) => `cws:once:${scope}`,
  /** A short lock with no holder (bot). */
  lock: (scope: string) => `cws:lock:${scope}`,
  /** A flare waiting for its node or email (bot). */
  flareRequest: (id: string) => `cws:flare-request:${id}`,
  /** The Slack decision on a flare review, 'send' | 'cancel' (bot writes, worker reads). */
  flareDecision: (jobId: string) => `cws:flare:${jobId}:decision`,
  /** Open flares of a cluster, and of a user there (bot). */
  openFlares: (cluster: string) => `cws:{flares}:open:${cluster}`,
  openFlaresOf: (cluster: string, user: string) => `cws:{flares}:open:${cluster}:${user}`,
  /** Commands in the current window, per user and per cluster (bot). */
  limitUser: (user: string) => `cws:{limits}:user:${user}`,
  limitCluster: (cluster: string) => `cws:{limits}:cluster:${cluster}`,
  /** Signed Slack requests already run: a hash of the signature (bot). */
  seenRequest: (digest: string) => `cws:seen:${digest}`,
  /** Fan-out progress counters of a self-test (worker). */
  progressDone: (parentId: string) => `cws:progress:{${parentId}}:done`,
  progressFailing: (parentId: string) => `cws:progress:{${parentId}}:failing`,
  /** Jobs of a cluster by the time their record was saved, the last 24 h (sorted set, bot: `/cws jobs`, App Home). */
  recentJobs: (cluster: string) => `cws:jobs:recent:${cluster}`,
  /** The last verdict of a kind of job on a cluster, e.g. its last self-test (bot: App Home). */
  lastVerdict: (cluster: string, kind: string) => `cws:verdict:${cluster}:${kind}`,
  /** The job's message in an incident channel, `{ts}` (bot): one per job and channel, edited to its final state. */
  jobMirror: (jobId: string, channel: string) => `cws:job:{${jobId}}:mirror:${channel}`,
  /** Who approved the job's change, `{approvalId, approvedBy}` (bot): read by its final message. */
  jobApproval: (jobId: string) => `cws:job:{${jobId}}:approval`,
  /** The channel linked to a cluster by `/cws incident`, `{channel, by, from, at}` (bot). */
  incidentLink: (cluster: string) => `cws:incident:${cluster}`,
  /** A two-person approval request: what to run, who asked, until when, and its state (bot). */
  approval: (approvalId: string) => `cws:approval:${approvalId}`,
  /** Approval requests still open, by expiry time (sorted set, bot: the reconcile loop closes the expired ones). */
  openApprovals: 'cws:approvals:open',
  /** A scheduled check: what, where, how often, who created it (bot). Its keys share `{<scheduleId>}`. */
  schedule: (id: string) => `cws:schedule:{${id}}:spec`,
  /** A schedule's last run: its outcome fingerprint and summary, the message that shows it, the denial notice (bot). */
  scheduleLast: (id: string) => `cws:schedule:{${id}}:last`,
  /** The message of a schedule's last posted result, `{jobId, message}`: edited with a "last checked" line by unchanged runs (bot). */
  scheduleShown: (id: string) => `cws:schedule:{${id}}:shown`,
  /** The run of a schedule still going: `tick:<id>` while it is being started, then its job ID (bot). One at a time. */
  scheduleRunning: (id: string) => `cws:schedule:{${id}}:running`,
  /** A scheduled job's decision to post or stay silent, taken once across replicas (bot). */
  scheduleDecision: (jobId: string) => `cws:job:{${jobId}}:schedule-decision`,
  /** Every schedule ID (set, bot). */
  schedules: 'cws:schedules',
  /** The audit stream: every command, denial and result. */
  audit: 'cws:audit',
} as const;
