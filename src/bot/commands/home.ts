import { type HomeApproval, type HomeCluster, type HomeView, HOME_MAX_APPROVALS, renderHome } from '../../core/slack/blocks/home.ts';
import { type ApprovalRequest, openApprovalsFor } from './approval.ts';
import type { BotServices } from './context.ts';
import { recentJobs, runnableClusters } from './jobs.ts';

/** The user's latest jobs the App Home shows, and how many recent jobs it reads to find them. */
const HOME_JOBS = 10;
const HOME_SCAN = 100;

/**
 * The App Home of one user: their open approval requests (to approve, and their own waiting),
 * the clusters they may run commands on (kind, workers online, last self-test and netcheck
 * verdict) and their latest jobs. Redis not answering shows as unknown, or as nothing open.
 */
export async function homeView(services: BotServices, userId: string, notice?: string): Promise<HomeView> {
  const names = await runnableClusters(services, userId);
  const [clusters, jobs, approvals] = await Promise.all([
    Promise.all(
      names.map(async (name): Promise<HomeCluster> => {
        const config = services.clusters.clusters[name]!;
        const [workers, selftest, netcheck] = await Promise.all([
          services.producer.workerCount(name).catch(() => undefined),
          services.tracker.lastVerdict(name, 'selftest').catch(() => undefined),
          services.tracker.lastVerdict(name, 'netcheck').catch(() => undefined),
        ]);
        return { name, kind: config.kind, workers, selftest, netcheck };
      }),
    ),
    recentJobs(services, names, { limit: HOME_JOBS, scan: HOME_SCAN, keep: (r) => r.requestedBy === userId }).catch(() => []),
    homeApprovals(services, userId).catch((err) => {
      services.logger.warn({ err, user: userId }, 'App Home: could not read the open approval requests');
      return { toApprove: [], mine: [] };
    }),
  ]);
  return renderHome({ userId, clusters, jobs, approvals, ...(notice ? { notice } : {}) });
}

/** The open requests the home lists, each with a link to its message (where Approve and Reject are). */
async function homeApprovals(services: BotServices, userId: string): Promise<{ toApprove: HomeApproval[]; mine: HomeApproval[] }> {
  const open = await openApprovalsFor(services, userId);
  const withLink = (list: ApprovalRequest[]) =>
    Promise.all(
      list.map(async (r, i): Promise<HomeApproval> => {
        // Only the ones shown are linked: one chat.getPermalink each.
        const link = i < HOME_MAX_APPROVALS && r.messageTs ? await services.slack.permalink(r.channel, r.messageTs).catch(() => undefined) : undefined;
        return {
          approvalId: r.approvalId,
          cluster: r.cluster,
          action: r.action,
          ...(r.node ? { node: r.node } : {}),
          requestedBy: r.requestedBy,
          expiresAt: r.expiresAt,
          ...(link ? { link } : {}),
        };
      }),
    );
  const [toApprove, mine] = await Promise.all([withLink(open.toApprove), withLink(open.mine)]);
  return { toApprove, mine };
}

/**
 * The most Homes one change republishes: views.publish is Slack's tier 4 (100+ a minute), and each
 * Home also asks for up to ~20 permalinks (its requests and latest jobs); the requester comes first,
 * then the approvers in config order; the others see the change when they next open their Home.
 */
export const MAX_HOME_REFRESH = 10;

/**
 * Republishes the App Home of each of `users` (deduplicated, at most MAX_HOME_REFRESH), so what it
 * lists follows a change without waiting for the next `app_home_opened`. Never throws: a Home
 * that could not be published is logged and shows fresh the next time its user opens it.
 */
export async function publishHomes(services: BotServices, users: Iterable<string>): Promise<void> {
  const ids = [...new Set(users)].filter((u) => /^[UW][A-Z0-9]{2,}$/.test(u)).slice(0, MAX_HOME_REFRESH);
  await Promise.all(
    ids.map(async (user) => {
      try {
        await services.slack.publishHome(user, (await homeView(services, user)) as unknown as Record<string, unknown>);
      } catch (err) {
        services.logger.warn({ err, user }, 'could not republish the App Home');
      }
    }),
  );
}

/** Answers a click on a user's Home (which has no response_url): the Home, republished with `notice` at its top. */
export async function publishHomeNotice(services: BotServices, userId: string, notice: string): Promise<void> {
  try {
    await services.slack.publishHome(userId, (await homeView(services, userId, notice)) as unknown as Record<string, unknown>);
  } catch (err) {
    services.logger.warn({ err, user: userId }, 'could not answer on the App Home');
  }
}
