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

/** How many recent jobs of each cluster a short ID is looked for among. */
const PREFIX_SEARCH = 500;

/**
 * The full job ID: as given, or the one recent job (last 24 h, any cluster) whose ID starts with
 * the short ID a footer shows (`st-1b2c3d4e`). None or several: what to do instead.
 */
export async function resolveJobId(services: BotServices, id: string): Promise<{ jobId: string } | { problem: ChatMessage }> {
  if (JOB_ID_RE.test(id)) return { jobId: id };
  const found = new Set<string>();
  for (const cluster of Object.keys(services.clusters.clusters)) {
    const recent = await services.tracker.recentJobs(cluster, PREFIX_SEARCH).catch(() => []);
    for (const j of recent) if (j.jobId.startsWith(id)) found.add(j.jobId);
  }
  if (found.size === 1) return { jobId: [...found][0]! };
  if (found.size > 1)
    return { problem: renderProblem(`${found.size} recent jobs start with \`${id}\`.`, 'Give more of the job ID (`/cws jobs` lists them in full).') };
  return {
    problem: renderProblem(
      `No job of the last 24 h starts with \`${id}\`.`,
      'An older job needs its full ID (in the metadata of its message); `/cws jobs` lists the recent ones.',
    ),
  };
}
