import { createHash } from 'node:crypto';
import { type ConnectionOptions, type Job, QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import type { AuditLog } from './state/audit.ts';
import type { JobProducer } from './state/producer.ts';
import { queueName } from '../contract/queues.ts';
import { type JobFailure } from '../contract/jobs.ts';
import { type JobRecord } from './state/records.ts';
import { parseFailure } from '../contract/failures.ts';
import type { JobTracker } from './state/tracker.ts';
import { JOB_KINDS, type FinalRendering } from './kinds/index.ts';
import { howToGet, type Outcome } from './kinds/kind.ts';
import type { JobMessages } from './job-messages.ts';
import { IncidentMirror } from './kinds/incident-mirror.ts';
import { showDetails } from './living.ts';
import { type ApprovalRequest, expireDueApprovals } from './commands/approval.ts';
import { CHANNEL_ERRORS, CONTENT_ERRORS, type ChatMessage, type FallbackOptions, GONE_ERRORS, type Notifier, refusalOf } from './notifier.ts';

export interface JobUpdatesDeps {
  connection: ConnectionOptions;
  clusters: string[];
  producer: JobProducer;
  tracker: JobTracker;
  notifier: Notifier;
  audit: AuditLog;
  logger: Logger;
  /** The cluster's incident channel, where changes are announced. */
  incidentChannel?: (cluster: string) => string | undefined;
  /** How often to look for jobs whose completion event was missed (bot restarts, reconnects). */
  reconcileIntervalMs?: number;
  /** Creates a job's message in a channel, once whatever Slack does. */
  messages: JobMessages;
  /** A job's result was posted and the job closed (once across replicas): for the metrics. */
  onFinished?: (kind: string, cluster: string, outcome: string, seconds?: number) => void;
  /** Scheduled checks (src/bot/schedules/): whether a scheduled run's result is posted, and its last run. */
  schedules?: ScheduleOutcomes;
  /** Republishes the App Homes of the people an approval request concerns, once it expired (republishApprovalHomes). */
  approvalHomes?: (r: ApprovalRequest) => Promise<void>;
}

/** What JobUpdates asks about a job that is a run of a schedule (its record has `schedule`). */
export interface ScheduleOutcomes {
  /** The message to post (the kind's, with the schedule's notice), or silent: nothing changed since the last run. */
  final(record: JobRecord, outcome: Outcome, message: ChatMessage): Promise<{ message: ChatMessage } | { silent: true }>;
  /** Once, when the job is closed: the run becomes the schedule's last (with its message, if posted). */
  closed(record: JobRecord, messages: { channel: string; ts: string }[]): Promise<void>;
}

const fallbackFor = (jobId: string): FallbackOptions => ({ howToGet: howToGet(jobId) });

/**
 * Relays job progress and results (self-tests, agent restarts) from BullMQ to the Slack
 * messages that show them.
 * Progress edits are coalesced by the notifier; the final edit is claimed in Redis per
 * message, so it is posted exactly once across bot replicas, restarts and reconciles.
 */
export class JobUpdates {
  private readonly events: QueueEvents[] = [];
  private timer?: NodeJS.Timeout;
  /** The job's one message in the cluster's incident channels. */
  private readonly mirror: IncidentMirror;

  constructor(private readonly d: JobUpdatesDeps) {
    this.mirror = new IncidentMirror({ tracker: d.tracker, notifier: d.notifier, logger: d.logger, incidentChannel: d.incidentChannel });
  }

  async start(): Promise<void> {
    for (const cluster of this.d.clusters) {
      const ev = new QueueEvents(queueName(cluster), { connection: this.d.connection });
      ev.on('error', (err) => this.d.logger.warn({ err, cluster }, 'queue events error'));
      ev.on('progress', ({ jobId, data }) => void this.onProgress(jobId, data).catch((err) => this.d.logger.warn({ err, jobId }, 'progress relay failed')));
      ev.on('completed', ({ jobId }) => void this.finish(jobId).catch((err) => this.d.logger.warn({ err, jobId }, 'result relay failed')));
      ev.on('failed', ({ jobId }) => void this.finish(jobId).catch((err) => this.d.logger.warn({ err, jobId }, 'failure relay failed')));
      this.events.push(ev);
    }
    await Promise.all(this.events.map((e) => e.waitUntilReady()));
    await this.reconcile();
    const every = this.d.reconcileIntervalMs ?? 30_000;
    this.timer = setInterval(() => void this.reconcile().catch((err) => this.d.logger.warn({ err }, 'reconcile failed')), every);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.events.map((e) => e.close()));
  }

  private async onProgress(jobId: string, data: unknown): Promise<void> {
    const record = await this.d.tracker.getRecord(jobId);
    if (!record || record.schedule) return; // a scheduled run shows only its result, and only if it changed
    const shown = JOB_KINDS[record.kind].progress?.(record, data);
    if (!shown) return;
    const { message, urgent = false } = shown;
    const messages = await this.d.tracker.messages(jobId);
    if (record.post === 'deferred' && !messages.some((m) => m.channel === record.channel)) {
      // A deferred message is created once the job has something to show in the channel (its kind says when).
      if (shown.opens) await this.d.messages.open(record, record.channel, message, record.threadTs ? { threadTs: record.threadTs } : {});
      return;
    }
    const targets: typeof messages = [];
    for (const m of messages) if (!m.ts.startsWith('ephemeral:') && !(await this.d.tracker.isFinal(jobId, m.ts))) targets.push(m);
    // Nothing shows it yet (its message is still being posted): not marked shown, so the replay
    // after the post (show) or the reconcile puts it there.
    if (!targets.length) return;
    // Skip what was already shown (reconcile replays the current progress of running jobs).
    const digest = createHash('sha1').update(JSON.stringify(message)).digest('hex');
    if (!(await this.d.tracker.markShown(jobId, digest))) return;
    for (const m of targets) void this.d.notifier.update(m.channel, m.ts, message, urgent ? { urgent } : {}).catch(() => {});
  }

  /**
   * Brings a job's messages up to date: its final result if it finished, else its current
   * progress (a review published while its message was being posted is shown at once).
   */
  async show(jobId: string): Promise<void> {
    if (await this.finish(jobId)) return;
    const record = await this.d.tracker.getRecord(jobId);
    const job = record ? await this.d.producer.getJob(record.cluster, jobId) : undefined;
    if (job?.progress && typeof job.progress === 'object') await this.onProgress(jobId, job.progress);
  }

  /** Posts the final message if the job has finished. Safe to call any number of times. */
  async finish(jobId: string): Promise<boolean> {
    const record = await this.d.tracker.getRecord(jobId);
    if (!record) return false;
    // State first, then the job: a job read before its state turned 'completed' has no return value yet.
    const state = await this.d.producer.queue(record.cluster).getJobState(jobId);
    const ended = state === 'completed' || state === 'failed' || state === 'unknown';
    if (!ended && state !== 'waiting-children') return false;
    const job = state === 'unknown' ? undefined : await this.d.producer.getJob(record.cluster, jobId);
    const lost = state === 'waiting-children' && job ? await this.lostChildren(record, job) : undefined;
    if (!ended && !lost) return false;
    const jobOutcome: Outcome = lost ? { failure: lost } : this.outcomeOf(state, job);
    let rendered = await this.renderFinal(record, jobOutcome);
    if (!rendered) return true;
    // Scheduled checks: the first run posts, a later one only when its outcome changed.
    if (record.schedule && this.d.schedules) {
      const scheduled = await this.d.schedules.final(record, jobOutcome, rendered.message);
      if ('silent' in scheduled) {
        if (await this.d.tracker.close(jobId)) await this.closed(record, job, rendered.outcome, lost !== undefined);
        return true;
      }
      // The incident channel's one-line verdict stays the kind's own (not the schedule's notice, which names its creator).
      rendered = { ...rendered, verdict: rendered.verdict ?? rendered.message.text, message: scheduled.message };
      // A living result (its buttons later replaced by their outcomes) is edited from what was shown, notice included.
      if (await this.d.tracker.getLive(jobId)) await this.d.tracker.saveLive(jobId, scheduled.message);
    }
    const { message, outcome, thread } = rendered;
    if (rendered.privately && !(await this.d.tracker.messages(jobId)).length) {
      // Told to the requester alone (nothing was posted in the channel).
      if (await this.d.tracker.claimFinal(jobId, 'private'))
        await this.d.notifier
          .postEphemeral(record.channel, record.requestedBy, message)
          .catch((err) => this.d.logger.warn({ err, jobId }, 'could not answer the requester privately'));
    } else {
      // A channel whose message was never created (Slack failed when the command came, or the
      // message waited for the job): the result is posted there now.
      for (const channel of await this.missingChannels(record, { final: true })) {
        const opened = await this.d.messages.open(record, channel, message, {
          final: true,
          ...(record.threadTs && channel === record.channel ? { threadTs: record.threadTs } : {}),
        });
        if (!opened.ok && opened.reason === 'busy') return false;
        if (!opened.ok) this.unshowable(jobId, { channel, ts: '' }, opened.error);
        else if (!opened.existing && thread) await this.postThread(jobId, record, opened.message, thread);
      }
    }
    let allPosted = true;
    for (const m of await this.d.tracker.messages(jobId)) {
      if (!(await this.d.tracker.claimFinal(jobId, m.ts))) continue;
      try {
        const shown = await this.deliverFinal(jobId, m, message);
        if (thread && shown && !shown.ts.startsWith('ephemeral:')) await this.postThread(jobId, record, shown, thread);
      } catch (err) {
        allPosted = false;
        await this.d.tracker.releaseFinal(jobId, m.ts);
        this.d.logger.warn({ err, jobId, channel: m.channel }, 'could not post the final result; will retry');
      }
    }
    if (allPosted && !rendered.privately) await this.mirrorFinal(record, rendered);
    if (allPosted && (await this.d.tracker.close(jobId))) await this.closed(record, job, outcome, lost !== undefined);
    return true;
  }

  /**
   * A parent job (a cluster self-test) waiting for children of which some no longer exist: they vanished
   * from Redis (a failover promoted a replica that had not got them, or Redis restarted without
   * persistence), so the parent would wait forever. A child that finishes removes itself from the parent's
   * unprocessed set in the same Lua script that deletes it, so a listed child without its key is lost.
   */
  private async lostChildren(record: JobRecord, job: Job): Promise<JobFailure | undefined> {
    // Counts first (SCARD, HLEN): the processed children's results are not read.
    const counts = await job.getDependenciesCount({ processed: true, unprocessed: true });
    if (!counts.unprocessed) return undefined;
    const client = await this.d.producer.queue(record.cluster).backend.client;
    // A job's hash always has its `timestamp`; one key at a time (under Redis Cluster a multi-key command needs one slot).
    const listed = await unprocessedKeys(job);
    const exists = await Promise.all(listed.map((key) => client.hexists(key, 'timestamp')));
    const gone = listed.filter((_, i) => exists[i] === 0);
    if (gone.length === 0) return undefined;
    // A child that finished between the two reads is gone too, but no longer listed: only those still listed are lost.
    const still = new Set(await unprocessedKeys(job));
    const missing = gone.filter((key) => still.has(key)).length;
    if (missing === 0) return undefined;
    const total = counts.unprocessed + (counts.processed ?? 0);
    return {
      code: 'lost',
      message: `${missing} of its ${total} parts vanished from Redis while it ran (a failover to a replica that had not received them, or a restart without persistence), so it could not finish`,
      hint: 'Run it again. If this follows a Redis failover, check that the replicas keep up (`INFO replication`) or enable `appendonly`.',
    };
  }

  /** Once per job (after `tracker.close`): the metric, the audit entry, and a scheduled run's bookkeeping; a lost job's remains are removed. */
  private async closed(record: JobRecord, job: Job | undefined, outcome: FinalRendering['outcome'], lost = false): Promise<void> {
    const jobId = record.jobId;
    if (lost && job)
      await job.remove({ removeChildren: true }).catch((err) => this.d.logger.warn({ err, jobId }, 'could not remove the remains of a lost job'));
    this.d.onFinished?.(record.kind, record.cluster, outcome, job?.finishedOn ? (job.finishedOn - job.timestamp) / 1000 : undefined);
    const command = record.schedule ? `${record.kind} (scheduled ${record.schedule})` : record.kind;
    await this.d.audit.append({ user: record.requestedBy, channel: record.channel, command, cluster: record.cluster, jobId, outcome });
    if (record.schedule) await this.d.schedules?.closed(record, await this.d.tracker.messages(jobId));
  }

  /**
   * Puts the final result on a message the job's progress was shown on; returns where it is
   * shown (the message, or the one posted in its place), or undefined when Slack will not show
   * it anywhere in that channel. Throws when a later attempt may succeed (5xx, network).
   *  - Content refused (`invalid_blocks`, `msg_too_long`, …): the notifier logs it and sends a
   *    plain fallback (summary, what is missing, where the full result is).
   *  - `message_not_found` / `cant_update_message` (deleted, or no longer editable): posted anew
   *    in that channel, once across replicas and reconciles, and tracked.
   *  - `not_in_channel` / `channel_not_found` / `is_archived`: nothing can be posted there (nor
   *    an ephemeral message): logged with the job ID; the result stays in the job record.
   */
  private async deliverFinal(jobId: string, m: { channel: string; ts: string }, message: ChatMessage): Promise<{ channel: string; ts: string } | undefined> {
    try {
      await this.d.notifier.update(m.channel, m.ts, message, { final: true, fallback: fallbackFor(jobId) });
      return m;
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal && GONE_ERRORS.has(refusal.error) && !m.ts.startsWith('ephemeral:')) return await this.repost(jobId, m, message, refusal.error);
      if (refusal && (CHANNEL_ERRORS.has(refusal.error) || CONTENT_ERRORS.has(refusal.error))) {
        this.unshowable(jobId, m, refusal.error);
        return undefined;
      }
      // Anything else (5xx, network, invalid_auth …) may go better later: released and retried.
      throw err;
    }
  }

  /** Posts the final result anew where its message can no longer be edited: once (claimed in Redis). */
  private async repost(
    jobId: string,
    m: { channel: string; ts: string },
    message: ChatMessage,
    why: string,
  ): Promise<{ channel: string; ts: string } | undefined> {
    const claim = `repost:${m.ts}`;
    if (!(await this.d.tracker.claimFinal(jobId, claim))) return undefined; // another replica (or an earlier pass) did
    try {
      const posted = await this.d.notifier.post(m.channel, message, {}, { final: true, fallback: fallbackFor(jobId) });
      // The new message already shows the result: no later pass edits it again.
      await this.d.tracker.claimFinal(jobId, posted.ts);
      await this.d.tracker.addMessage(jobId, { channel: posted.channel, ts: posted.ts });
      this.d.logger.warn(
        { jobId, channel: m.channel, ts: m.ts, error: why, newTs: posted.ts },
        'the result message can no longer be edited; posted the result anew',
      );
      return posted;
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal && (CHANNEL_ERRORS.has(refusal.error) || CONTENT_ERRORS.has(refusal.error))) {
        this.unshowable(jobId, m, refusal.error);
        return undefined;
      }
      await this.d.tracker.releaseFinal(jobId, claim);
      throw err;
    }
  }

  private unshowable(jobId: string, m: { channel: string; ts: string }, error: string): void {
    const why = CHANNEL_ERRORS.has(error) ? 'the bot cannot post in that channel (nor answer ephemerally there)' : 'Slack refused it, and its plain fallback';
    this.d.logger.warn(
      { jobId, channel: m.channel, ts: m.ts, error },
      `the final result cannot be shown in Slack: ${why}; it stays in the job record (job ${jobId})`,
    );
  }

  /** Channels that wait for the job's message and have none yet. */
  private async missingChannels(record: JobRecord, o: { final?: boolean } = {}): Promise<string[]> {
    if (record.post === 'none' || !JOB_KINDS[record.kind].start(record)) return [];
    const wanted = new Set(await this.d.tracker.wanted(record.jobId));
    // A deferred message is wanted once the job has something to show: at the latest, its result.
    if (!record.post || (record.post === 'deferred' && o.final)) wanted.add(record.channel);
    const have = new Set((await this.d.tracker.messages(record.jobId)).map((m) => m.channel));
    return [...wanted].filter((c) => !have.has(c));
  }

  /** The job's final state in the incident channels: who, from where, the verdict in one line, a link to the full result. */
  private async mirrorFinal(record: JobRecord, rendered: FinalRendering): Promise<void> {
    if (!(await this.mirror.channels(record.cluster)).length) return; // no incident channel: no extra Slack call
    const main = (await this.d.tracker.messages(record.jobId)).find((m) => m.channel === record.channel && !m.ts.startsWith('ephemeral:'));
    const link = main ? await this.d.messages.permalink(main.channel, main.ts) : undefined;
    await this.mirror
      .show(
        {
          id: record.jobId,
          cluster: record.cluster,
          kind: record.kind,
          by: record.requestedBy,
          from: record.channel,
          ...(rendered.approvedBy ? { approvedBy: rendered.approvedBy } : {}),
        },
        rendered.outcome,
        { verdict: rendered.verdict ?? rendered.message.text, ...(link ? { link } : {}), final: true },
      )
      .catch((err) => this.d.logger.warn({ err, jobId: record.jobId }, 'could not mirror the result to the incident channel'));
  }

  /**
   * The one reply in the result's thread with the full list a large result could not show: once
   * per message; in a thread already holding one (a re-run posted there), that reply is edited.
   */
  private async postThread(jobId: string, record: JobRecord, m: { channel: string; ts: string }, reply: ChatMessage): Promise<void> {
    const claim = `thread:${m.ts}`;
    if (!(await this.d.tracker.claimFinal(jobId, claim))) return;
    const rootTs = record.threadTs && m.channel === record.channel ? record.threadTs : m.ts;
    try {
      await showDetails(this.d, { channel: m.channel, rootTs, jobId }, reply);
    } catch (err) {
      await this.d.tracker.releaseFinal(jobId, claim);
      this.d.logger.warn({ err, jobId, channel: m.channel }, 'could not post the full list in the thread');
    }
  }

  /** The final message of a finished job, by its kind; undefined when it was answered another way. */
  private async renderFinal(record: JobRecord, outcome: Outcome): Promise<FinalRendering | undefined> {
    const deps = {
      tracker: this.d.tracker,
      notifier: this.d.notifier,
      logger: this.d.logger,
      ...(this.d.incidentChannel ? { incidentChannel: this.d.incidentChannel } : {}),
    };
    return JOB_KINDS[record.kind].final(record, outcome, deps);
  }

  /** The failure of a finished job, or its return value. */
  private outcomeOf(state: string, job: Job | undefined): Outcome {
    const failure: JobFailure | undefined = !job
      ? { code: 'expired', message: 'the job is no longer in the queue (expired or removed)', hint: 'Run the command again.' }
      : state === 'failed'
        ? parseFailure(job.failedReason)
        : undefined;
    return failure ? { failure } : { value: job!.returnvalue };
  }

  /**
   * Finishes jobs whose completion event was missed, and shows the current progress of running
   * ones (a flare review published while the bot was down must still appear).
   */
  async reconcile(): Promise<void> {
    // Approval requests nobody answered in time: closed, so their buttons and the incident channel say so.
    await expireDueApprovals({
      tracker: this.d.tracker,
      notifier: this.d.notifier,
      audit: this.d.audit,
      logger: this.d.logger,
      incidentChannel: this.d.incidentChannel ?? (() => undefined),
      permalink: (channel, ts) => this.d.messages.permalink(channel, ts),
      ...(this.d.approvalHomes ? { republishHomes: this.d.approvalHomes } : {}),
    }).catch((err) => this.d.logger.warn({ err }, 'could not close the expired approval requests'));
    for (const jobId of await this.d.tracker.openJobs()) {
      if (await this.finish(jobId)) continue;
      const record = await this.d.tracker.getRecord(jobId);
      if (!record) {
        await this.d.tracker.close(jobId);
        continue;
      }
      // A job whose message could not be created when the command came (Slack failing): created now.
      const start = JOB_KINDS[record.kind].start(record);
      if (start)
        for (const channel of await this.missingChannels(record))
          await this.d.messages
            .open(record, channel, start, record.threadTs && channel === record.channel ? { threadTs: record.threadTs } : {})
            .catch((err) => this.d.logger.warn({ err, jobId, channel }, 'could not create the job message; will retry'));
      const job = record ? await this.d.producer.getJob(record.cluster, jobId) : undefined;
      if (job?.progress && typeof job.progress === 'object') await this.onProgress(jobId, job.progress);
    }
  }
}

/** A parent job's unprocessed children's keys, paged (SSCAN may repeat a member). */
async function unprocessedKeys(job: Job): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = 0;
  do {
    const page = await job.getDependencies({ unprocessed: { cursor, count: 100 } });
    for (const key of page.unprocessed ?? []) keys.add(key);
    cursor = page.nextUnprocessedCursor ?? 0;
  } while (cursor);
  return [...keys];
}
