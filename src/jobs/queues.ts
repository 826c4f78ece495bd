/** Queue naming and job options shared by the bot (producer) and the workers (consumers). */
import { createHash } from 'node:crypto';
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

export function selftestDedupeId(cluster: string, node?: string, nodes?: string[]): string {
  if (node) return `selftest:${cluster}:${node}`;
  if (nodes?.length) return `selftest:${cluster}:[${createHash('sha1').update([...nodes].sort().join(',')).digest('hex')}]`;
  return `selftest:${cluster}:*`;
}

/** Deterministic child IDs make re-adding children after a parent crash a no-op. */
export const agentJobId = (parentId: string, node: string, pod: string) => `${parentId}.${node}.${pod}`;

/** The Slack decision on a flare review ('send' | 'cancel'), read by the worker holding the session. */
export const flareDecisionKey = (jobId: string) => `cws:flare:${jobId}:decision`;
