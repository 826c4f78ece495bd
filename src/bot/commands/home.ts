import { type HomeCluster, type HomeView, renderHome } from '../../core/slack/blocks/home.ts';
import type { BotServices } from './context.ts';
import { recentJobs, runnableClusters } from './jobs.ts';

/** The user's latest jobs the App Home shows, and how many recent jobs it reads to find them. */
const HOME_JOBS = 10;
const HOME_SCAN = 100;

/**
 * The App Home of one user: the clusters they may run commands on (kind, workers online, last
 * self-test and netcheck verdict) and their latest jobs. Redis not answering shows as unknown.
 */
export async function homeView(services: BotServices, userId: string): Promise<HomeView> {
  const names = await runnableClusters(services, userId);
  const clusters: HomeCluster[] = await Promise.all(
    names.map(async (name) => {
      const config = services.clusters.clusters[name]!;
      const [workers, selftest, netcheck] = await Promise.all([
        services.producer.workerCount(name).catch(() => undefined),
        services.tracker.lastVerdict(name, 'selftest').catch(() => undefined),
        services.tracker.lastVerdict(name, 'netcheck').catch(() => undefined),
      ]);
      return { name, kind: config.kind, workers, selftest, netcheck };
    }),
  );
  const jobs = await recentJobs(services, names, { limit: HOME_JOBS, scan: HOME_SCAN, keep: (r) => r.requestedBy === userId }).catch(() => []);
  return renderHome({ userId, clusters, jobs });
}
