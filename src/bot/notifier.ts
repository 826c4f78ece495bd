import type { Logger } from 'pino';
import { type BucketConfig, type Clock, Pacer, type Priority, SLACK_BUDGETS, systemClock, type Ticket } from './pacer.ts';

import type { ChatMessage } from '../core/slack/message.ts';

export type { ChatMessage, MessageMetadata } from '../core/slack/message.ts';

/** The slice of `WebClient` the notifier needs; passed in, so tests can point it anywhere. */
export interface ChatApi {
  chat: {
    postMessage(args: Record<string, unknown>): Promise<{ ok?: boolean; ts?: string; channel?: string }>;
    update(args: Record<string, unknown>): Promise<{ ok?: boolean }>;
    postEphemeral(args: Record<string, unknown>): Promise<{ ok?: boolean }>;
  };
}

export interface NotifierOptions {
  /** At most one progress edit per message per interval (Slack: about 1/s). */
  minIntervalMs?: number;
  /**
   * Spacing before a message's final edit. Shorter than `minIntervalMs`: it happens once per
   * message, and the workspace budget (the pacer) decides the rest.
   */
  finalMinIntervalMs?: number;
  /** Retries for 5xx and network errors (429s are always waited out, up to `maxRateLimitWaits`). */
  maxRetries?: number;
  maxRateLimitWaits?: number;
  baseBackoffMs?: number;
  /** Budget figures per method (default SLACK_BUDGETS: at or under Slack's published limits). */
  budgets?: Partial<Record<string, BucketConfig>>;
  /** Tokens of `chat.update` progress edits leave for final edits: at most this many (default 80 % of the burst). */
  maxFinalReserve?: number;
  /** The shared budget; one per process (made here unless given). */
  pacer?: Pacer;
  logger?: Logger;
  clock?: Clock;
  /** Each Slack call's end: its method and outcome (`ok`, `ratelimited`, `error`, or Slack's error code), for the metrics. */
  onCall?: (method: string, outcome: string) => void;
}

/** How a refused final message is still shown: the fallback names where the full result is. */
export interface FallbackOptions {
  /** Where the full result is, e.g. "The full result is in the job record: job 42." */
  howToGet: string;
}

export interface SendOptions {
  final?: boolean;
  /**
   * An edit someone waits on to act (a flare review): paced like any post, not held back to
   * leave budget for other messages' final edits as progress edits are.
   */
  urgent?: boolean;
  /**
   * chat.postMessage only. A post that failed ambiguously (5xx, network error: Slack may have
   * applied it) is retried only after this finds it did not land; it returns the message when
   * it did. Without it, such a post is not retried at all: the error goes to the caller.
   */
  findPosted?: () => Promise<{ channel: string; ts: string } | undefined>;
  /**
   * A later change to a message already final (a button replaced by its outcome): sent even
   * though the message took its final edit, as a final edit itself (later progress is dropped).
   */
  amend?: boolean;
  /** When Slack refuses the content, send a plain-text fallback instead (see `plainFallback`). */
  fallback?: FallbackOptions;
}

/** How an edit or post reached Slack: as built, or as the plain fallback. */
export type Delivery = 'sent' | 'fallback';

/** Slack's answer `ok: false` to a call: its error code and json-pointers (`response_metadata.messages`). */
export interface Refusal {
  error: string;
  pointers: string[];
}

/** The refusal carried by an error of `@slack/web-api` (`slack_webapi_platform_error`), if it is one. */
export function refusalOf(err: unknown): Refusal | undefined {
  const e = err as { code?: string; data?: { error?: unknown; response_metadata?: { messages?: unknown } } } | undefined;
  if (e?.code !== 'slack_webapi_platform_error' || typeof e.data?.error !== 'string') return undefined;
  const messages = e.data.response_metadata?.messages;
  const pointers = Array.isArray(messages) ? messages.filter((m): m is string => typeof m === 'string').map((m) => m.slice(0, 500)) : [];
  return { error: e.data.error, pointers };
}

/** Slack refused the message's content: sending it again will not help, a plain fallback may. */
export const CONTENT_ERRORS = new Set([
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'msg_blocks_too_long',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'metadata_too_large',
  'metadata_must_be_sent_from_app',
  'invalid_attachments',
  'too_many_attachments',
  'no_text',
]);
/** The metadata was the cause: the fallback goes without it. */
export const METADATA_ERRORS = new Set(['invalid_metadata_format', 'invalid_metadata_schema', 'metadata_too_large', 'metadata_must_be_sent_from_app']);
/** The message may no longer be edited (deleted, or too old): post it anew. */
export const GONE_ERRORS = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);
/** The bot cannot write to the channel at all. */
export const CHANNEL_ERRORS = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);
/** Slack's own trouble (answered ok:false): worth another attempt. */
export const TRANSIENT_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
/** The token or the app: no retry helps, an operator must act. */
const AUTH_ERRORS = [
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'not_allowed_token_type',
  'ekm_access_denied',
];
/** Slack error codes a metric keeps as their own outcome (a bounded set: any other code is `other_error`). */
const KNOWN_ERRORS = new Set([
  ...CONTENT_ERRORS,
  ...GONE_ERRORS,
  ...CHANNEL_ERRORS,
  ...TRANSIENT_ERRORS,
  ...AUTH_ERRORS,
  'invalid_arguments',
  'user_not_found',
  'user_not_in_channel',
]);

/** A call's outcome for the metrics: ok, ratelimited, error (HTTP or network), a known Slack code, or other_error. */
export function slackOutcome(raw: unknown): string {
  if ((raw as { code?: string } | undefined)?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  const code = refusalOf(raw)?.error;
  if (code === undefined) return 'error';
  return KNOWN_ERRORS.has(code) ? code : 'other_error';
}

const FALLBACK_TEXT_CHARS = 3000;

/**
 * A message Slack will take when it refused `message`: text only (no blocks), saying what was
 * done (the message's own one-line `text`), what could not be shown, and where the rest is. The
 * metadata is kept unless it was the cause.
 */
export function plainFallback(message: ChatMessage, refusal: Pick<Refusal, 'error'>, fallback: FallbackOptions): ChatMessage {
  const summary = message.text.length > FALLBACK_TEXT_CHARS ? `${message.text.slice(0, FALLBACK_TEXT_CHARS)}…` : message.text;
  const lost = METADATA_ERRORS.has(refusal.error) ? 'its details and buttons (and its metadata)' : 'its details and buttons';
  const text = `${summary}\n\n:warning: Slack refused the full message (\`${refusal.error}\`), so ${lost} cannot be shown here. ${fallback.howToGet}`;
  const keepMetadata = message.metadata && !METADATA_ERRORS.has(refusal.error);
  return keepMetadata ? { text, metadata: message.metadata! } : { text };
}

interface Waiter {
  resolve: (d: Delivery) => void;
  reject: (e: Error) => void;
}

interface Pending {
  message: ChatMessage;
  final: boolean;
  urgent?: boolean;
  fallback?: FallbackOptions;
  /** This is the fallback of a refused message (never falls back again). */
  isFallback?: boolean;
  waiters: Waiter[];
  retries: number;
  rateLimitWaits: number;
  retryAt: number;
}

interface MessageState {
  channel: string;
  ts: string;
  lastSentAt: number;
  lastActivity: number;
  pending?: Pending;
  inflight: boolean;
  ticket?: Ticket;
  /** A final edit was queued: later progress edits are dropped. */
  closed: boolean;
  /** The final edit reached Slack. */
  finalSent: boolean;
}

/** A message without a final edit for this long no longer holds budget for one. */
const OPEN_MESSAGE_TTL_MS = 5 * 60_000;
const UPDATE = 'chat.update';

/**
 * Every Slack post goes through here. One pacer budgets the workspace: all `chat.update` calls
 * of all messages share Slack's tier 3 bucket, `chat.postMessage` has a bucket per channel and
 * `chat.postEphemeral` one for tier 4; a 429 pauses only the bucket it came from, for
 * Retry-After. Per message, progress edits are coalesced (only the latest is sent) and at most
 * one per `minIntervalMs`; a final edit closes the message (later progress is dropped) and goes
 * before any progress edit of any message, which only spends tokens the bucket has beyond one
 * per message still awaiting its final edit. Refusals (`ok: false`) are logged with their
 * json-pointers; with `fallback`, a refused content is replaced by a plain-text fallback.
 */
export class Notifier {
  readonly pacer: Pacer;
  private readonly states = new Map<string, MessageState>();
  private readonly minIntervalMs: number;
  private readonly finalMinIntervalMs: number;
  private readonly maxRetries: number;
  private readonly maxRateLimitWaits: number;
  private readonly baseBackoffMs: number;
  private readonly maxFinalReserve: number;
  private readonly clock: Clock;
  /** Counters for tests and the benchmark. */
  readonly stats = { posts: 0, updates: 0, coalesced: 0, rateLimited: 0, retried: 0, refused: 0, fallbacks: 0 };

  constructor(
    private readonly api: ChatApi,
    private readonly opts: NotifierOptions = {},
  ) {
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.finalMinIntervalMs = Math.min(this.minIntervalMs, opts.finalMinIntervalMs ?? 200);
    this.maxRetries = opts.maxRetries ?? 4;
    this.maxRateLimitWaits = opts.maxRateLimitWaits ?? 10;
    this.baseBackoffMs = opts.baseBackoffMs ?? 500;
    this.clock = opts.clock ?? systemClock;
    const budgets = { ...SLACK_BUDGETS, ...(opts.budgets as Record<string, BucketConfig> | undefined) };
    this.maxFinalReserve = opts.maxFinalReserve ?? Math.floor(0.8 * budgets[UPDATE]!.capacity);
    this.pacer =
      opts.pacer ?? new Pacer({ clock: this.clock, budgets, reserve: (key) => (key === UPDATE ? Math.min(this.openMessages(), this.maxFinalReserve) : 0) });
  }

  /** Posts a message (paced per channel). With `final`, the message is a final result: it takes no later edits' budget. */
  async post(
    channel: string,
    message: ChatMessage,
    extra: Record<string, unknown> = {},
    opts: SendOptions = {},
  ): Promise<{ channel: string; ts: string; delivery: Delivery }> {
    const priority: Priority = opts.final ? 'final' : 'normal';
    const key = Pacer.key('chat.postMessage', channel);
    let delivery: Delivery = 'sent';
    let res: { ts?: string; channel?: string };
    const ambiguous = { findPosted: opts.findPosted ?? null };
    try {
      res = await this.call(
        key,
        priority,
        'chat.postMessage',
        { channel, ts: undefined },
        () => this.api.chat.postMessage({ channel, ...message, ...extra }),
        ambiguous,
      );
    } catch (err) {
      const refusal = refusalOf(err);
      if (!opts.fallback || !refusal || !CONTENT_ERRORS.has(refusal.error)) throw err;
      const alt = plainFallback(message, refusal, opts.fallback);
      res = await this.call(
        key,
        priority,
        'chat.postMessage',
        { channel, ts: undefined },
        () => this.api.chat.postMessage({ channel, ...alt, ...extra }),
        ambiguous,
      );
      this.stats.fallbacks++;
      delivery = 'fallback';
    }
    this.stats.posts++;
    const ts = res.ts!;
    const ch = res.channel ?? channel;
    const now = this.clock.now();
    this.states.set(key2(ch, ts), {
      channel: ch,
      ts,
      lastSentAt: now,
      lastActivity: now,
      inflight: false,
      closed: Boolean(opts.final),
      finalSent: Boolean(opts.final),
    });
    if (opts.final) this.forgetLater(key2(ch, ts));
    return { channel: ch, ts, delivery };
  }

  async postEphemeral(channel: string, user: string, message: ChatMessage): Promise<void> {
    await this.call('chat.postEphemeral', 'normal', 'chat.postEphemeral', { channel, ts: undefined }, () =>
      this.api.chat.postEphemeral({ channel, user, ...message }),
    );
  }

  /**
   * Queue an edit. Intermediate edits may be replaced by newer ones before they are sent;
   * the returned promise settles when this edit or one that superseded it reached Slack (with
   * how it was delivered), or rejects with the error
   * (`refusalOf(err)` reads Slack's `ok: false` answers).
   */
  update(channel: string, ts: string, message: ChatMessage, opts: SendOptions = {}): Promise<Delivery> {
    const k = key2(channel, ts);
    let state = this.states.get(k);
    if (!state) {
      state = { channel, ts, lastSentAt: 0, lastActivity: this.clock.now(), inflight: false, closed: false, finalSent: false };
      this.states.set(k, state);
    }
    if (state.closed && !opts.amend) return Promise.resolve('sent');
    state.lastActivity = this.clock.now();
    const final = (opts.final || opts.amend) ?? false;
    if (state.pending) {
      if (state.pending.final && !final) return Promise.resolve('sent'); // never replace a final edit
      this.stats.coalesced++;
    }
    const waiters = state.pending?.waiters ?? [];
    const promise = new Promise<Delivery>((resolve, reject) => waiters.push({ resolve, reject }));
    state.pending = {
      message,
      final,
      waiters,
      retries: 0,
      rateLimitWaits: 0,
      retryAt: 0,
      ...(opts.urgent ? { urgent: true } : {}),
      ...(opts.fallback ? { fallback: opts.fallback } : {}),
    };
    if (final) state.closed = true;
    this.schedule(state);
    return promise;
  }

  /** Number of messages with an edit not yet sent. */
  get backlog(): number {
    let n = 0;
    for (const s of this.states.values()) if (s.pending || s.inflight) n++;
    return n;
  }

  /** Messages that will still need a final edit (the budget progress edits leave alone). */
  openMessages(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [k, s] of this.states) {
      const idle = now - s.lastActivity >= OPEN_MESSAGE_TTL_MS;
      if (!s.finalSent && !idle) n++;
      // A message idle that long is as good as unknown (closed ones are kept: see forgetLater).
      else if (idle && !s.closed && !s.pending && !s.inflight && !s.ticket) this.states.delete(k);
    }
    return n;
  }

  private schedule(state: MessageState): void {
    const p = state.pending;
    if (state.inflight || !p) return;
    const notBefore = Math.max(state.lastSentAt + (p.final ? this.finalMinIntervalMs : this.minIntervalMs), p.retryAt);
    if (state.ticket) {
      // A final edit replaced a waiting progress one: it moves up, and forward, never back.
      if (p.final && state.ticket.priority !== 'final') this.pacer.promote(state.ticket, 'final', notBefore);
      return;
    }
    const ticket = this.pacer.request(UPDATE, p.final ? 'final' : p.urgent ? 'normal' : 'progress', notBefore);
    state.ticket = ticket;
    void ticket.granted.then(() => {
      state.ticket = undefined;
      void this.flush(state);
    });
  }

  private async flush(state: MessageState): Promise<void> {
    const p = state.pending;
    if (!p) return;
    state.pending = undefined;
    state.inflight = true;
    try {
      await this.api.chat.update({ channel: state.channel, ts: state.ts, ...p.message });
      this.opts.onCall?.(UPDATE, 'ok');
      this.stats.updates++;
      if (p.final) state.finalSent = true;
      if (p.isFallback) this.stats.fallbacks++;
      for (const w of p.waiters) w.resolve(p.isFallback ? 'fallback' : 'sent');
    } catch (raw) {
      const err = this.classify(raw, UPDATE, state);
      if (err.kind === 'rate-limited' && p.rateLimitWaits < this.maxRateLimitWaits) {
        p.rateLimitWaits++;
        this.requeue(state, p);
      } else if (err.kind === 'transient' && p.retries < this.maxRetries) {
        p.retryAt = this.clock.now() + this.baseBackoffMs * 2 ** p.retries;
        p.retries++;
        this.stats.retried++;
        this.requeue(state, p);
      } else if (err.kind === 'refused' && p.fallback && !p.isFallback && CONTENT_ERRORS.has(err.refusal.error)) {
        this.requeue(state, { ...p, message: plainFallback(p.message, err.refusal, p.fallback), isFallback: true, retries: 0, rateLimitWaits: 0, retryAt: 0 });
      } else {
        for (const w of p.waiters) w.reject(err.error);
        // A final edit that never reached Slack must not block a later attempt.
        if (p.final && !state.pending) state.closed = false;
        // Refused (gone, channel errors…): this message will not take a final edit, so it holds no budget for one.
        if (p.final && err.kind === 'refused') state.finalSent = true;
      }
    } finally {
      state.inflight = false;
      state.lastSentAt = this.clock.now();
      if (state.pending) this.schedule(state);
      else if (state.closed) this.forgetLater(key2(state.channel, state.ts));
    }
  }

  /** Puts an edit back in line, under any newer content that arrived meanwhile. */
  private requeue(state: MessageState, p: Pending): void {
    if (state.pending) {
      state.pending.waiters.unshift(...p.waiters);
      if (p.final && !state.pending.final) state.pending = { ...p, waiters: state.pending.waiters };
    } else state.pending = p;
  }

  /** Keep the closed marker a while so late progress events cannot overwrite the result. */
  private forgetLater(k: string): void {
    const state = this.states.get(k);
    const t = setTimeout(() => this.states.get(k) === state && this.states.delete(k), 10 * 60_000);
    (t as { unref?: () => void }).unref?.();
  }

  /**
   * One call through the pacer: waits out 429s in its bucket, retries 5xx and network errors.
   * A call that is not idempotent (`ambiguous`, chat.postMessage) is retried after a 5xx or a
   * network error only once `findPosted` says it did not land; it may return what did.
   */
  private async call<T>(
    key: string,
    priority: Priority,
    method: string,
    where: { channel: string; ts: string | undefined },
    fn: () => Promise<T>,
    ambiguous?: { findPosted: (() => Promise<{ channel: string; ts: string } | undefined>) | null },
  ): Promise<T> {
    let retries = 0;
    let rateLimitWaits = 0;
    for (;;) {
      await this.pacer.acquire(key, priority);
      try {
        const res = await fn();
        this.opts.onCall?.(method, 'ok');
        return res;
      } catch (raw) {
        const err = this.classify(raw, key, where, method);
        if (err.kind === 'rate-limited' && rateLimitWaits < this.maxRateLimitWaits) {
          rateLimitWaits++;
          continue;
        }
        if (err.kind === 'transient' && retries < this.maxRetries) {
          if (ambiguous && !ambiguous.findPosted) throw err.error;
          this.stats.retried++;
          await new Promise<void>((r) => setTimeout(r, this.baseBackoffMs * 2 ** retries));
          retries++;
          if (ambiguous?.findPosted) {
            // Did the failed post land after all? Then that is the message (never posted twice).
            const landed = await ambiguous.findPosted().catch(() => 'unknown' as const);
            if (landed === 'unknown') throw err.error;
            if (landed) {
              this.opts.logger?.info({ method, channel: landed.channel, ts: landed.ts }, 'an ambiguous post had landed; not posting it again');
              return { ok: true, channel: landed.channel, ts: landed.ts } as T;
            }
          }
          continue;
        }
        throw err.error;
      }
    }
  }

  /**
   * What a failed call means. A 429 is reported to the pacer here (that bucket waits); a refusal
   * is logged (warn) with its code and json-pointers, never the message's content or the token.
   */
  private classify(
    raw: unknown,
    key: string,
    where: { channel: string; ts: string | undefined },
    method = key.split(' ')[0]!,
  ):
    | { kind: 'rate-limited'; error: Error }
    | { kind: 'transient'; error: Error }
    | { kind: 'refused'; refusal: Refusal; error: Error }
    | { kind: 'other'; error: Error } {
    const e = raw as { code?: string; retryAfter?: number; statusCode?: number };
    this.opts.onCall?.(method, slackOutcome(raw));
    if (e.code === 'slack_webapi_rate_limited_error') {
      this.stats.rateLimited++;
      const waitMs = Math.max(1, e.retryAfter ?? 1) * 1000;
      this.opts.logger?.info({ method, waitMs, channel: where.channel }, 'slack rate limited; this method waits Retry-After');
      this.pacer.rateLimited(key, waitMs);
      return { kind: 'rate-limited', error: raw as Error };
    }
    const refusal = refusalOf(raw);
    const transient =
      (e.code === 'slack_webapi_http_error' && (e.statusCode ?? 0) >= 500) ||
      e.code === 'slack_webapi_request_error' ||
      (refusal !== undefined && TRANSIENT_ERRORS.has(refusal.error));
    if (transient) return { kind: 'transient', error: raw as Error };
    if (refusal) {
      this.stats.refused++;
      this.opts.logger?.warn(
        { method, error: refusal.error, pointers: refusal.pointers, channel: where.channel, ...(where.ts ? { ts: where.ts } : {}) },
        'slack refused the message',
      );
      return { kind: 'refused', refusal, error: raw as Error };
    }
    return { kind: 'other', error: raw as Error };
  }
}

const key2 = (channel: string, ts: string) => `${channel}:${ts}`;
