import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigError } from '../src/config/env.ts';
import { redisConnection, urlOf } from '../src/config/redis.ts';
import type { Metrics } from '../src/observability/metrics.ts';
import { readyKey, redisWritable } from '../src/observability/readiness.ts';
import { type ClustersFile, clusterNamed } from '../src/config/clusters.ts';
import { createTarget } from './targets/index.ts';
import { type ClusterWorker, createClusterWorker } from './worker.ts';

export interface WorkerProcess {
  clusters: string[];
  /** Undefined when ready (every served queue consumed, Redis takes a write), else why not: for /readyz. */
  readiness(): Promise<string | undefined>;
  /**
   * Stops taking jobs and waits for the running ones (open flare reviews answer "no"); with
   * `handBackAfterMs`, jobs still running then go back to the queue for another worker.
   */
  close(o?: { handBackAfterMs?: number }): Promise<void>;
}

/** Starts one BullMQ worker per served cluster (`WORKER_CLUSTERS`, or every configured cluster). */
export async function startWorkers(opts: {
  clusters: ClustersFile;
  serve?: string[];
  connection: ConnectionOptions & object;
  logger: Logger;
  lockDurationMs?: number;
  concurrency?: number;
  metrics?: Pick<Metrics, 'agentExec' | 'watchQueue'>;
}): Promise<WorkerProcess> {
  const names = opts.serve ?? Object.keys(opts.clusters.clusters);
  for (const n of names) {
    if (!clusterNamed(opts.clusters, n)) throw new ConfigError(`WORKER_CLUSTERS: unknown cluster "${n}" (not in CWS_CONFIG)`);
  }
  const workers: ClusterWorker[] = [];
  const closers: (() => Promise<void>)[] = [];
  const served: string[] = [];
  // One Redis client for every served cluster's Queue, Worker and processors; each Worker adds
  // only its blocking connection (BullMQ duplicates this client for it).
  const shared = sharedClient(opts.connection);
  for (const name of names) {
    const config = opts.clusters.clusters[name]!;
    let target;
    try {
      target = await createTarget(name, config);
    } catch (err) {
      await Promise.all(workers.map((w) => w.close()));
      shared.close();
      // e.g. a kubeconfig that cannot be read or has no such context: one clear line at start.
      throw new ConfigError(`CWS_CONFIG: cluster ${name}: ${(err as Error).message}`);
    }
    const worker = createClusterWorker({
      name,
      config,
      target,
      connection: shared.client,
      logger: opts.logger,
      ...(opts.lockDurationMs ? { lockDurationMs: opts.lockDurationMs } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    workers.push(worker);
    if (target.close) closers.push(() => target.close!());
    served.push(name);
  }
  await Promise.all(workers.map((w) => w.worker.waitUntilReady()));
  opts.logger.info({ clusters: served }, 'worker ready');
  const key = readyKey('worker');
  return {
    clusters: served,
    async readiness() {
      const idle = served.filter((_, i) => !workers[i]!.worker.isRunning());
      if (idle.length) return `worker: not consuming the queue of ${idle.join(', ')}`;
      // Each distinct connection the workers use must take a write (one when they share it).
      const clients = new Set(await Promise.all(workers.map((w) => w.worker.getBackend().client)));
      for (const client of clients) {
        const why = await redisWritable((k, v, ms) => client.set(k, v, { PX: ms }), key);
        if (why) return why;
      }
      return undefined;
    },
    async close(o = {}) {
      const log = opts.logger.child({ component: 'shutdown' });
      const running = () => workers.flatMap((w, i) => w.running().map((id) => `${served[i]}/${id}`));
      log.info({ jobs: running() }, `worker: no longer taking jobs; waiting for ${running().length} running`);
      const closing = Promise.all(workers.map((w) => w.close())).then(() => 'closed' as const);
      let timer: NodeJS.Timeout | undefined;
      const late =
        o.handBackAfterMs === undefined ? new Promise<never>(() => {}) : new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), o.handBackAfterMs)));
      const first = await Promise.race([closing, late]);
      clearTimeout(timer);
      if (first === 'late') {
        const left = running();
        if (!left.length)
          log.warn(`worker: the queues did not close within ${o.handBackAfterMs} ms, with no job running (is Redis answering?); not waiting longer`);
        else {
          const handing = Promise.allSettled(workers.map((w) => w.handBack()));
          const handed = await Promise.race([handing, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000).unref())]);
          const failed = (handed ?? []).filter((h) => h.status === 'rejected').map((h) => String((h as PromiseRejectedResult).reason));
          if (handed && !failed.length)
            log.warn(
              { jobs: left },
              `worker: ${left.length} jobs still running after ${o.handBackAfterMs} ms were handed back to the queue (another worker runs them)`,
            );
          else
            log.warn(
              { jobs: left, ...(failed.length ? { failed } : {}) },
              `worker: ${left.length} jobs still running after ${o.handBackAfterMs} ms could not all be handed back (Redis?); they go back to the queue when their lock lapses (WORKER_LOCK_MS)`,
            );
        }
      } else log.info('worker: every running job finished');
      await Promise.all(closers.map((c) => c()));
      shared.close();
    },
  };
}

/**
 * The worker process's one non-blocking client: from `blockingOptions(REDIS_URL)`, any topology
 * (`redisConnection`); an ioredis client given by the caller is used as it is and left open.
 */
function sharedClient(connection: ConnectionOptions & object): { client: Redis; close(): void } {
  if (typeof (connection as Partial<Redis>).duplicate === 'function') return { client: connection as Redis, close() {} };
  const url = urlOf(connection);
  const client = url ? redisConnection(url).client('shared', 'cws:worker') : new Redis({ ...(connection as RedisOptions), maxRetriesPerRequest: null });
  client.on('error', () => {}); // the Workers report what matters ('worker error')
  return { client, close: () => client.disconnect() };
}
