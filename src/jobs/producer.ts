import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobPolicy, jobOptions, queueName, selftestDedupeId } from './queues.ts';
import { FlareJobData, ListAgentsJobData, NetcheckJobData, RemediateJobData, RestartAgentJobData, SelftestJobData } from './schemas.ts';

export class EnqueueError extends Error {
  override name = 'EnqueueError';
}

/** The bot's producer: one BullMQ queue per cluster, created on first use. */
export class JobProducer {
  private readonly queues = new Map<string, Queue>();

  /**
   * `connection` is one ioredis client shared by every queue of the bot, created with
   * fast-fail options so a Redis outage turns into a clear answer instead of a hung command.
   */
  constructor(
    private readonly connection: Redis,
    private readonly policy: JobPolicy,
    private readonly enqueueTimeoutMs = 2000,
  ) {}

  queue(cluster: string): Queue {
    let q = this.queues.get(cluster);
    if (!q) {
      q = new Queue(queueName(cluster), { connection: this.connection });
      q.on('error', () => {}); // connection errors surface on the calls below
      this.queues.set(cluster, q);
    }
    return q;
  }

  /**
   * Enqueue a self-test, or attach to the one already running for the same cluster and node
   * (BullMQ deduplication: the id is free again once that job completes or fails).
   */
  async enqueueSelftest(data: SelftestJobData): Promise<{ jobId: string; attached: boolean }> {
    const payload = SelftestJobData.parse(data);
    const jobId = `st-${randomUUID()}`;
    const add = this.queue(payload.cluster).add('selftest', payload, jobOptions(this.policy, jobId, selftestDedupeId(payload.cluster, payload.node, payload.nodes)));
    const job = await withTimeout(add, this.enqueueTimeoutMs, `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`);
    const id = job.id ?? jobId;
    return { jobId: id, attached: id !== jobId };
  }

  async enqueueRestart(data: RestartAgentJobData): Promise<string> {
    const payload = RestartAgentJobData.parse(data);
    const jobId = `rs-${randomUUID()}`;
    // Not retried: deleting a pod twice would restart a healthy replacement.
    const opts = { ...jobOptions(this.policy, jobId), attempts: 1 };
    await withTimeout(this.queue(payload.cluster).add('restart-agent', payload, opts), this.enqueueTimeoutMs, `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`);
    return jobId;
  }

  async enqueueFlare(data: FlareJobData): Promise<string> {
    const payload = FlareJobData.parse(data);
    const jobId = `fl-${randomUUID()}`;
    // Never retried: a second run would build a second archive; a crash ends as "session lost".
    const opts = { ...jobOptions(this.policy, jobId), attempts: 1 };
    await withTimeout(this.queue(payload.cluster).add('flare', payload, opts), this.enqueueTimeoutMs, `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`);
    return jobId;
  }

  /** One netcheck per cluster at a time: a second request attaches to the running one. */
  async enqueueNetcheck(data: NetcheckJobData): Promise<{ jobId: string; attached: boolean }> {
    const payload = NetcheckJobData.parse(data);
    const jobId = `nc-${randomUUID()}`;
    const job = await withTimeout(
      this.queue(payload.cluster).add('netcheck', payload, jobOptions(this.policy, jobId, `netcheck:${payload.cluster}`)),
      this.enqueueTimeoutMs,
      `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`,
    );
    return { jobId: job.id ?? jobId, attached: (job.id ?? jobId) !== jobId };
  }

  async enqueueRemediate(data: RemediateJobData): Promise<string> {
    const payload = RemediateJobData.parse(data);
    const jobId = `rm-${randomUUID()}`;
    const opts = { ...jobOptions(this.policy, jobId), attempts: 1 };
    await withTimeout(this.queue(payload.cluster).add('remediate', payload, opts), this.enqueueTimeoutMs, `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`);
    return jobId;
  }

  async enqueueListAgents(data: ListAgentsJobData): Promise<string> {
    const payload = ListAgentsJobData.parse(data);
    const jobId = `la-${randomUUID()}`;
    await withTimeout(this.queue(payload.cluster).add('list-agents', payload, jobOptions(this.policy, jobId)), this.enqueueTimeoutMs, `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`);
    return jobId;
  }

  async getJob(cluster: string, jobId: string): Promise<Job | undefined> {
    return (await Job.fromId(this.queue(cluster), jobId)) ?? undefined;
  }

  async workerCount(cluster: string): Promise<number> {
    return (await withTimeout(this.queue(cluster).getWorkers(), this.enqueueTimeoutMs, 'Redis did not answer')).length;
  }

  /** Resolves when every queue connection is ready again (after a Redis restart, say). */
  async ready(): Promise<void> {
    if (this.connection.status !== 'ready') await once(this.connection, 'ready');
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new EnqueueError(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
