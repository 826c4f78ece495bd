/**
 * One Slack budget per process: token buckets per Web API method (and scope, e.g. a channel),
 * and a scheduler that hands out their tokens by priority. Pure apart from the injected clock:
 * no I/O, no knowledge of Slack's wire format.
 *
 * - A bucket holds up to `capacity` tokens and refills at `refillPerSec`; a call spends one.
 * - Requests wait in one queue per bucket. The best eligible one is served first:
 *   `final` (a job's result) before `normal` (posts, ephemeral answers) before `progress`;
 *   within a rank, the one waiting longest. A `progress` request is served only while the
 *   bucket keeps `reserve(key)` tokens beyond it, so progress never spends what pending and
 *   expected final results need.
 * - A 429 (`rateLimited`) pauses that bucket only, for Retry-After, then lets one call through;
 *   it also lowers the bucket's figures (capacity and rate × 0.8, not below a quarter), which
 *   recover by 5 % of the configured figures per quiet minute: the budget learns what the
 *   workspace really allows (other apps do not share it, but other replicas of this bot do).
 */

export interface BucketConfig {
  /** Burst: tokens available at once. */
  capacity: number;
  /** Sustained rate. */
  refillPerSec: number;
}

export type Priority = 'final' | 'normal' | 'progress';
const RANK: Record<Priority, number> = { final: 0, normal: 1, progress: 2 };

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Date.now and the global timers, looked up at each call (so test fake timers apply). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Default figures, at or under Slack's published ones (api.slack.com/apis/rate-limits, and the
 * method pages): a safety margin, because Slack counts on its clock and we count on ours.
 */
export const SLACK_BUDGETS: Record<string, BucketConfig> = {
  /** Tier 3, "50+ per minute" per workspace, bursts allowed (burst size unpublished: ours is 15). */
  'chat.update': { capacity: 15, refillPerSec: 45 / 60 },
  /** "1 message per second per channel", short bursts allowed (unpublished: ours is 3). */
  'chat.postMessage': { capacity: 3, refillPerSec: 1 },
  /** Tier 4, "100+ per minute". */
  'chat.postEphemeral': { capacity: 20, refillPerSec: 90 / 60 },
};
/** Any other method: tier 2 (20+ per minute), the most conservative tier a chat method has. */
export const DEFAULT_BUDGET: BucketConfig = { capacity: 5, refillPerSec: 18 / 60 };

const PENALTY = 0.8;
const MIN_FACTOR = 0.25;
const RECOVERY_PER_MIN = 0.05;
/** Refill is computed in small steps: compare with a little slack for floating-point error. */
const EPS = 1e-6;

export class TokenBucket {
  private tokens: number;
  private at: number;
  private pausedUntil = 0;
  private factor = 1;
  private factorAt: number;

  constructor(
    readonly config: BucketConfig,
    private readonly now: () => number,
  ) {
    this.tokens = config.capacity;
    this.at = now();
    this.factorAt = this.at;
  }

  /** The learned fraction of the configured figures (1 until a 429). */
  get learnedFactor(): number {
    this.refill();
    return this.factor;
  }

  get capacity(): number {
    this.refill();
    return Math.max(1, this.config.capacity * this.factor);
  }

  /** Tokens available now (fractional; 0 while paused). */
  available(): number {
    this.refill();
    return this.now() < this.pausedUntil ? 0 : this.tokens;
  }

  /** Takes a token if, after it, `reserve` tokens remain. */
  take(reserve = 0): boolean {
    this.refill();
    if (this.now() < this.pausedUntil || this.tokens + EPS < 1 + reserve) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Milliseconds until `take(reserve)` can succeed (Infinity when it never can). */
  msUntil(reserve = 0): number {
    this.refill();
    const now = this.now();
    const need = 1 + reserve;
    if (need > this.capacity + EPS) return Number.POSITIVE_INFINITY;
    const start = Math.max(now, this.pausedUntil);
    const missing = need - this.tokens;
    const fill = missing <= EPS ? 0 : Math.ceil((missing / this.rate()) * 1000 - EPS);
    return Math.max(0, start - now + fill);
  }

  /** Slack answered 429: nothing until `retryAfterMs` from now, then one call; lower figures for a while. */
  penalise(retryAfterMs: number): void {
    this.refill();
    const until = this.now() + Math.max(0, retryAfterMs);
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.factor = Math.max(MIN_FACTOR, this.factor * PENALTY);
    this.factorAt = this.pausedUntil; // quiet minutes count from the end of the pause
    // Refill starts when the pause ends, with the one call Retry-After promises.
    this.tokens = 1;
    this.at = this.pausedUntil;
  }

  /** True when the bucket is indistinguishable from a new one (it can be forgotten). */
  get pristine(): boolean {
    this.refill();
    return this.factor === 1 && this.now() >= this.pausedUntil && this.tokens >= this.config.capacity;
  }

  private rate(): number {
    return this.config.refillPerSec * this.factor;
  }

  private refill(): void {
    const now = this.now();
    if (this.factor < 1 && now > this.factorAt) {
      this.factor = Math.min(1, this.factor + ((now - this.factorAt) / 60_000) * RECOVERY_PER_MIN);
      this.factorAt = now;
    }
    if (now <= this.at) return;
    const cap = Math.max(1, this.config.capacity * this.factor);
    this.tokens = Math.min(cap, this.tokens + ((now - this.at) / 1000) * this.rate());
    this.at = now;
  }
}

export interface Ticket {
  readonly key: string;
  readonly priority: Priority;
  /** Resolves when a token was taken for this request. */
  readonly granted: Promise<void>;
}

interface Waiting extends Ticket {
  priority: Priority;
  notBefore: number;
  since: number;
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PacerOptions {
  clock?: Clock;
  /** Figures per method (the part of the key before the first space); default SLACK_BUDGETS. */
  budgets?: Record<string, BucketConfig>;
  /** Tokens a progress request must leave in its bucket (clamped to capacity − 1). */
  reserve?: (key: string) => number;
}

export class Pacer {
  private readonly clock: Clock;
  private readonly budgets: Record<string, BucketConfig>;
  private readonly reserveOf: (key: string) => number;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly queues = new Map<string, Waiting[]>();
  private seq = 0;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Counters for tests and the benchmark. */
  readonly stats = { granted: 0, rateLimited: 0 };

  constructor(opts: PacerOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.budgets = opts.budgets ?? SLACK_BUDGETS;
    this.reserveOf = opts.reserve ?? (() => 0);
  }

  /** The bucket key of a method, optionally scoped (e.g. per channel). */
  static key(method: string, scope?: string): string {
    return scope === undefined ? method : `${method} ${scope}`;
  }

  bucket(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      const method = key.split(' ')[0]!;
      b = new TokenBucket(this.budgets[method] ?? DEFAULT_BUDGET, () => this.clock.now());
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Asks for one token of `key`'s bucket, not before `notBefore` (epoch ms of the clock). */
  request(key: string, priority: Priority, notBefore = 0): Ticket {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const granted = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const t: Waiting = { key, priority, granted, notBefore, since: this.clock.now(), seq: ++this.seq, resolve, reject };
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    q.push(t);
    if (this.seq % 256 === 0) this.sweep();
    this.pump();
    return t;
  }

  acquire(key: string, priority: Priority = 'normal', notBefore = 0): Promise<void> {
    return this.request(key, priority, notBefore).granted;
  }

  /** Raises a waiting request's priority (a final result replaced a pending progress edit); false if it was already served. */
  promote(ticket: Ticket, priority: Priority, notBefore?: number): boolean {
    const t = this.find(ticket);
    if (!t) return false;
    if (RANK[priority] < RANK[t.priority]) t.priority = priority;
    if (notBefore !== undefined) t.notBefore = notBefore;
    this.pump();
    return true;
  }

  /** Withdraws a waiting request; its promise rejects with `reason`. False if it was already served. */
  cancel(ticket: Ticket, reason: Error = new Error('cancelled')): boolean {
    const t = this.find(ticket);
    if (!t) return false;
    const q = this.queues.get(t.key)!;
    q.splice(q.indexOf(t), 1);
    t.granted.catch(() => {});
    t.reject(reason);
    this.pump();
    return true;
  }

  /** Slack answered 429 for a call of `key`: that bucket, and only it, waits `retryAfterMs`. */
  rateLimited(key: string, retryAfterMs: number): void {
    this.stats.rateLimited++;
    this.bucket(key).penalise(retryAfterMs);
    this.pump();
  }

  /** Requests waiting, per key. */
  waiting(key?: string): number {
    if (key !== undefined) return this.queues.get(key)?.length ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private find(ticket: Ticket): Waiting | undefined {
    return this.queues.get(ticket.key)?.find((t) => t === ticket);
  }

  private reserveFor(key: string, bucket: TokenBucket): number {
    return Math.max(0, Math.min(this.reserveOf(key), bucket.capacity - 1));
  }

  /** Serves what can be served now, then sets one timer for the next moment something can. */
  private pump(): void {
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [key, q] of this.queues) {
      const bucket = this.bucket(key);
      for (;;) {
        let best: Waiting | undefined;
        for (const t of q) {
          if (t.notBefore > now) {
            next = Math.min(next, t.notBefore);
            continue;
          }
          if (!best || better(t, best)) best = t;
        }
        if (!best) break;
        const reserve = best.priority === 'progress' ? this.reserveFor(key, bucket) : 0;
        if (!bucket.take(reserve)) {
          // Lower ranks need at least as many tokens: nothing else in this bucket can go now.
          next = Math.min(next, now + Math.max(1, bucket.msUntil(reserve)));
          break;
        }
        q.splice(q.indexOf(best), 1);
        this.stats.granted++;
        best.resolve();
      }
      if (q.length === 0) this.queues.delete(key);
    }
    this.arm(next);
  }

  private arm(at: number): void {
    if (at === this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /** Forgets idle buckets that are as good as new (per-channel buckets would otherwise pile up). */
  private sweep(): void {
    for (const [key, b] of this.buckets) if (!this.queues.has(key) && b.pristine) this.buckets.delete(key);
  }
}

/** Higher rank first; then the one eligible longest; then the older request. */
function better(a: Waiting, b: Waiting): boolean {
  if (RANK[a.priority] !== RANK[b.priority]) return RANK[a.priority] < RANK[b.priority];
  const ea = Math.max(a.notBefore, a.since);
  const eb = Math.max(b.notBefore, b.since);
  if (ea !== eb) return ea < eb;
  return a.seq < b.seq;
}
