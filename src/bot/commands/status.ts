import { parseFailure } from '../../contract/failures.ts';
import type { JobFailure } from '../../contract/jobs.ts';
import { type Command, JOB_ID_RE } from '../../core/grammar.ts';
import type { ChatMessage } from '../../core/slack/message.ts';
import { isRunning } from '../../core/slack/blocks/jobs.ts';
import { renderStatus } from '../../core/slack/blocks/status.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import { JOB_KINDS, type KindDeps } from '../kinds/index.ts';
import type { Notifier } from '../notifier.ts';
import type { JobTracker } from '../state/tracker.ts';
import { allowed, type BotServices, type CommandReply, findCluster, type Invocation } from './context.ts';
import { jobRow } from './jobs.ts';

/** What the tracker answers to a kind's writes on the read-only path: nothing is saved, claimed or closed. */
const READS = new Set(['getRecord', 'messages', 'getOutcome', 'getFacts', 'getFlareRequest', 'isFinal', 'wanted', 'openJobs', 'lastVerdict', 'recentJobs']);

/**
 * A tracker that reads and writes nothing back: claims are refused (so nothing is posted or
 * re-posted), saves and releases do nothing. `/cws status` renders a final result with it.
 */
export function readOnlyTracker(tracker: JobTracker): JobTracker {
  return new Proxy(tracker, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      if (READS.has(prop) || /^get[A-Z]/.test(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      if (prop === 'once') return async () => ({ first: false, holder: 'status' });
      if (/^(claim|lock|close)/.test(prop)) return async () => false;
      return async () => undefined;
    },
  });
}

/** A notifier that posts nothing (a kind's final may announce elsewhere; the status path must not). */
const SILENT: Notifier = new Proxy({} as Notifier, {
  get: (_t, prop) =>
    prop === 'then'
      ? undefined
      : async () => {
          throw new Error('read-only: /cws status posts nothing');
        },
});

/**
 * `/cws status JOB_ID` (ephemeral): the job's state now — its progress while it runs, or its
 * final result rendered again by its kind (read-only: nothing is posted, claimed or saved).
 * Authorised like a command on the job's cluster.
 */
export async function status(services: BotServices, inv: Invocation, cmd: Extract<Command, { name: 'status' }>): Promise<CommandReply> {
  const resolved = await resolveJobId(services, cmd.jobId);
  if ('problem' in resolved) return { ack: resolved.problem };
  const record = await services.tracker.getRecord(resolved.jobId).catch(() => undefined);
  if (!record) return { ack: renderProblem(`No job \`${cmd.jobId}\` here.`, 'Job records are kept for 7 days; `/cws jobs` lists the recent ones.') };
  const cluster = findCluster(services, record.cluster);
  if (!cluster) return { ack: renderProblem(`Job \`${cmd.jobId}\` ran on \`${record.cluster}\`, which is no longer configured.`) };
  const decision = await allowed(services, cluster, inv.userId, 'run');
  if (!decision.allowed) {
    await services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: inv.text, cluster: cluster.name, jobId: record.jobId, outcome: 'denied' })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
    return { ack: renderProblem(`Not allowed: ${decision.reason}`) };
  }
  const job = await services.producer.getJob(record.cluster, record.jobId).catch(() => undefined);
  const row = await jobRow(services, record, job?.timestamp ?? Date.now());
  const kind = JOB_KINDS[record.kind];
  let shown: ChatMessage | undefined;
  let note: string | undefined;
  if (isRunning(row.state)) {
    shown = (job?.progress && typeof job.progress === 'object' ? kind.progress?.(record, job.progress)?.message : undefined) ?? kind.start(record);
  } else {
    const failure: JobFailure | undefined = !job
      ? { code: 'expired', message: 'the job is no longer in the queue (expired or removed)', hint: 'Run the command again.' }
      : row.state === 'failed'
        ? parseFailure(job.failedReason)
        : undefined;
    const deps: KindDeps = { tracker: readOnlyTracker(services.tracker), notifier: SILENT, logger: services.logger };
    const rendered = await kind.final(record, failure ? { failure } : { value: job!.returnvalue }, deps).catch((err: unknown) => {
      services.logger.warn({ err, jobId: record.jobId }, '/cws status: could not render the result');
      return undefined;
    });
    shown = rendered?.message;
    if (!shown) note = 'This job answered its requester privately; there is no result to show again.';
  }
  return { ack: renderStatus(row, shown, note) };
}

/** How many recent jobs of each cluster a short ID is looked for among (the tracker keeps as many, for 24 h). */
export const PREFIX_SEARCH = 500;
/** How many of the jobs an ambiguous short ID matches the answer names. */
const SHOW_MATCHES = 5;

/**
 * The full job ID: as given, or the one recent job (last 24 h, the latest PREFIX_SEARCH of each
 * cluster) whose ID starts with the short ID a footer shows (`st-1b2c3d4e`). Never a guess: none,
 * several, or a lookup that failed is answered with what to do instead.
 */
export async function resolveJobId(
  services: Pick<BotServices, 'clusters' | 'tracker' | 'logger'>,
  id: string,
): Promise<{ jobId: string } | { problem: ChatMessage }> {
  if (JOB_ID_RE.test(id)) return { jobId: id };
  const found = new Map<string, number>();
  const unread: string[] = [];
  for (const cluster of Object.keys(services.clusters.clusters)) {
    const recent = await services.tracker.recentJobs(cluster, PREFIX_SEARCH).catch((err: unknown) => {
      services.logger.warn({ err, cluster }, '/cws status: could not read the recent jobs');
      unread.push(cluster);
      return [];
    });
    for (const j of recent) if (j.jobId.startsWith(id)) found.set(j.jobId, Math.max(j.at, found.get(j.jobId) ?? 0));
  }
  if (found.size === 1 && !unread.length) return { jobId: [...found.keys()][0]! };
  const fullId = 'Use the full job ID (in the metadata of the job’s message), or find it with `/cws jobs`.';
  if (found.size > 1 || (found.size === 1 && unread.length)) {
    // Newest first; a match is never picked when another may exist (several, or a cluster not read).
    const ids = [...found].sort((a, b) => b[1] - a[1]).map(([jobId]) => `\`${jobId}\``);
    const listed = ids.slice(0, SHOW_MATCHES).join(', ') + (ids.length > SHOW_MATCHES ? ` and ${ids.length - SHOW_MATCHES} more` : '');
    return {
      problem: renderProblem(
        found.size > 1
          ? `${found.size} recent jobs start with \`${id}\`: ${listed}. I did not pick one.`
          : `\`${id}\` matches ${listed}, but the recent jobs of ${unread.map((c) => `\`${c}\``).join(', ')} could not be read (Redis did not answer), so it may not be the only one.`,
        `Give more of the job ID, or the full one. ${fullId}`,
      ),
    };
  }
  if (unread.length)
    return {
      problem: renderProblem(
        `Could not look up \`${id}\`: the recent jobs of ${unread.map((c) => `\`${c}\``).join(', ')} could not be read (the bot’s Redis did not answer).`,
        `Try again in a minute, or give the full job ID. ${fullId}`,
      ),
    };
  return {
    problem: renderProblem(
      `No job of the last 24 h starts with \`${id}\` (short IDs are looked up among the latest ${PREFIX_SEARCH} jobs of each cluster of the last 24 h).`,
      'An older job needs its full ID: it is in the metadata of the job’s message (`/cws jobs` lists the recent ones in full).',
    ),
  };
}
