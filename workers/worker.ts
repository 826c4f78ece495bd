import { type ConnectionOptions, type Job, Queue, UnrecoverableError, WaitingChildrenError, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../src/config/clusters.ts';
import { countingExecs, type Metrics } from '../src/observability/metrics.ts';
import { queueName } from '../src/contract/queues.ts';
import { failureMessage, PROCESSORS, type WorkerContext } from './jobs/index.ts';
import { FanoutProgress } from './jobs/progress.ts';
import { TargetError } from './targets/errors.ts';
import type { AgentTarget } from './targets/types.ts';

export interface ClusterWorkerOptions {
  name: string;
  config: ClusterConfig;
  target: AgentTarget;
  /**
   * An ioredis client (Redis or Cluster) is shared by the cluster's Queue, its Worker (BullMQ
   * duplicates it for the Worker's blocking connection) and the processors' own commands, and is
   * left open; from plain options, the worker makes one such client and closes it.
   */
  connection: ConnectionOptions & object;
  logger: Logger;
  /**
   * Jobs doing work at once on this worker; each agent of a fanned-out self-test counts as one (its batch does not).
   * Flares do not count: they wait on people, and have their own limit (`flare.maxOpen`).
   */
  concurrency?: number;
  /** How long a job's lock lives without renewal: after a crash, its jobs move on after this. */
  lockDurationMs?: number;
  progressIntervalMs?: number;
  /** Counts agent execs and reads the queue at scrape time (src/observability/metrics.ts). */
  metrics?: Pick<Metrics, 'agentExec' | 'watchQueue'>;
}

export { failureMessage };

export interface ClusterWorker {
  worker: Worker;
  /** IDs of the jobs this worker is running now. */
  running(): string[];
  /** Puts the jobs still running back in the queue (another worker takes them); returns their IDs. For a shutdown that cannot wait longer. */
  handBack(): Promise<string[]>;
  close(): Promise<void>;
}

export function createClusterWorker(o: ClusterWorkerOptions): ClusterWorker {
  const given = isClient(o.connection) ? o.connection : undefined;
  const redis = given ?? new Redis({ ...(o.connection as RedisOptions), maxRetriesPerRequest: null });
  if (!given) redis.on('error', () => {});
  const queue = new Queue(queueName(o.name), { connection: redis });
  queue.on('error', () => {}); // the same connection's errors reach the Worker, which logs them ('worker error')
  const progress = new FanoutProgress(redis, queue, o.progressIntervalMs ?? 250);
  const shutdown = new AbortController();
  const target = o.metrics ? countingExecs(o.target, (outcome) => o.metrics!.agentExec(o.name, outcome)) : o.target;
  o.metrics?.watchQueue(o.name, queue);
  // Work and flares have separate limits: BullMQ takes up to both at once, work waits for a work
  // slot, and a flare past its limit is refused (the bot refuses it first, per cluster and user).
  // A batch of a self-test's agents takes no slot itself: each of its agents takes one.
  const workSlots = o.concurrency ?? (o.config.kind === 'kubernetes' ? o.config.concurrency : 8);
  const flareSlots = o.config.flare.maxOpen;
  const work = pLimit(workSlots);
  const context: WorkerContext = {
    cluster: o.name,
    config: o.config,
    target,
    queue,
    redis,
    progress,
    shutdown: shutdown.signal,
    slots: (fn) => work(fn),
    workSlots,
  };

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const log = o.logger.child({ jobId: job.id, job: job.name, cluster: o.name, attempt: job.attemptsMade + 1 });
    try {
      const process = PROCESSORS[job.name];
      if (!process || !Object.hasOwn(PROCESSORS, job.name))
        throw new UnrecoverableError(
          failureMessage({
            code: 'unknown_job',
            message: `this worker does not know jobs named "${job.name}"`,
            hint: 'Run the same version of bot and workers.',
          }),
        );
      return await process(job, token, context);
    } catch (err) {
      if (err instanceof WaitingChildrenError || err instanceof UnrecoverableError) throw err;
      log.warn({ err }, 'job failed');
      if (err instanceof TargetError) {
        const msg = failureMessage({ code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) });
        if (err.transient) throw new Error(msg);
        throw new UnrecoverableError(msg);
      }
      if ((err as Error).name === 'ZodError')
        throw new UnrecoverableError(
          failureMessage({ code: 'bad_job', message: `job ${job.id} has an invalid payload`, hint: 'Run the same version of bot and workers.' }),
        );
      throw new Error(failureMessage({ code: 'internal', message: `the worker failed: ${(err as Error).message}`, hint: 'Check the worker logs.' }));
    }
  };

  let openFlares = 0;
  const scheduled = async (job: Job, token?: string): Promise<unknown> => {
    if (job.name === 'selftest-batch') return processor(job, token);
    if (job.name !== 'flare') return work(() => processor(job, token));
    if (openFlares >= flareSlots)
      throw new UnrecoverableError(
        failureMessage({
          code: 'busy',
          message: `this worker already holds ${openFlares} open flares of ${o.name}, its limit (flare.maxOpen)`,
          hint: 'Send or cancel an open review, then ask again.',
        }),
      );
    openFlares++;
    try {
      return await processor(job, token);
    } finally {
      openFlares--;
    }
  };
  const running = new Map<string, { job: Job; token: string | undefined }>();
  const tracked = (job: Job, token?: string) => (running.set(job.id!, { job, token }), scheduled(job, token).finally(() => running.delete(job.id!)));
  const worker = new Worker(queueName(o.name), tracked, {
    connection: redis,
    concurrency: workSlots + flareSlots,
    name: `cws-worker:${o.name}`,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: Math.max(1000, Math.floor((o.lockDurationMs ?? 30_000) / 2)),
    maxStalledCount: 2,
  });
  worker.on('error', (err) => o.logger.error({ err, cluster: o.name }, 'worker error'));
  return {
    worker,
    running: () => [...running.keys()],
    async handBack() {
      const jobs = [...running.values()];
      await Promise.all(jobs.map(({ job, token }) => job.moveToWait(token)));
      return jobs.map(({ job }) => job.id!);
    },
    async close() {
      shutdown.abort(); // open flare reviews answer "no" instead of holding the shutdown
      await worker.close();
      progress.close();
      await queue.close();
      if (!given) redis.disconnect();
    },
  };
}

/** An ioredis client (a Redis or a Cluster) rather than options. */
const isClient = (c: object): c is Redis => typeof (c as Partial<Redis>).duplicate === 'function' && typeof (c as Partial<Redis>).disconnect === 'function';
