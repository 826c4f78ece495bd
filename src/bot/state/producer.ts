import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobPolicy, jobOptions, queueName, selftestDedupeId } from '../../contract/queues.ts';
import { FlareJobData, ListAgentsJobData, NetcheckJobData, RemediateJobData, RestartAgentJobData, SelftestJobData } from '../../contract/jobs.ts';

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
   * Adds one job with a fresh ID (`<prefix>-<uuid>`), within the enqueue timeout. With a
   * deduplication ID, a job already running for it is returned instead ("attached").
   */
  private async add(
    cluster: string,
    name: string,
    prefix: string,
    payload: object,
    opts: { dedupeId?: string; retried?: boolean } = {},
  ): Promise<{ jobId: string; attached: boolean }> {
    const jobId = `${prefix}-${randomUUID()}`;
    const options = { ...jobOptions(this.policy, jobId, opts.dedupeId), ...(opts.retried === false ? { attempts: 1 } : {}) };
    const job = await withTimeout(
      this.queue(cluster).add(name, payload, options),
      this.enqueueTimeoutMs,
      `Redis did not accept the job within ${this.enqueueTimeoutMs} ms`,
    );
    const id = job.id ?? jobId;
    return { jobId: id, attached: id !== jobId };
  }

  /**
   * Enqueue a self-test, or attach to the one already running for the same cluster and node
   * (BullMQ deduplication: the id is free again once that job completes or fails).
   */
  async enqueueSelftest(data: SelftestJobData): Promise<{ jobId: string; attached: boolean }> {
    const p = SelftestJobData.parse(data);
    return this.add(p.cluster, 'selftest', 'st', p, { dedupeId: selftestDedupeId(p.cluster, p.node, p.nodes) });
  }

  /** Not retried: deleting a pod twice would restart a healthy replacement. */
  async enqueueRestart(data: RestartAgentJobData): Promise<string> {
    const p = RestartAgentJobData.parse(data);
    return (await this.add(p.cluster, 'restart-agent', 'rs', p, { retried: false })).jobId;
  }

  /** Never retried: a second run would build a second archive; a crash ends as "session lost". */
  async enqueueFlare(data: FlareJobData): Promise<string> {
    const p = FlareJobData.parse(data);
    return (await this.add(p.cluster, 'flare', 'fl', p, { retried: false })).jobId;
  }

  /** One netcheck per cluster at a time: a second request attaches to the running one. */
  async enqueueNetcheck(data: NetcheckJobData): Promise<{ jobId: string; attached: boolean }> {
    const p = NetcheckJobData.parse(data);
    return this.add(p.cluster, 'netcheck', 'nc', p, { dedupeId: `netcheck:${p.cluster}` });
  }

  /** Not retried: a patch is reported with its exact before/after, once. */
  async enqueueRemediate(data: RemediateJobData): Promise<string> {
    const p = RemediateJobData.parse(data);
    return (await this.add(p.cluster, 'remediate', 'rm', p, { retried: false })).jobId;
  }

  async enqueueListAgents(data: ListAgentsJobData): Promise<string> {
    const p = ListAgentsJobData.parse(data);
    return (await this.add(p.cluster, 'list-agents', 'la', p)).jobId;
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
