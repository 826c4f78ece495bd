/**
 * The batches of a fanned-out self-test (workers/jobs/selftest-fanout.ts): deterministic child IDs
 * covering every agent once, and one agent's transient error retried for that agent alone.
 */
import type { Job, Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { SelftestBatchJobData } from '../../src/contract/jobs.ts';
import { agentJobId } from '../../src/contract/queues.ts';
import type { FanoutProgress } from '../../workers/jobs/progress.ts';
import {
  SELFTEST_BATCH_SIZE,
  batchAgents,
  type FanoutDeps,
  processSelftestBatch,
  processSelftestParent,
  selftestBatchSize,
} from '../../workers/jobs/selftest-fanout.ts';
import { AgentUnreachableError } from '../../workers/targets/errors.ts';
import type { AgentRef, AgentTarget, ExecResult } from '../../workers/targets/types.ts';

const OK: ExecResult = { stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 };
const fleet = (n: number): AgentRef[] => Array.from({ length: n }, (_, i) => ({ node: `node-${String(i).padStart(3, '0')}`, pod: `agent-${i}` }));
/** A deterministic shuffle (the API server lists pods in no promised order). */
const shuffled = <T>(xs: T[], seed: number): T[] => {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

function memoryTarget(list: () => AgentRef[], exec: (agent: AgentRef) => ExecResult | Error): AgentTarget & { calls: string[] } {
  const calls: string[] = [];
  return {
    kind: 'kubernetes',
    description: 'memory',
    calls,
    listAgents: async () => list(),
    async exec(agent) {
      calls.push(agent.node);
      const r = exec(agent);
      if (r instanceof Error) throw r;
      return r;
    },
  };
}

const recorded: { parentId: string; childId: string; failing: boolean }[] = [];
const progress = {
  record: async (parentId: string, childId: string, failing: boolean) => void recorded.push({ parentId, childId, failing }),
  clear: async () => {},
};

describe('batchAgents', () => {
  it('sorts by node then pod and splits into batches of the size', () => {
    const agents = [...fleet(5), { node: 'node-002', pod: 'agent-2b' }];
    const b = batchAgents(shuffled(agents, 7), 4);
    expect(b.map((x) => x.map((a) => a.pod))).toEqual([
      ['agent-0', 'agent-1', 'agent-2', 'agent-2b'],
      ['agent-3', 'agent-4'],
    ]);
  });

  it('batch size: at most half the exec limit, at least 1, at most the maximum', () => {
    expect(selftestBatchSize(500, 25)).toBe(25);
    expect(selftestBatchSize(500)).toBe(SELFTEST_BATCH_SIZE);
    expect(selftestBatchSize(4, 25)).toBe(2);
    expect(selftestBatchSize(1, 25)).toBe(1);
  });
});

describe('processSelftestParent fan-out', () => {
  it('the same child IDs for any listing order, every agent in exactly one child; a re-run adds the same IDs', async () => {
    const agents = fleet(53);
    let order = 1;
    const target = memoryTarget(
      () => shuffled(agents, order++),
      () => OK,
    );
    const added: { name: string; data: SelftestBatchJobData; opts: { jobId?: string; parent?: { id: string } } }[][] = [];
    const queue = { addBulk: async (jobs: never[]) => void added.push(jobs) } as unknown as Queue;
    const deps: FanoutDeps = {
      cluster: 'c1',
      target,
      queue,
      progress: progress as unknown as FanoutProgress,
      readStatus: false,
      timeoutMs: 1000,
      batchSize: 10,
    };
    const run = async () => {
      const job = {
        id: 'st-parent',
        queueQualifiedName: 'bull:cws:c1',
        data: { kind: 'selftest', cluster: 'c1', requestedBy: 'U1', requestedAt: new Date().toISOString() } as Record<string, unknown>,
        updateProgress: async () => {},
        async updateData(d: Record<string, unknown>) {
          this.data = d;
        },
        getChildrenValues: async () => ({}),
        getIgnoredChildrenFailures: async () => ({}),
      };
      return processSelftestParent(job as unknown as Job, undefined, deps);
    };
    await run();
    await run(); // as after a crash of the parent before it recorded step `wait`
    expect(added).toHaveLength(2);
    const ids = added.map((jobs) => jobs.map((j) => j.opts.jobId));
    expect(ids[0]).toEqual(['st-parent.b0', 'st-parent.b1', 'st-parent.b2', 'st-parent.b3', 'st-parent.b4', 'st-parent.b5']);
    expect(ids[1]).toEqual(ids[0]);
    expect(added[1]!.map((j) => j.data.agents)).toEqual(added[0]!.map((j) => j.data.agents));
    const covered = added[0]!.flatMap((j) => j.data.agents.map((a) => a.pod));
    expect(covered).toHaveLength(53);
    expect(new Set(covered)).toEqual(new Set(agents.map((a) => a.pod)));
    expect(added[0]!.every((j) => j.name === 'selftest-batch' && j.opts.parent?.id === 'st-parent' && j.data.total === 53)).toBe(true);
    expect(added[0]!.map((j) => j.data.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('collects one result per agent from batch values and a failed batch', async () => {
    const target = memoryTarget(
      () => [],
      () => OK,
    );
    const failedBatch = { kind: 'selftest-batch', cluster: 'c1', parentId: 'st-p', total: 3, index: 1, agents: [{ node: 'n3', pod: 'p3' }] };
    const queue = { getJob: async (id: string) => (id === 'st-p.b1' ? { data: failedBatch } : undefined) } as unknown as Queue;
    const deps: FanoutDeps = { cluster: 'c1', target, queue, progress: progress as unknown as FanoutProgress, readStatus: false, timeoutMs: 1000 };
    const ok = (node: string) => ({ node, pod: node.replace('n', 'p'), status: 'ok', failedTests: [], message: 'self-test passed', durationMs: 5 });
    const job = {
      id: 'st-p',
      data: { kind: 'selftest', cluster: 'c1', requestedBy: 'U1', requestedAt: 'x', step: 'wait', total: 3 },
      getChildrenValues: async () => ({ 'bull:cws:c1:st-p.b0': [ok('n1'), ok('n2')] }),
      getIgnoredChildrenFailures: async () => ({ 'bull:cws:c1:st-p.b1': 'job stalled more than allowable limit' }),
    };
    const r = await processSelftestParent(job as unknown as Job, undefined, deps);
    expect(r.results.map((x) => [x.node, x.status])).toEqual([
      ['n1', 'ok'],
      ['n2', 'ok'],
      ['n3', 'error'],
    ]);
    expect(r.results[2]!.message).toBe('could not run the self-test: job stalled more than allowable limit');
  });
});

describe('processSelftestBatch', () => {
  it("retries one agent's transient error for that agent alone, within the attempts; progress once per agent", async () => {
    recorded.length = 0;
    const agents = fleet(6);
    const failuresLeft = new Map([
      ['node-002', 1], // one transient error, then OK
      ['node-004', 99], // unreachable on every attempt: its error result
    ]);
    const target = memoryTarget(
      () => agents,
      (a) => {
        const left = failuresLeft.get(a.node) ?? 0;
        if (left > 0) {
          failuresLeft.set(a.node, left - 1);
          return new AgentUnreachableError(`cannot reach the API server for ${a.pod}`);
        }
        return OK;
      },
    );
    let inSlot = 0;
    let maxInSlot = 0;
    const slots = async <T>(fn: () => Promise<T>) => {
      maxInSlot = Math.max(maxInSlot, ++inSlot);
      try {
        return await fn();
      } finally {
        inSlot--;
      }
    };
    const deps: FanoutDeps = {
      cluster: 'c1',
      target,
      queue: {} as Queue,
      progress: progress as unknown as FanoutProgress,
      readStatus: false,
      timeoutMs: 1000,
      agentAttempts: 3,
      agentBackoffMs: 5,
      slots,
    };
    const data: SelftestBatchJobData = { kind: 'selftest-batch', cluster: 'c1', parentId: 'st-q', total: 6, index: 0, agents };
    const results = await processSelftestBatch({ id: 'st-q.b0', data } as unknown as Job, deps);
    expect(results.map((r) => [r.node, r.status])).toEqual(agents.map((a) => [a.node, a.node === 'node-004' ? 'error' : 'ok']));
    expect(results[4]!.message).toContain('cannot reach the API server for agent-4');
    const count = (node: string) => target.calls.filter((n) => n === node).length;
    expect(count('node-002')).toBe(2);
    expect(count('node-004')).toBe(3);
    for (const n of ['node-000', 'node-001', 'node-003', 'node-005']) expect(count(n)).toBe(1);
    expect(maxInSlot).toBeGreaterThan(1); // the batch's agents run at once
    expect(recorded.map((r) => r.childId).sort()).toEqual(agents.map((a) => agentJobId('st-q', a.node, a.pod)).sort());
    expect(recorded.filter((r) => r.failing).map((r) => r.childId)).toEqual([agentJobId('st-q', 'node-004', 'agent-4')]);
  });
});
