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
export async function homeView(services: BotServices, userId: string): Promise<HomeView> {
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
  return renderHome({ userId, clusters, jobs, approvals });
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
