import type { Logger } from 'pino';
import type { JobRecord, TrackedMessage } from './state/records.ts';
import type { JobTracker } from './state/tracker.ts';
import { howToGet } from './kinds/kind.ts';
import { CHANNEL_ERRORS, type ChatMessage, type Notifier, refusalOf } from './notifier.ts';

/** The slice of `WebClient` that finds a message again by the job ID in its metadata. */
export interface HistoryApi {
  conversations: {
    history(args: { channel: string; limit: number; include_all_metadata: boolean }): Promise<{ messages?: HistoryMessage[] }>;
    replies(args: { channel: string; ts: string; limit: number; include_all_metadata: boolean }): Promise<{ messages?: HistoryMessage[] }>;
  };
  /** chat.getPermalink: the incident mirror links each job to its full result. */
  chat?: { getPermalink(args: { channel: string; message_ts: string }): Promise<{ permalink?: string }> };
}

interface HistoryMessage {
  ts?: string;
  bot_id?: string;
  metadata?: { event_type?: string; event_payload?: { jobId?: unknown } };
}

/** Event type of a job's message until its result replaces it (the result's own type then). */
export const JOB_PENDING_EVENT = 'cws_job_pending';
/** How many recent messages are searched for the one an ambiguous post may have created. */
const HISTORY_WINDOW = 30;
/** One replica posts a job's message at a time; a crashed one gives way after this. */
const POSTING_LOCK_MS = 30_000;

export type Opened = { ok: true; message: TrackedMessage; existing: boolean } | { ok: false; reason: 'busy' } | { ok: false; reason: 'channel'; error: string };

/**
 * The one place a job's message in a channel is created: once per job and channel whatever
 * Slack does. A post that fails ambiguously (Slack answered 5xx or the connection broke, so it
 * may have applied it) is retried only after the channel's recent messages show it did not
 * land — found by the job ID every message of ours carries in its metadata.
 */
export class JobMessages {
  constructor(private readonly d: { tracker: JobTracker; notifier: Notifier; history: HistoryApi; logger: Logger }) {}

  /** The job's message in `channel`: the one already there, or a new one showing `message`. */
  async open(
    record: Pick<JobRecord, 'jobId' | 'cluster' | 'kind'>,
    channel: string,
    message: ChatMessage,
    o: { threadTs?: string; final?: boolean } = {},
  ): Promise<Opened> {
    const jobId = record.jobId;
    // Wanted from now on: if Slack fails now, the job's lifecycle creates it later.
    const firstTry = await this.d.tracker.want(jobId, channel);
    const mine = (await this.d.tracker.messages(jobId)).find((m) => m.channel === channel);
    if (mine) return { ok: true, message: mine, existing: true };
    if (!(await this.d.tracker.lock(`post:${jobId}:${channel}`, POSTING_LOCK_MS))) return { ok: false, reason: 'busy' };
    try {
      // Another replica may have posted between our look and the lock.
      const again = (await this.d.tracker.messages(jobId)).find((m) => m.channel === channel);
      if (again) return { ok: true, message: again, existing: true };
      // An earlier try failed: its last post may have landed all the same (Slack applied it, then
      // answered 5xx). Found in the channel, it is the job's message; Slack not answering, try later.
      if (!firstTry) {
        const landed = await this.find(jobId, channel, o.threadTs);
        if (landed) {
          // It may show the start only: returned as existing, so the caller's final pass edits it.
          await this.d.tracker.addMessage(jobId, landed);
          return { ok: true, message: landed, existing: true };
        }
      }
      const tagged: ChatMessage = message.metadata
        ? message
        : { ...message, metadata: { event_type: JOB_PENDING_EVENT, event_payload: { jobId, cluster: record.cluster, kind: record.kind } } };
      let posted: { channel: string; ts: string };
      try {
        posted = await this.d.notifier.post(channel, tagged, o.threadTs ? { thread_ts: o.threadTs } : {}, {
          ...(o.final ? { final: true, fallback: { howToGet: howToGet(jobId) } } : {}),
          findPosted: () => this.find(jobId, channel, o.threadTs),
        });
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal && CHANNEL_ERRORS.has(refusal.error)) return { ok: false, reason: 'channel', error: refusal.error };
        throw err;
      }
      const tracked = { channel: posted.channel, ts: posted.ts };
      if (o.final) await this.d.tracker.claimFinal(jobId, tracked.ts);
      await this.d.tracker.addMessage(jobId, tracked);
      return { ok: true, message: tracked, existing: false };
    } finally {
      await this.d.tracker.unlock(`post:${jobId}:${channel}`);
    }
  }

  /** A link to a message (chat.getPermalink), or undefined when Slack gives none. */
  async permalink(channel: string, ts: string): Promise<string | undefined> {
    if (!this.d.history.chat || ts.startsWith('ephemeral:')) return undefined;
    return (await this.d.history.chat.getPermalink({ channel, message_ts: ts }).catch(() => undefined))?.permalink;
  }

  /** Our message for this job among the channel's (or the thread's) recent ones; throws when Slack cannot tell. */
  async find(jobId: string, channel: string, threadTs?: string): Promise<{ channel: string; ts: string } | undefined> {
    const r = threadTs
      ? await this.d.history.conversations.replies({ channel, ts: threadTs, limit: HISTORY_WINDOW, include_all_metadata: true })
      : await this.d.history.conversations.history({ channel, limit: HISTORY_WINDOW, include_all_metadata: true });
    const hit = (r.messages ?? []).find((m) => m.bot_id !== undefined && m.metadata?.event_payload?.jobId === jobId && typeof m.ts === 'string');
    return hit ? { channel, ts: hit.ts! } : undefined;
  }
}
