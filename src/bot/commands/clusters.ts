import type { BotServices, CommandReply } from './context.ts';
import { renderClusters, type ClusterRow } from '../../core/slack/blocks/clusters.ts';

/** `/cws clusters`: configured clusters, their kind, and whether a worker is connected. */
export async function clusters(services: BotServices): Promise<CommandReply> {
  const rows: ClusterRow[] = await Promise.all(
    Object.entries(services.clusters.clusters).map(async ([name, config]) => {
      let workers: number | undefined;
      try {
        workers = await services.producer.workerCount(name);
      } catch {
        workers = undefined;
      }
      return { name, kind: config.kind, workers };
    }),
  );
  return { ack: renderClusters(rows) };
}
