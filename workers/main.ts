import type { ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { ConfigError } from '../src/config/env.ts';
import { type ClustersFile, clusterNamed } from '../src/config/clusters.ts';
import { createTarget } from './targets/index.ts';
import { type ClusterWorker, createClusterWorker } from './worker.ts';

export interface WorkerProcess {
  clusters: string[];
  close(): Promise<void>;
}

/** Starts one BullMQ worker per served cluster (`WORKER_CLUSTERS`, or every configured cluster). */
export async function startWorkers(opts: {
  clusters: ClustersFile;
  serve?: string[];
  connection: ConnectionOptions & object;
  logger: Logger;
  lockDurationMs?: number;
  concurrency?: number;
}): Promise<WorkerProcess> {
  const names = opts.serve ?? Object.keys(opts.clusters.clusters);
  for (const n of names) {
    if (!clusterNamed(opts.clusters, n)) throw new ConfigError(`WORKER_CLUSTERS: unknown cluster "${n}" (not in CWS_CONFIG)`);
  }
  const workers: ClusterWorker[] = [];
  const closers: (() => Promise<void>)[] = [];
  const served: string[] = [];
  for (const name of names) {
    const config = opts.clusters.clusters[name]!;
    let target;
    try {
      target = await createTarget(name, config);
    } catch (err) {
      // e.g. a kubeconfig that cannot be read or has no such context: one clear line at start.
      throw new ConfigError(`CWS_CONFIG: cluster ${name}: ${(err as Error).message}`);
    }
    const worker = createClusterWorker({
      name,
      config,
      target,
      connection: opts.connection,
      logger: opts.logger,
      ...(opts.lockDurationMs ? { lockDurationMs: opts.lockDurationMs } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    });
    workers.push(worker);
    if (target.close) closers.push(() => target.close!());
    served.push(name);
  }
  await Promise.all(workers.map((w) => w.worker.waitUntilReady()));
  opts.logger.info({ clusters: served }, 'worker ready');
  return {
    clusters: served,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(closers.map((c) => c()));
    },
  };
}
