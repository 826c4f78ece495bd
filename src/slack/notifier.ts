import type { KnownBlock } from '@slack/types';
import type { Logger } from 'pino';

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface ChatMessage {
  text: string;
  blocks?: KnownBlock[];
  metadata?: MessageMetadata;
}

/** The slice of `WebClient` the notifier needs; passed in, so tests can point it anywhere. */
export interface ChatApi {
  chat: {
    postMessage(args: Record<string, unknown>): Promise<{ ok?: boolean; ts?: string; channel?: string }>;
    update(args: Record<string, unknown>): Promise<{ ok?: boolean }>;
    postEphemeral(args: Record<string, unknown>): Promise<{ ok?: boolean }>;
  };
}

export interface NotifierOptions {
  /** At most one edit per message per interval (Slack: about 1/s). */
  minIntervalMs?: number;
  /**
   * Spacing before a message's final edit. Shorter than `minIntervalMs`: it happens once per
   * message, `chat.update` tolerates short bursts (Tier 3), and a 429 is waited out anyway, so
   * the result need not queue behind the last progress edit for a whole interval.
   */
  finalMinIntervalMs?: number;
  /** Retries for 5xx and network errors (429s are always waited out, up to `maxRateLimitWaits`). */
  maxRetries?: number;
  maxRateLimitWaits?: number;
  baseBackoffMs?: number;
  logger?: Logger;
  now?: () => number;
}

interface Pending {
  message: ChatMessage;
  final: boolean;
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

interface MessageState {
  channel: string;
  ts: string;
  lastSentAt: number;
  pending?: Pending;
  inflight: boolean;
  timer?: NodeJS.Timeout;
  timerDueAt: number;
  closed: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Every Slack post goes through here: honours 429 Retry-After, retries 5xx, keeps edits to one
 * per `minIntervalMs` per message and coalesces intermediate updates (only the latest is sent).
 * A final update closes the message: later intermediate updates are dropped.
 */
export class Notifier {
  private readonly states = new Map<string, MessageState>();
  private readonly minIntervalMs: number;
  private readonly finalMinIntervalMs: number;
  private readonly maxRetries: number;
  private readonly maxRateLimitWaits: number;
  private readonly baseBackoffMs: number;
  private readonly now: () => number;
  /** Counters for tests and the benchmark. */
  readonly stats = { posts: 0, updates: 0, coalesced: 0, rateLimited: 0, retried: 0 };

  constructor(
    private readonly api: ChatApi,
    private readonly opts: NotifierOptions = {},
  ) {
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.finalMinIntervalMs = Math.min(this.minIntervalMs, opts.finalMinIntervalMs ?? 200);
    this.maxRetries = opts.maxRetries ?? 4;
    this.maxRateLimitWaits = opts.maxRateLimitWaits ?? 10;
    this.baseBackoffMs = opts.baseBackoffMs ?? 500;
    this.now = opts.now ?? Date.now;
  }

  async post(channel: string, message: ChatMessage, extra: Record<string, unknown> = {}): Promise<{ channel: string; ts: string }> {
    const res = await this.withRetry('chat.postMessage', () => this.api.chat.postMessage({ channel, ...message, ...extra }));
    this.stats.posts++;
    const ts = res.ts!;
    const ch = res.channel ?? channel;
    this.states.set(key(ch, ts), { channel: ch, ts, lastSentAt: this.now(), inflight: false, closed: false, timerDueAt: 0 });
    return { channel: ch, ts };
  }

  async postEphemeral(channel: string, user: string, message: ChatMessage): Promise<void> {
    await this.withRetry('chat.postEphemeral', () => this.api.chat.postEphemeral({ channel, user, ...message }));
  }

  /**
   * Queue an edit. Intermediate edits may be replaced by newer ones before they are sent;
   * the returned promise settles when this edit or one that superseded it reached Slack.
   */
  update(channel: string, ts: string, message: ChatMessage, opts: { final?: boolean } = {}): Promise<void> {
    const k = key(channel, ts);
    let state = this.states.get(k);
    if (!state) {
      state = { channel, ts, lastSentAt: 0, inflight: false, closed: false, timerDueAt: 0 };
      this.states.set(k, state);
    }
    if (state.closed) return Promise.resolve();
    const final = opts.final ?? false;
    if (state.pending) {
      if (state.pending.final && !final) return Promise.resolve(); // never replace a final edit
      this.stats.coalesced++;
    }
    const waiters = state.pending?.waiters ?? [];
    const promise = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    state.pending = { message, final, waiters };
    if (final) state.closed = true;
    this.schedule(k, state);
    return promise;
  }

  /** Number of messages with an edit not yet sent. */
  get backlog(): number {
    let n = 0;
    for (const s of this.states.values()) if (s.pending || s.inflight) n++;
    return n;
  }

  private schedule(k: string, state: MessageState): void {
    if (state.inflight) return;
    const interval = state.pending?.final ? this.finalMinIntervalMs : this.minIntervalMs;
    const delay = Math.max(0, state.lastSentAt + interval - this.now());
    if (state.timer) {
      // A final edit may move a waiting intermediate one forward, never back.
      if (!state.pending?.final || state.timerDueAt <= this.now() + delay) return;
      clearTimeout(state.timer);
    }
    state.timerDueAt = this.now() + delay;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.flush(k, state);
    }, delay);
  }

  private async flush(k: string, state: MessageState): Promise<void> {
    const pending = state.pending;
    if (!pending) return;
    state.pending = undefined;
    state.inflight = true;
    try {
      await this.withRetry('chat.update', () => this.api.chat.update({ channel: state.channel, ts: state.ts, ...pending.message }));
      this.stats.updates++;
      for (const w of pending.waiters) w.resolve();
    } catch (err) {
      this.opts.logger?.warn({ err, channel: state.channel, ts: state.ts }, 'slack update failed');
      for (const w of pending.waiters) w.reject(err as Error);
      // A final edit that never reached Slack must not block a later attempt.
      if (pending.final && !state.pending) state.closed = false;
    } finally {
      state.inflight = false;
      state.lastSentAt = this.now();
      if (state.pending) this.schedule(k, state);
      else if (state.closed) {
        // Keep the closed marker a while so late progress events cannot overwrite the result.
        setTimeout(() => this.states.get(k) === state && this.states.delete(k), 10 * 60_000).unref();
      }
    }
  }

  private async withRetry<T>(method: string, call: () => Promise<T>): Promise<T> {
    let retries = 0;
    let rateLimitWaits = 0;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        const e = err as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: string } };
        if (e.code === 'slack_webapi_rate_limited_error' && rateLimitWaits < this.maxRateLimitWaits) {
          rateLimitWaits++;
          this.stats.rateLimited++;
          const waitMs = Math.max(1, e.retryAfter ?? 1) * 1000;
          this.opts.logger?.info({ method, waitMs }, 'slack rate limited; waiting Retry-After');
          await sleep(waitMs);
          continue;
        }
        const transient =
          (e.code === 'slack_webapi_http_error' && (e.statusCode ?? 0) >= 500) ||
          e.code === 'slack_webapi_request_error' ||
          (e.code === 'slack_webapi_platform_error' && ['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'].includes(e.data?.error ?? ''));
        if (transient && retries < this.maxRetries) {
          this.stats.retried++;
          await sleep(this.baseBackoffMs * 2 ** retries);
          retries++;
          continue;
        }
        throw err;
      }
    }
  }
}

const key = (channel: string, ts: string) => `${channel}:${ts}`;
