import type { Logger } from 'pino';
import { authorise, groupsIn, type Permission } from '../../core/access.ts';
import { renderResultsPointer } from '../../core/slack/blocks/pointer.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { AuditLog } from '../state/audit.ts';
import { type ClusterConfig, type ClustersFile, clusterNamed } from '../../config/clusters.ts';
import type { CommandLimiter } from '../state/command-limiter.ts';
import type { JobProducer } from '../state/producer.ts';
import type { JobRecord } from '../state/records.ts';
import type { JobTracker } from '../state/tracker.ts';
import type { JobMessages } from '../job-messages.ts';
import type { ChatMessage, Notifier } from '../notifier.ts';
import { IncidentMirror } from '../kinds/incident-mirror.ts';
import type { Schedules } from '../schedules/service.ts';

/** What a subcommand handler may use. Everything is passed in; nothing is global. */
export interface BotServices {
  clusters: ClustersFile;
  producer: JobProducer;
  tracker: JobTracker;
  notifier: Notifier;
  audit: AuditLog;
  logger: Logger;
  /** The few Slack calls beyond posting messages. */
  slack: SlackExtras;
  /** Bounds the commands one user, and one cluster, start per window. */
  limiter: CommandLimiter;
  /** Creates a job's message in a channel, once whatever Slack does. */
  messages: JobMessages;
  /**
   * The relay of job results. `finish` posts the final result now if the job already finished;
   * `show` also brings a new message up to the job's current progress (both close the race
   * between the job and the post of its message).
   */
  results: { finish(jobId: string): Promise<boolean>; show(jobId: string): Promise<void> };
  /** Scheduled checks (`/cws schedule`, src/bot/schedules/). */
  schedules?: Schedules;
}

export interface SlackExtras {
  /** The user's profile email (needs users:read.email), or undefined. */
  userEmail(userId: string): Promise<string | undefined>;
  openView(triggerId: string, view: Record<string, unknown>): Promise<void>;
  /** A link to a message (chat.getPermalink). */
  permalink(channel: string, ts: string): Promise<string | undefined>;
  /** Which of `groupIds` (S…) the user belongs to. */
  groupsOf(userId: string, groupIds: string[]): Promise<Set<string>>;
  /** Publishes the user's App Home tab (views.publish). */
  publishHome(userId: string, view: Record<string, unknown>): Promise<void>;
}

export interface Invocation {
  userId: string;
  channelId: string;
  /** The raw text after `/cws`, for the audit log. */
  text: string;
  /** Replies privately to the invoking user (response_url), for problems found after the ack. */
  respond: (msg: ChatMessage) => Promise<void>;
  /** From the slash command or the click: opening a modal must happen within 3 s of it. */
  triggerId?: string;
}

export interface CommandReply {
  /** The ack's body (shown only to the user). Absent: an empty ack. */
  ack?: ChatMessage;
  /** Work that happens after the ack (posting to the channel). Never awaited by the ack. */
  after?: () => Promise<void>;
}

export function findCluster(services: BotServices, name: string): { name: string; config: ClusterConfig } | undefined {
  const config = clusterNamed(services.clusters, name);
  return config ? { name, config } : undefined;
}

type AuditFn = (outcome: 'denied' | 'invalid', extra?: { detail?: string }) => Promise<unknown>;

/**
 * The preamble of every cluster command: the cluster must be configured and the user allowed.
 * Returns the cluster, or the ephemeral reply that says what is wrong (and audits it).
 */
export async function clusterFor(
  services: BotServices,
  inv: Invocation,
  name: string,
  audit: AuditFn,
): Promise<{ cluster: { name: string; config: ClusterConfig } } | { reply: CommandReply }> {
  const cluster = findCluster(services, name);
  if (!cluster) {
    await audit('invalid', { detail: 'unknown cluster' });
    const known = Object.keys(services.clusters.clusters)
      .slice(0, 20)
      .map((n) => `\`${n}\``)
      .join(', ');
    return { reply: { ack: renderProblem(`Unknown cluster \`${name}\`.`, `Configured clusters: ${known}. See \`/cws clusters\`.`) } };
  }
  const decision = await allowed(services, cluster, inv.userId, 'run');
  if (!decision.allowed) {
    await audit('denied');
    return { reply: { ack: renderProblem(`Not allowed: ${decision.reason}`) } };
  }
  const limited = await services.limiter.take(inv.userId, cluster.name);
  if (!limited.ok) {
    await audit('denied', { detail: `rate limited (${limited.scope})` });
    const who = limited.scope === 'user' ? 'You have' : `\`${cluster.name}\` has`;
    return {
      reply: {
        ack: renderProblem(
          `${who} started ${limited.limit} commands in the last ${limited.windowSec} s, the most allowed; nothing was started.`,
          `Try again in ${limited.retryAfterSec} s.`,
        ),
      },
    };
  }
  return { cluster };
}

/** `authorise`, with the user's membership of the user groups named in the lists resolved first. */
export async function allowed(
  services: { slack: Pick<SlackExtras, 'groupsOf'> },
  cluster: { name: string; config: ClusterConfig },
  userId: string,
  permission: Permission,
) {
  const groups = groupsIn(cluster.config);
  const mine = groups.length ? await services.slack.groupsOf(userId, groups).catch(() => new Set<string>()) : new Set<string>();
  return authorise(cluster, userId, permission, mine);
}

/**
 * After the ack: the job's message in the invoking channel — created once whatever Slack does
 * (src/slack/job-messages.ts) — then its result if the job already finished. A command that
 * joined a job already shown in this channel answers privately with a link to that message.
 * When Slack fails now, the job's own lifecycle (reconcile) creates the message later.
 */
export async function showJob(
  services: BotServices,
  inv: Invocation,
  record: { jobId: string; cluster: string; kind: JobRecord['kind'] },
  message: ChatMessage,
  o: { what: string; attached?: boolean; threadTs?: string; channel?: string },
): Promise<void> {
  // The cluster's own results channel (resultsChannelFor), or where it was asked.
  const channel = o.channel ?? inv.channelId;
  if (o.attached) {
    const here = (await services.tracker.messages(record.jobId)).find((m) => m.channel === channel && !m.ts.startsWith('ephemeral:'));
    if (here) {
      const link = await services.slack.permalink(here.channel, here.ts).catch(() => undefined);
      await inv.respond(
        renderProblem(
          `${capitalise(o.what)} is already running (job ${record.jobId}); its result will show in ${link ? `<${link}|its message>` : 'its message in this channel'}.`,
          'Nothing new was started.',
        ),
      );
      return;
    }
  }
  try {
    const opened = await services.messages.open(record, channel, message, o.threadTs ? { threadTs: o.threadTs } : {});
    if (!opened.ok && opened.reason === 'channel') {
      services.logger.warn({ jobId: record.jobId, channel, error: opened.error }, 'cannot post the job message');
      await inv.respond(
        channel === inv.channelId
          ? renderProblem(
              `${capitalise(o.what)} is running (job ${record.jobId}), but I cannot post in this channel (${opened.error}).`,
              'Invite me with `/invite @cws`, or run the command in a channel I am a member of.',
            )
          : renderProblem(
              `${capitalise(o.what)} is running (job ${record.jobId}), but I cannot post in <#${channel}>, where \`${record.cluster}\` posts its results (${opened.error}).`,
              `Invite me there with \`/invite @cws\`, or change \`resultsChannel\` of \`${record.cluster}\` in the clusters file.`,
            ),
      );
      return;
    }
    if (channel !== inv.channelId && opened.ok) {
      // Routed to the cluster's results channel: the asking channel gets a pointer to it.
      const link = await services.slack.permalink(opened.message.channel, opened.message.ts).catch(() => undefined);
      await inv.respond(renderResultsPointer(capitalise(o.what), channel, link)).catch(() => {});
    }
    await mirrorStart(services, record.jobId);
  } catch (err) {
    services.logger.warn({ err, jobId: record.jobId, channel: inv.channelId }, 'could not post the job message now; the job will post it');
    await inv
      .respond(
        renderProblem(
          `${capitalise(o.what)} is running (job ${record.jobId}). Slack did not take its message just now: it will be posted here as soon as Slack does.`,
        ),
      )
      .catch(() => {});
    return;
  }
  await services.results.show(record.jobId);
}

/** The cluster's incident mirror (issue 17), from the services a handler has. */
export function incidentMirror(services: BotServices): IncidentMirror {
  return new IncidentMirror({
    tracker: services.tracker,
    notifier: services.notifier,
    logger: services.logger,
    incidentChannel: (cluster) => findCluster(services, cluster)?.config.incidentChannel,
  });
}

/** A job that just started, in the cluster's incident channels: who, from where, a link to its message. */
async function mirrorStart(services: BotServices, jobId: string): Promise<void> {
  try {
    const record = await services.tracker.getRecord(jobId);
    if (!record) return;
    const mirror = incidentMirror(services);
    if (!(await mirror.channels(record.cluster)).length) return;
    const [approval, messages] = await Promise.all([services.tracker.getJobApproval(jobId), services.tracker.messages(jobId)]);
    const main = messages.find((m) => m.channel === record.channel && !m.ts.startsWith('ephemeral:'));
    const link = main ? await services.slack.permalink(main.channel, main.ts).catch(() => undefined) : undefined;
    await mirror.show(
      { id: jobId, cluster: record.cluster, kind: record.kind, by: record.requestedBy, from: record.channel, approvedBy: approval?.approvedBy },
      'running',
      link ? { link } : {},
    );
  } catch (err) {
    services.logger.warn({ err, jobId }, 'could not mirror the job to the incident channel');
  }
}

/**
 * Where a command's job message goes: the cluster's `resultsChannel` when it has one (and the
 * command came from elsewhere), else the asking channel. A follow-up in a thread stays there.
 */
export function resultsChannelFor(services: BotServices, cluster: string, inv: Invocation, threadTs?: string): string {
  if (threadTs) return inv.channelId;
  return findCluster(services, cluster)?.config.resultsChannel ?? inv.channelId;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
