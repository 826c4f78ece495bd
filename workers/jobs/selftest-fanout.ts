import { type Job, type Queue, WaitingChildrenError } from 'bullmq';
import { agentJobId } from '../../src/contract/queues.ts';
import { type AgentResult, AgentResult as AgentResultSchema, SelftestAgentJobData, SelftestJobData, type SelftestResult } from '../../src/contract/jobs.ts';
import type { AgentTarget } from '../targets/types.ts';
import type { FanoutProgress } from './progress.ts';
import { runSelftestOnAgent } from './selftest.ts';

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
}

/**
 * The parent of a cluster self-test. Step `list`: list the agents and add one child job per
 * agent (deterministic IDs, so a parent re-run after a crash adds nothing twice). Step `wait`:
 * park until every child has finished, then collect their verdicts into one result.
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
      agents.map((agent) => ({
        name: 'selftest-agent',
        data: { kind: 'selftest-agent', cluster: d.cluster, parentId: job.id!, total, agent } satisfies SelftestAgentJobData,
        opts: {
          jobId: agentJobId(job.id!, agent.node, agent.pod),
          parent: { id: job.id!, queue: job.queueQualifiedName },
          attempts: d.agentAttempts ?? 3,
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

  const values = await job.getChildrenValues<AgentResult>();
  const results: AgentResult[] = [];
  for (const v of Object.values(values)) {
    const parsed = AgentResultSchema.safeParse(v);
    if (parsed.success) results.push(parsed.data);
  }
  // Children that failed for good (transient errors on every attempt, or stalled too often).
  const failures = await job.getIgnoredChildrenFailures();
  for (const [key, reason] of Object.entries(failures)) {
    const childId = key.slice(key.lastIndexOf(':') + 1);
    const child = await d.queue.getJob(childId);
    const cd = SelftestAgentJobData.safeParse(child?.data);
    results.push({
      node: cd.success ? cd.data.agent.node : childId,
      pod: cd.success ? cd.data.agent.pod : childId,
      status: 'error',
      failedTests: [],
      message: `could not run the self-test: ${reason}`,
      durationMs: 0,
    });
  }
  await d.progress.clear(job.id!);
  return {
    kind: 'selftest',
    cluster: d.cluster,
    target: d.target.kind,
    startedAt: data.startedAt ?? new Date(job.processedOn ?? Date.now()).toISOString(),
    finishedAt: new Date().toISOString(),
    results,
  };
}

/** One agent's self-test, on whichever replica took the child job. */
export async function processSelftestAgent(job: Job, d: FanoutDeps): Promise<AgentResult> {
  const data = SelftestAgentJobData.parse(job.data);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const result = await runSelftestOnAgent(d.target, data.agent, d.binary, d.timeoutMs, d.readStatus, !lastAttempt);
  await d.progress.record(data.parentId, job.id!, result.status !== 'ok', data.total);
  return result;
}
