import { keys } from '../../src/contract/keys.ts';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SelftestProgress } from '../../src/contract/jobs.ts';

const TTL_S = 24 * 3600;
const counters = (parentId: string) => ({ done: keys.progressDone(parentId), failing: keys.progressFailing(parentId) });

/**
 * Progress of a fanned-out job, counted in Redis by every replica (sets of finished child IDs,
 * so a child retried after a crash is not counted twice) and published as the parent job's
 * progress, at most once per `intervalMs` per replica (trailing, so the last count is sent).
 */
export class FanoutProgress {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastSent = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly intervalMs = 250,
  ) {}

  async record(parentId: string, childId: string, failing: boolean, total: number): Promise<void> {
    const k = counters(parentId);
    const m = this.redis.multi().sadd(k.done, childId).expire(k.done, TTL_S);
    if (failing) m.sadd(k.failing, childId).expire(k.failing, TTL_S);
    await m.exec();
    this.schedule(parentId, total);
  }

  private schedule(parentId: string, total: number): void {
    if (this.timers.has(parentId)) return;
    const wait = Math.max(0, (this.lastSent.get(parentId) ?? 0) + this.intervalMs - Date.now());
    const t = setTimeout(() => {
      this.timers.delete(parentId);
      this.lastSent.set(parentId, Date.now());
      void this.publish(parentId, total).catch(() => {});
    }, wait);
    t.unref();
    this.timers.set(parentId, t);
  }

  async publish(parentId: string, total: number): Promise<void> {
    const k = counters(parentId);
    const [done, failing] = await Promise.all([this.redis.scard(k.done), this.redis.scard(k.failing)]);
    const p: SelftestProgress = { phase: 'running', total, done: Math.min(done, total), failing };
    await this.queue.updateJobProgress(parentId, p).catch(() => {}); // the parent may have finished
  }

  async clear(parentId: string): Promise<void> {
    const k = counters(parentId);
    await this.redis.del(k.done, k.failing);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
