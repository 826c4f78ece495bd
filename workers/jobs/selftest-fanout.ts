import { type Job, type Queue, WaitingChildrenError } from 'bullmq';
import { agentJobId, batchJobId } from '../../src/contract/queues.ts';
import {
  type AgentResult,
  AgentResult as AgentResultSchema,
  SelftestAgentJobData,
  SelftestBatchJobData,
  SelftestJobData,
  type SelftestResult,
} from '../../src/contract/jobs.ts';
import { TargetError } from '../targets/errors.ts';
import type { AgentRef, AgentTarget } from '../targets/types.ts';
import type { FanoutProgress } from './progress.ts';
import { runSelftestOnAgent } from './selftest.ts';

/**
 * Agents per child job of a fanned-out self-test: the Redis/BullMQ work (add, fetch, lock, move to
 * finished, the parent's bookkeeping) is per child, so per agent it drops by this factor. Measured with
 * `BENCH_AGENTS=1000 npm run bench -- selftest-all-in-one` (1000 × 2 s, self-test + status, `npm start`,
 * concurrency 500) on the shared 2-core machine, 3 runs each, load average (1 min) at each run's start:
 *
 * | agents per child | wall times (load)                       | median |
 * |------------------|-----------------------------------------|--------|
 * | 1 (one per agent)| 8.41 s (2.0), 9.22 s (1.3), 9.67 s (1.1) | 9.22 s |
 * | 10               | 10.62 s (6.4), 8.23 s (6.6), 7.93 s (0.6)| 8.23 s |
 * | 25               | 9.45 s (5.4), 11.44 s (4.9), 8.23 s (0.3)| 9.45 s |
 * | 50               | 8.06 s (4.0), 8.41 s (2.7), 7.51 s (0.6) | 8.06 s |
 * | 100              | 7.16 s (1.4), 7.76 s (1.4), 7.66 s (1.4) | 7.66 s |
 *
 * (The per-agent jobs before batching: 15.72 s (3.0), 11.62 s (4.5).) 50 and 100 are level within the
 * noise; 50 re-runs fewer agents when a worker dies mid-batch. The TLS client, not BullMQ, is most of the
 * rest (README "Performance"). A batch is also at most half the cluster's `concurrency` (selftestBatchSize),
 * so one replica's exec limit spans at least two batches and a small fleet's batches still spread over the replicas.
 */
export const SELFTEST_BATCH_SIZE = 50;

/** Agents per batch for a worker whose exec limit is `concurrency`. */
export const selftestBatchSize = (concurrency: number, max = SELFTEST_BATCH_SIZE) => Math.max(1, Math.min(max, Math.floor(concurrency / 2)));

/** Where `total` agents are split into batches of `size`: stably sorted by node then pod, so a parent re-run makes the same batches. */
export function batchAgents<A extends AgentRef>(agents: readonly A[], size: number): A[][] {
  const sorted = [...agents].sort((a, b) => cmp(a.node, b.node) || cmp(a.pod, b.pod));
  const out: A[][] = [];
  for (let i = 0; i < sorted.length; i += size) out.push(sorted.slice(i, i + size));
  return out;
}
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Runs `fn` when one of the worker's exec slots is free (the cluster's `concurrency`, shared by every batch on this worker). */
export type ExecSlots = <T>(fn: () => Promise<T>) => Promise<T>;

export interface FanoutDeps {
  cluster: string;
  target: AgentTarget;
  /** The cluster's queue: children go to the same queue, so every replica takes a share. */
  queue: Queue;
  progress: FanoutProgress;
  /** The cluster's `selftest` settings: the worker's alone (the bot never reads them). Absent binary: from each agent's layout. */
  binary?: 'security-agent' | 'system-probe' | undefined;
  readStatus: boolean;
  /** Per-agent exec timeout. */
  timeoutMs: number;
  /** Attempts of one agent's unit; only transient errors (API server unreachable) are retried. */
  agentAttempts?: number;
  /** First retry delay of an agent (exponential: 1 s, 2 s, …), as BullMQ's backoff of the per-agent jobs was. */
  agentBackoffMs?: number;
  /** Agents per child job (selftestBatchSize). */
  batchSize?: number;
  /** The worker's exec limit, across batches; absent: no limit (tests). */
  slots?: ExecSlots;
}

/**
 * The parent of a cluster self-test. Step `list`: list the agents and add one child job per batch of
 * agents (deterministic IDs: parent ID and batch index over the stably sorted list, so a parent re-run
 * after a crash adds nothing twice). Step `wait`: park until every child has finished, then collect
 * their verdicts into one result, one per agent.
 */
export async function processSelftestParent(job: Job, token: string | undefined, d: FanoutDeps): Promise<SelftestResult> {
  let data = SelftestJobData.parse(job.data);
  if ((data.step ?? 'list') === 'list') {
    await job.updateProgress({ phase: 'listing', total: 0, done: 0, failing: 0 });
    let agents = await d.target.listAgents(data.node ? { node: data.node } : undefined);
    if (data.nodes) {
      const wanted = new Set(data.nodes);
      agents = agents.filter((a) => wanted.has(a.node));
    }
    const total = agents.length;
    await d.queue.addBulk(
      batchAgents(agents, d.batchSize ?? SELFTEST_BATCH_SIZE).map((batch, index) => ({
        name: 'selftest-batch',
        data: { kind: 'selftest-batch', cluster: d.cluster, parentId: job.id!, total, index, agents: batch } satisfies SelftestBatchJobData,
        opts: {
          jobId: batchJobId(job.id!, index),
          parent: { id: job.id!, queue: job.queueQualifiedName },
          // Agents' transient errors are retried inside the batch; these attempts cover the batch itself failing (Redis).
          attempts: 3,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          removeOnFail: { age: 24 * 3600 },
          ignoreDependencyOnFailure: true,
        },
      })),
    );
    data = { ...data, step: 'wait', total, startedAt: data.startedAt ?? new Date().toISOString() };
    await job.updateData(data);
    await job.updateProgress({ phase: 'running', total, done: 0, failing: 0 });
  }

  if (token && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();

  // One result per agent: a batch re-run after a crash returns each of its agents once, and a parent of the
  // previous version may still have per-agent children (one result each).
  const byAgent = new Map<string, AgentResult>();
  const keep = (r: AgentResult) => {
    const k = `${r.node}\0${r.pod}`;
    if (!byAgent.has(k)) byAgent.set(k, r);
  };
  const values = await job.getChildrenValues<unknown>();
  for (const v of Object.values(values)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      const parsed = AgentResultSchema.safeParse(item);
      if (parsed.success) keep(parsed.data);
    }
  }
  // Children that failed for good (the batch failed on every attempt, or stalled too often): each of their agents is an error.
  const failures = await job.getIgnoredChildrenFailures();
  for (const [key, reason] of Object.entries(failures)) {
    const childId = key.slice(key.lastIndexOf(':') + 1);
    const child = await d.queue.getJob(childId);
    const message = `could not run the self-test: ${reason}`;
    const batch = SelftestBatchJobData.safeParse(child?.data);
    const single = SelftestAgentJobData.safeParse(child?.data);
    const agents = batch.success ? batch.data.agents : single.success ? [single.data.agent] : [{ node: childId, pod: childId }];
    for (const a of agents) keep({ node: a.node, pod: a.pod, status: 'error', failedTests: [], message, durationMs: 0 });
  }
  await d.progress.clear(job.id!);
  return {
    kind: 'selftest',
    cluster: d.cluster,
    target: d.target.kind,
    startedAt: data.startedAt ?? new Date(job.processedOn ?? Date.now()).toISOString(),
    finishedAt: new Date().toISOString(),
    results: [...byAgent.values()],
  };
}

/**
 * One batch of agents, on whichever replica took the child job: every agent runs in one of the worker's
 * exec slots, at once as far as the slots go. An agent's transient error (API server unreachable) is retried
 * for that agent alone, `agentAttempts` times with exponential backoff, out of its slot; on its last attempt
 * it is that agent's error result. Any other failure is that agent's result too. Progress is counted per agent.
 */
export async function processSelftestBatch(job: Job, d: FanoutDeps): Promise<AgentResult[]> {
  const data = SelftestBatchJobData.parse(job.data);
  const attempts = d.agentAttempts ?? 3;
  const backoff = d.agentBackoffMs ?? 1000;
  const slots: ExecSlots = d.slots ?? ((fn) => fn());
  const one = async (agent: AgentRef): Promise<AgentResult> => {
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts;
      try {
        return await slots(() => runSelftestOnAgent(d.target, agent, d.binary, d.timeoutMs, d.readStatus, !last));
      } catch (err) {
        // A transient TargetError (the last attempt makes it a result), or a fault of the worker's own, retried as the per-agent job was.
        if (last) {
          const message = err instanceof TargetError ? err.message : `the worker failed: ${(err as Error).message}`;
          return { node: agent.node, pod: agent.pod, status: 'error', failedTests: [], message: `could not run the self-test: ${message}`, durationMs: 0 };
        }
        await new Promise((resolve) => setTimeout(resolve, backoff * 2 ** (attempt - 1)));
      }
    }
  };
  return Promise.all(
    data.agents.map(async (agent) => {
      const result = await one(agent);
      await d.progress.record(data.parentId, agentJobId(data.parentId, agent.node, agent.pod), result.status !== 'ok', data.total);
      return result;
    }),
  );
}

/** One agent's self-test: a child of a parent from the previous version (one job per agent), still run to completion. It holds a work slot (workers/worker.ts). */
export async function processSelftestAgent(job: Job, d: FanoutDeps): Promise<AgentResult> {
  const data = SelftestAgentJobData.parse(job.data);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const result = await runSelftestOnAgent(d.target, data.agent, d.binary, d.timeoutMs, d.readStatus, !lastAttempt);
  await d.progress.record(data.parentId, job.id!, result.status !== 'ok', data.total);
  return result;
}
