import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../src/config/clusters.ts';
import { queueName } from '../src/jobs/queues.ts';
import { type JobFailure, SelftestJobData, type SelftestProgress, type SelftestResult } from '../src/jobs/schemas.ts';
import { runSelftest } from './jobs/selftest.ts';
import { TargetError, formatSeconds } from './targets/errors.ts';
import type { AgentTarget } from './targets/types.ts';

export interface ClusterWorkerOptions {
  name: string;
  config: ClusterConfig;
  target: AgentTarget;
  connection: ConnectionOptions;
  logger: Logger;
  /** Jobs of this cluster run at once on this worker (each fans out to its agents). */
  jobConcurrency?: number;
  /** Whole-job timeout; per-agent timeouts come with the job. */
  jobTimeoutMs?: number;
  /** Minimum interval between progress events (BullMQ writes each to Redis). */
  progressIntervalMs?: number;
}

/** Thrown with a JSON body the bot parses into a JobFailure (what failed, where, what to do). */
export function failureMessage(f: JobFailure): string {
  return JSON.stringify(f);
}

export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

export function createClusterWorker(o: ClusterWorkerOptions): Worker {
  const jobTimeoutMs = o.jobTimeoutMs ?? 10 * 60_000;
  const processor = async (job: Job): Promise<SelftestResult> => {
    const parsed = SelftestJobData.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(failureMessage({ code: 'bad_job', message: `job ${job.id} has an invalid payload: ${parsed.error.issues[0]?.message}` }));
    }
    const data = parsed.data;
    const log = o.logger.child({ jobId: job.id, cluster: o.name, attempt: job.attemptsMade + 1 });
    log.info({ node: data.node }, 'self-test started');
    let last = 0;
    let pending: SelftestProgress | undefined;
    const report = async (p: SelftestProgress) => {
      const now = Date.now();
      pending = p;
      if (now - last < (o.progressIntervalMs ?? 250) && p.done !== p.total) return;
      last = now;
      pending = undefined;
      await job.updateProgress(p);
    };
    const binary = o.config.selftest.binary;
    const concurrency = o.config.kind === 'kubernetes' ? o.config.concurrency : 1;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        runSelftest(data, { target: o.target, binary, concurrency, report, readStatus: o.config.selftest.readStatus }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new JobTimeoutError(`the whole self-test took longer than ${formatSeconds(jobTimeoutMs)}`)), jobTimeoutMs);
        }),
      ]);
      if (pending) await job.updateProgress(pending);
      log.info({ agents: result.results.length }, 'self-test finished');
      return result;
    } catch (err) {
      log.warn({ err }, 'self-test failed');
      if (err instanceof TargetError) {
        const msg = failureMessage({ code: err.name, message: err.message, ...(err.hint ? { hint: err.hint } : {}) });
        if (err.transient) throw new Error(msg);
        throw new UnrecoverableError(msg);
      }
      if (err instanceof JobTimeoutError)
        throw new UnrecoverableError(failureMessage({ code: 'job_timeout', message: err.message, hint: 'Re-run with --node to narrow it down.' }));
      throw new Error(failureMessage({ code: 'internal', message: `the worker failed: ${(err as Error).message}`, hint: 'Check the worker logs.' }));
    } finally {
      clearTimeout(timer);
    }
  };

  const worker = new Worker(queueName(o.name), processor, {
    connection: o.connection,
    concurrency: o.jobConcurrency ?? 4,
    name: `cws-worker:${o.name}`,
    lockDuration: 30_000,
    maxStalledCount: 2,
  });
  worker.on('error', (err) => o.logger.error({ err, cluster: o.name }, 'worker error'));
  return worker;
}
