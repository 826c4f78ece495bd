import type { Logger } from 'pino';
import { z } from 'zod';
import { type FollowUp, latestFollowUps, livingMessage, type LivingState, outcomeLine } from '../core/slack/blocks/living.ts';
import type { ChatMessage } from '../core/slack/message.ts';
import { howToGet } from './kinds/kind.ts';
import type { Notifier } from './notifier.ts';
import type { JobTracker } from './state/tracker.ts';

/**
 * The bot's side of living result messages (src/core/slack/blocks/living.ts): a result message
 * is stored as first shown, the changes its buttons started are recorded beside it, and the
 * message is edited to show them (its finished buttons replaced by their outcomes).
 */

const FollowUpSchema = z.object({
  jobId: z.string(),
  action: z.enum(['set_classifier_priority', 'disable_network_detections', 'disable_cws', 'revert', 'restart_agent']),
  node: z.string().optional(),
  by: z.string(),
  startedAt: z.number(),
  endedAt: z.number().optional(),
  state: z.enum(['running', 'done', 'failed']),
  detail: z.string().optional(),
});

const Stored = z.object({ text: z.string(), blocks: z.array(z.any()).optional(), metadata: z.any().optional() });

export interface LivingDeps {
  tracker: JobTracker;
  notifier: Notifier;
  logger: Logger;
}

/** The changes started from a job's buttons (unreadable entries left out). */
export async function followUpsOf(tracker: JobTracker, jobId: string): Promise<FollowUp[]> {
  const raw = await tracker.getFollowUps(jobId).catch(() => []);
  return raw.flatMap((r) => {
    const p = FollowUpSchema.safeParse(r);
    return p.success ? [p.data as FollowUp] : [];
  });
}

/** What the result shows beyond its stored message: its follow-ups, and a schedule's last unchanged check. */
export async function livingStateOf(tracker: JobTracker, jobId: string): Promise<LivingState> {
  const [followUps, lastChecked] = await Promise.all([followUpsOf(tracker, jobId), tracker.getLastChecked(jobId).catch(() => undefined)]);
  return { followUps, ...(lastChecked !== undefined ? { lastChecked } : {}) };
}

/**
 * A result message as its kind rendered it: stored (the later edits start from it), and shown
 * with what was already recorded (a result rendered again, e.g. by `/cws status`).
 */
export async function rememberResult(tracker: JobTracker, jobId: string, message: ChatMessage): Promise<ChatMessage> {
  await tracker.saveLive(jobId, message);
  return livingMessage(message, jobId, await livingStateOf(tracker, jobId));
}

/** The follow-up of this action (and node) already started from the result, if any: a button that did its work is not run again. */
export async function alreadyDone(tracker: JobTracker, sourceJobId: string, match: (f: FollowUp) => boolean): Promise<FollowUp | undefined> {
  return latestFollowUps(await followUpsOf(tracker, sourceJobId)).find((f) => f.state !== 'failed' && match(f));
}

/** What happened, in one line for the person who clicked a button that already did its work. */
export const whatHappened = (f: FollowUp) => outcomeLine(f).replace(/^:[a-z_]+: /, '');

/**
 * Records a change started from (or ended on) a result's button, then edits the result's
 * messages to show it. A start never overwrites an end (a quick job may end before its start is
 * written). Never throws: the result message is a courtesy, the change itself is already done.
 */
export async function noteFollowUp(d: LivingDeps, sourceJobId: string, f: FollowUp): Promise<void> {
  try {
    const earlier = (await followUpsOf(d.tracker, sourceJobId)).find((x) => x.jobId === f.jobId);
    const entry: FollowUp = earlier && f.state !== 'running' ? { ...f, startedAt: earlier.startedAt, by: earlier.by } : f;
    await d.tracker.saveFollowUp(sourceJobId, f.jobId, entry, { ifAbsent: f.state === 'running' });
    await refreshResult(d, sourceJobId);
  } catch (err) {
    d.logger.warn({ err, sourceJobId, followUp: f.jobId }, 'could not show the follow-up on its result message');
  }
}

/**
 * Edits every message of the result to show its whole state now (follow-ups and "last checked"),
 * from the stored message: the one path every later edit takes (a follow-up here, a schedule's
 * unchanged run in src/bot/schedules/service.ts), so whichever comes last shows both.
 * `o.stored`: the message to start from when none is stored (a scheduled result whose stored
 * copy expired); `o.also`: a message of the result the tracker may not list.
 */
export async function refreshResult(
  d: LivingDeps,
  sourceJobId: string,
  o: { stored?: ChatMessage; also?: { channel: string; ts: string }[] } = {},
): Promise<void> {
  const live = Stored.safeParse(await d.tracker.getLive(sourceJobId));
  const stored = live.success ? (live.data as ChatMessage) : o.stored;
  if (!stored) return; // a result from before living messages, or expired: left as it is
  const message = livingMessage(stored, sourceJobId, await livingStateOf(d.tracker, sourceJobId));
  const targets = new Map<string, { channel: string; ts: string }>();
  for (const m of [...(await d.tracker.messages(sourceJobId)), ...(o.also ?? [])]) targets.set(`${m.channel}:${m.ts}`, m);
  for (const m of targets.values()) {
    if (m.ts.startsWith('ephemeral:')) continue;
    await d.notifier
      .update(m.channel, m.ts, message, { amend: true, fallback: { howToGet: howToGet(sourceJobId) } })
      .catch((err) => d.logger.warn({ err, sourceJobId, channel: m.channel }, 'could not edit the result message to show its follow-up'));
  }
}

/**
 * The one details reply of a thread (what a large result cannot show): posted once, and edited
 * by a later result in the same thread (a re-run of the failed nodes) instead of adding another.
 * Throws when Slack may take it later (the caller releases its claim and retries).
 */
export async function showDetails(d: LivingDeps, where: { channel: string; rootTs: string; jobId: string }, reply: ChatMessage): Promise<void> {
  const fallback = { howToGet: howToGet(where.jobId) };
  const existing = await d.tracker.getThreadReply(where.channel, where.rootTs);
  if (existing) {
    await d.notifier.update(where.channel, existing, reply, { amend: true, fallback });
    return;
  }
  const posted = await d.notifier.post(where.channel, reply, { thread_ts: where.rootTs }, { final: true, fallback });
  await d.tracker.saveThreadReply(where.channel, where.rootTs, posted.ts);
}
