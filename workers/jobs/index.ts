import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../../src/config/clusters.ts';
import { ListAgentsJobData } from '../../src/contract/jobs.ts';
import type { FailureCode, JobFailure } from '../../src/core/results.ts';
import { withoutChains } from '../targets/chain.ts';
import type { AgentTarget } from '../targets/types.ts';
import { processFlare } from './flare.ts';
import { processNetcheck } from './netcheck.ts';
import type { FanoutProgress } from './progress.ts';
import { processRemediate } from './remediate.ts';
import { processRestartAgent } from './restart-agent.ts';
import { type ExecSlots, type FanoutDeps, processSelftestAgent, processSelftestBatch, processSelftestParent, selftestBatchSize } from './selftest-fanout.ts';

/** A job failure the bot can show: JSON with what failed, where and what to do. */
export function failureMessage(f: JobFailure): string {
  return JSON.stringify(f);
}

/** What every processor of a cluster's worker may use. */
export interface WorkerContext {
  cluster: string;
  config: ClusterConfig;
  target: AgentTarget;
  queue: Queue;
  /** The worker's one shared, non-blocking Redis client. */
  redis: Redis;
  progress: FanoutProgress;
  /** Aborted when the worker shuts down. */
  shutdown: AbortSignal;
  /** The worker's work slots (its `concurrency`): a batch of agents runs each agent in one (workers/worker.ts). */
  slots: ExecSlots;
  /** How many work slots there are. */
  workSlots: number;
}

export type Processor = (job: Job, token: string | undefined, c: WorkerContext) => Promise<unknown>;

const unsupported = (message: string, hint: string) => new UnrecoverableError(failureMessage({ code: 'unsupported', message, hint }));
const fanout = (c: WorkerContext): FanoutDeps => ({
  cluster: c.cluster,
  target: c.config.selftest.shell ? c.target : withoutChains(c.target),
  queue: c.queue,
  progress: c.progress,
  binary: c.config.selftest.binary,
  readStatus: c.config.selftest.readStatus,
  timeoutMs: c.config.selftest.timeoutMs,
  batchSize: selftestBatchSize(c.workSlots),
  slots: c.slots,
});

/**
 * Every kind of job a worker runs, by its BullMQ job name: the worker's side of a kind (the bot's
 * is `src/bot/kinds/`). A name not here is refused as coming from another version.
 */
export const PROCESSORS: Record<string, Processor> = {
  selftest: (job, token, c) => processSelftestParent(job, token, fanout(c)),
  'selftest-batch': (job, _token, c) => processSelftestBatch(job, fanout(c)),
  'selftest-agent': (job, _token, c) => processSelftestAgent(job, fanout(c)),
  'restart-agent': (job, _token, c) => processRestartAgent(job, c.target),
  netcheck: (job, _token, c) => {
    if (c.config.kind !== 'kubernetes' || !c.target.inspector)
      throw unsupported(
        `netcheck inspects Kubernetes clusters (CNI plugins); ${c.cluster} is a ${c.config.kind} cluster`,
        'On a Docker or host agent, check system-probe.yaml by hand: see the CWS troubleshooting guide.',
      );
    return processNetcheck(job, { cluster: c.cluster, config: c.config, target: c.target, inspector: c.target.inspector });
  },
  remediate: (job, _token, c) => {
    if (c.config.kind !== 'kubernetes' || !c.target.inspector || !c.target.patcher)
      throw unsupported(
        `the bot changes agent configuration on Kubernetes only; ${c.cluster} is a ${c.config.kind} cluster`,
        'Apply the setting shown in the report to system-probe.yaml on the host.',
      );
    return processRemediate(job, { config: c.config, inspector: c.target.inspector, patcher: c.target.patcher });
  },
  'list-agents': async (job, _token, c) => {
    const data = ListAgentsJobData.parse(job.data);
    return { kind: 'list-agents', cluster: data.cluster, agents: await c.target.listAgents() };
  },
  flare: (job, _token, c) =>
    processFlare(job, {
      target: c.target,
      redis: c.redis,
      buildTimeoutMs: c.config.flare.buildTimeoutMs,
      uploadTimeoutMs: c.config.flare.uploadTimeoutMs,
      failure: (code: FailureCode, message: string, hint?: string) => failureMessage({ code, message, ...(hint ? { hint } : {}) }),
      shutdown: c.shutdown,
    }),
};
