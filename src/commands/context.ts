import type { Logger } from 'pino';
import { authorise, groupsIn, type Permission } from '../access/policy.ts';
import { renderProblem } from '../slack/blocks/usage.ts';
import type { AuditLog } from '../audit/log.ts';
import { type ClusterConfig, type ClustersFile, clusterNamed } from '../config/clusters.ts';
import type { CommandLimiter } from '../jobs/command-limiter.ts';
import type { JobProducer } from '../jobs/producer.ts';
import type { JobTracker } from '../jobs/tracker.ts';
import type { ChatMessage, Notifier } from '../slack/notifier.ts';

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
  /** Posts the final result now if the job already finished (closes the enqueue/post race). */
  finishIfDone: (jobId: string) => Promise<unknown>;
}

export interface SlackExtras {
  /** The user's profile email (needs users:read.email), or undefined. */
  userEmail(userId: string): Promise<string | undefined>;
  openView(triggerId: string, view: Record<string, unknown>): Promise<void>;
  /** Which of `groupIds` (S…) the user belongs to. */
  groupsOf(userId: string, groupIds: string[]): Promise<Set<string>>;
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
    const known = Object.keys(services.clusters.clusters).slice(0, 20).map((n) => `\`${n}\``).join(', ');
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
export async function allowed(services: BotServices, cluster: { name: string; config: ClusterConfig }, userId: string, permission: Permission) {
  const groups = groupsIn(cluster.config);
  const mine = groups.length ? await services.slack.groupsOf(userId, groups).catch(() => new Set<string>()) : new Set<string>();
  return authorise(cluster, userId, permission, mine);
}
