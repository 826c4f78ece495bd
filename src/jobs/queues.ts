/** Queue naming and job options shared by the bot (producer) and the workers (consumers). */
import type { JobsOptions } from 'bullmq';

export const queueName = (cluster: string) => `cws.${cluster}`;
export const QUEUE_PREFIX = 'bull';

export interface JobPolicy {
  attempts: number;
  backoffMs: number;
  /** Whole-job timeout enforced by the worker (BullMQ has none of its own). */
  jobTimeoutMs: number;
}

export const DEFAULT_JOB_POLICY: JobPolicy = { attempts: 3, backoffMs: 2_000, jobTimeoutMs: 10 * 60_000 };

export function jobOptions(policy: JobPolicy, jobId: string, dedupeId?: string): JobsOptions {
  return {
    jobId,
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    ...(dedupeId ? { deduplication: { id: dedupeId } } : {}),
  };
}

export const selftestDedupeId = (cluster: string, node?: string) => `selftest:${cluster}:${node ?? '*'}`;
