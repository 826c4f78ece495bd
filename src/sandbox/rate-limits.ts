/**
 * Slack's Web API rate limits, as the emulator enforces them: token buckets per method per
 * workspace (the emulator is one workspace), plus `chat.postMessage` per channel. Pure apart
 * from the injected clock: no I/O, no timers.
 *
 * Slack publishes the sustained rates ("Tier 3: 50+ per minute", "1 message per second per
 * channel"), not the burst sizes: the capacities below are our model (see README.md).
 *
 * A call spends one token of every bucket it is counted in. When one of them is empty the call
 * is refused as a whole (no token spent anywhere) and told how long until all of them can pay
 * again: that is Slack's `Retry-After`, in whole seconds, at least 1.
 */

export interface BucketSpec {
  /** Burst: tokens available at once (a full bucket). */
  capacity: number;
  /** Sustained rate, tokens per second. */
  refillPerSec: number;
}

export interface RateLimitConfig {
  /** Workspace-wide bucket per Web API method. A method not listed here is not limited. */
  methods: Record<string, BucketSpec>;
  /** `chat.postMessage`, per channel (on top of its workspace-wide entry in `methods`). */
  postMessagePerChannel: BucketSpec;
  /** Milliseconds, e.g. `Date.now` (default); tests pass a fake clock. */
  now: () => number;
}

const perMinute = (n: number): number => n / 60;

/** Slack's tiers (api.slack.com "Rate limits"): the published rate, our burst. */
export const TIERS = {
  /** "1+ per minute". */
  1: { capacity: 5, refillPerSec: perMinute(1) },
  /** "20+ per minute". */
  2: { capacity: 10, refillPerSec: perMinute(20) },
  /** "50+ per minute". */
  3: { capacity: 20, refillPerSec: perMinute(50) },
  /** "100+ per minute". */
  4: { capacity: 40, refillPerSec: perMinute(100) },
} as const satisfies Record<number, BucketSpec>;

/** The methods the emulator speaks, with their tier as given on each method's page. */
export const DEFAULT_METHOD_LIMITS: Record<string, BucketSpec> = {
  'chat.update': TIERS[3],
  'chat.delete': TIERS[3],
  'chat.postEphemeral': TIERS[4],
  'views.open': TIERS[4],
  'views.update': TIERS[4],
  'views.push': TIERS[4],
  'views.publish': TIERS[4],
  'users.info': TIERS[4],
  'usergroups.users.list': TIERS[2],
  'conversations.info': TIERS[3],
  'conversations.history': TIERS[3],
  'conversations.replies': TIERS[3],
  // chat.getPermalink is "special" (generous): modelled like auth.test.
  'chat.getPermalink': { capacity: 100, refillPerSec: perMinute(600) },
  'reactions.add': TIERS[3],
  // "Special": Slack says only that it is generous. Ours: 100 at once, 600 a minute.
  'auth.test': { capacity: 100, refillPerSec: perMinute(600) },
  // Workspace-wide: "several hundred messages per minute". Ours: 100 at once, 300 a minute.
  'chat.postMessage': { capacity: 100, refillPerSec: perMinute(300) },
};

/** "About 1 message per second per channel, short bursts allowed". Ours: 5 at once, then 1/s. */
export const DEFAULT_POST_MESSAGE_PER_CHANNEL: BucketSpec = { capacity: 5, refillPerSec: 1 };

export function rateLimitConfig(overrides: Partial<RateLimitConfig> = {}): RateLimitConfig {
  return {
    methods: { ...DEFAULT_METHOD_LIMITS, ...overrides.methods },
    postMessagePerChannel: overrides.postMessagePerChannel ?? DEFAULT_POST_MESSAGE_PER_CHANNEL,
    now: overrides.now ?? (() => Date.now()),
  };
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSec: number; bucket: string };

class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly spec: BucketSpec,
    now: number,
  ) {
    this.tokens = spec.capacity;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.spec.capacity, this.tokens + ((now - this.at) / 1000) * this.spec.refillPerSec);
      this.at = now;
    }
  }

  /** Seconds until one token is there (0: now). */
  wait(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    return this.spec.refillPerSec > 0 ? (1 - this.tokens) / this.spec.refillPerSec : Infinity;
  }

  spend(): void {
    this.tokens -= 1;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }
}

export class RateLimiter {
  readonly config: RateLimitConfig;
  private readonly buckets = new Map<string, Bucket>();

  constructor(config: Partial<RateLimitConfig> = {}) {
    this.config = rateLimitConfig(config);
  }

  /** The bucket keys a call is counted in. */
  keys(method: string, args: { channel?: string } = {}): string[] {
    const out: string[] = [];
    if (this.config.methods[method]) out.push(method);
    if (method === 'chat.postMessage') out.push(`chat.postMessage#${args.channel ?? ''}`);
    return out;
  }

  /** Spends a token of each bucket the call is counted in, or none when one is empty. */
  take(method: string, args: { channel?: string } = {}): RateDecision {
    const now = this.config.now();
    const buckets = this.keys(method, args).map((k) => [k, this.bucket(k, now)] as const);
    let worst: { key: string; wait: number } | undefined;
    for (const [k, b] of buckets) {
      const wait = b.wait(now);
      if (wait > 0 && (!worst || wait > worst.wait)) worst = { key: k, wait };
    }
    if (worst) return { ok: false, retryAfterSec: Number.isFinite(worst.wait) ? Math.max(1, Math.ceil(worst.wait)) : 3600, bucket: worst.key };
    for (const [, b] of buckets) b.spend();
    return { ok: true };
  }

  /** Tokens left in a bucket (for tests and the bench), or undefined when the key is not limited. */
  available(key: string): number | undefined {
    const spec = this.spec(key);
    if (!spec) return undefined;
    return this.bucket(key, this.config.now()).available(this.config.now());
  }

  /** Every bucket full again. */
  reset(): void {
    this.buckets.clear();
  }

  private spec(key: string): BucketSpec | undefined {
    return key.startsWith('chat.postMessage#') ? this.config.postMessagePerChannel : this.config.methods[key];
  }

  private bucket(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      const spec = this.spec(key);
      if (!spec) throw new Error(`no rate limit for ${key}`);
      b = new Bucket(spec, now);
      this.buckets.set(key, b);
    }
    return b;
  }
}
