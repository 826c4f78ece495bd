import type { Command } from '../../core/grammar.ts';
import { renderJobs } from '../../core/slack/blocks/jobs.ts';
import type { JobRow } from '../../core/slack/blocks/jobs.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { JobRecord } from '../state/records.ts';
import { allowed, type BotServices, type CommandReply, findCluster, type Invocation } from './context.ts';

/** How many jobs `/cws jobs` shows, and from how far back. */
export const JOBS_SHOWN = 20;
export const JOBS_HOURS = 24;

/** The clusters the user may run commands on (the `access.run` lists), by name. */
export async function runnableClusters(services: BotServices, userId: string): Promise<string[]> {
  const names = Object.keys(services.clusters.clusters);
  const ok = await Promise.all(names.map(async (name) => (await allowed(services, findCluster(services, name)!, userId, 'run')).allowed));
  return names.filter((_, i) => ok[i]);
}

/** A job as the history shows it: its record, BullMQ's state of it, a link to its message. */
export async function jobRow(services: BotServices, record: JobRecord, at: number): Promise<JobRow> {
  const state = await services.producer
    .queue(record.cluster)
    .getJobState(record.jobId)
    .catch(() => 'unknown');
  const shown = (await services.tracker.messages(record.jobId)).find((m) => !m.ts.startsWith('ephemeral:'));
  const link = shown ? await services.slack.permalink(shown.channel, shown.ts).catch(() => undefined) : undefined;
  return { jobId: record.jobId, kind: record.kind, cluster: record.cluster, requestedBy: record.requestedBy, state, at, ...(link ? { link } : {}) };
}

/** The recent jobs of these clusters, newest first, whose record `keep` accepts (at most `limit`, reading at most `scan`). */
export async function recentJobs(
  services: BotServices,
  clusters: string[],
  o: { limit: number; scan?: number; keep?: (r: JobRecord) => boolean },
): Promise<JobRow[]> {
  const perCluster = await Promise.all(clusters.map((c) => services.tracker.recentJobs(c, o.scan ?? o.limit)));
  const ids = perCluster
    .flat()
    .sort((a, b) => b.at - a.at)
    .slice(0, o.scan ?? o.limit);
  // In parallel: within the 3 s of a slash command's ack, whatever Slack's permalink calls take.
  const records = await Promise.all(ids.map(async ({ jobId, at }) => ({ at, record: await services.tracker.getRecord(jobId) })));
  const kept = records.filter((r): r is { at: number; record: JobRecord } => Boolean(r.record) && (!o.keep || o.keep(r.record!))).slice(0, o.limit);
  return Promise.all(kept.map(({ record, at }) => jobRow(services, record, at)));
}

/** `/cws jobs [cluster]`: running and recent jobs (last 24 h) of the clusters the user may run on. */
export async function jobs(services: BotServices, inv: Invocation, cmd: Extract<Command, { name: 'jobs' }>): Promise<CommandReply> {
  let clusters: string[];
  if (cmd.cluster) {
    const cluster = findCluster(services, cmd.cluster);
    if (!cluster) return { ack: renderProblem(`Unknown cluster \`${cmd.cluster}\`.`, 'See `/cws clusters`.') };
    const decision = await allowed(services, cluster, inv.userId, 'run');
    if (!decision.allowed) {
      await services.audit
        .append({ user: inv.userId, channel: inv.channelId, command: inv.text, cluster: cluster.name, outcome: 'denied' })
        .catch((err) => services.logger.warn({ err }, 'audit append failed'));
      return { ack: renderProblem(`Not allowed: ${decision.reason}`) };
    }
    clusters = [cluster.name];
  } else clusters = await runnableClusters(services, inv.userId);
  try {
    const rows = await recentJobs(services, clusters, { limit: JOBS_SHOWN });
    return { ack: renderJobs(rows, { cluster: cmd.cluster, hours: JOBS_HOURS }) };
  } catch (err) {
    services.logger.warn({ err }, '/cws jobs: Redis did not answer');
    return { ack: renderProblem('Could not read the jobs: the bot’s Redis did not answer.', 'Try again in a minute.') };
  }
}
