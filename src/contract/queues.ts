/** Queue naming and job options shared by the bot (producer) and the workers (consumers). */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { keys } from './keys.ts';

export { QUEUE_PREFIX, queueName, SCHEDULE_QUEUE } from './keys.ts';

/** Retries of a job's transient failures; time limits are per unit of work (exec, build, upload). */
export interface JobPolicy {
  attempts: number;
  backoffMs: number;
}

export const DEFAULT_JOB_POLICY: JobPolicy = { attempts: 3, backoffMs: 2_000 };

/** Self-test job IDs as the producer makes them; a button value is checked against this. */
export const SELFTEST_JOB_ID_RE = /^st-[0-9a-f-]{36}$/;

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
  if (nodes?.length)
    return `selftest:${cluster}:[${createHash('sha1')
      .update([...nodes].sort().join(','))
      .digest('hex')}]`;
  return `selftest:${cluster}:*`;
}

/** One agent of a fan-out: its member in the progress sets (so a re-run agent counts once), and the child job ID of the previous version's per-agent children. */
export const agentJobId = (parentId: string, node: string, pod: string) => `${parentId}.${node}.${pod}`;
/** Deterministic child IDs make re-adding children after a parent crash a no-op: the `index`-th batch of agents of a fanned-out self-test (workers/jobs/selftest-fanout.ts `batchAgents`). */
export const batchJobId = (parentId: string, index: number) => `${parentId}.b${index}`;

/** The Slack decision on a flare review ('send' | 'cancel'), read by the worker holding the session. */
export const flareDecisionKey = keys.flareDecision;
