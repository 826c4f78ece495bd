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

  /** Finished children not yet written, per parent: written together once the event loop's current turn is over. */
  private readonly pending = new Map<string, { done: string[]; failing: string[]; total: number; waiters: { resolve(): void; reject(e: Error): void }[] }>();

  /**
   * Counts a finished child. Children that finish in the same turn of the event loop (a batch's agents
   * answering together) go to Redis in one transaction: a thousand agents are far fewer round trips.
   */
  record(parentId: string, childId: string, failing: boolean, total: number): Promise<void> {
    let p = this.pending.get(parentId);
    if (!p) {
      p = { done: [], failing: [], total, waiters: [] };
      this.pending.set(parentId, p);
      setImmediate(() => void this.flush(parentId));
    }
    p.done.push(childId);
    if (failing) p.failing.push(childId);
    return new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
  }

  private async flush(parentId: string): Promise<void> {
    const p = this.pending.get(parentId);
    if (!p) return;
    this.pending.delete(parentId);
    const k = counters(parentId);
    const m = this.redis
      .multi()
      .sadd(k.done, ...p.done)
      .expire(k.done, TTL_S);
    if (p.failing.length > 0) m.sadd(k.failing, ...p.failing).expire(k.failing, TTL_S);
    try {
      await m.exec();
    } catch (err) {
      for (const w of p.waiters) w.reject(err as Error);
      return;
    }
    for (const w of p.waiters) w.resolve();
    this.schedule(parentId, p.total);
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
