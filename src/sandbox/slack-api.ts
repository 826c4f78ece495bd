/**
 * Slack Web API emulator: the Web API the sandbox bot talks to (`npm start` without Slack
 * credentials), and the one the tests drive the bot against.
 *
 * A plain `node:http` server on 127.0.0.1 (random port) that speaks the subset of the Slack Web API the
 * project uses, parses requests exactly the way `@slack/web-api` sends them, keeps the resulting
 * workspace state (messages, views, reactions) and records every call. State changes are also
 * emitted as events (`message_posted`, `message_updated`, `message_deleted`, `view_opened`,
 * `view_updated`, `view_closed`), which is what the sandbox page is fed from.
 *
 * Like Slack, it refuses what Slack refuses (src/sandbox/README.md lists every rule and its source):
 * Block Kit and message rules (./block-kit.ts) as `{ok:false, error, response_metadata:{messages}}`
 * with Slack's json-pointers; rate limits per method tier, and chat.postMessage per channel
 * (./rate-limits.ts), as HTTP 429 with Retry-After; channel and message errors (not_in_channel,
 * channel_not_found, is_archived, message_not_found, cant_update_message).
 *
 * response_url: `responseUrl(id)` only records what is posted to it (tests assert on the calls);
 * `registerResponseUrl(context)` gives a URL that also acts on the workspace as Slack does — a new
 * ephemeral (default) or in_channel message, `replace_original`, `delete_original` — usable 5
 * times within 30 minutes.
 *
 *   const emu = await SlackEmulator.start({ token: 'xoxb-test' });
 *   const client = new WebClient('xoxb-test', { slackApiUrl: emu.url, retryConfig: { retries: 0 } });
 *   ...
 *   const msg = await emu.waitFor((e) => e.messages('C1').find((m) => m.updates > 0));
 *   await emu.close();
 *
 * Wire format notes (how @slack/web-api 8 sends requests):
 *  - always `POST <slackApiUrl><method>` with `Authorization: Bearer <token>`; a per-call `token` argument is
 *    sent BOTH as the header and as a `token` form field;
 *  - body is `application/x-www-form-urlencoded` (node:querystring): objects/arrays (blocks, metadata, view,
 *    attachments...) are JSON strings, numbers/booleans arrive as strings ("true", "42"), undefined/null are
 *    omitted. The emulator JSON-decodes the object/array fields; scalars are recorded as received (strings).
 *  - `application/json` bodies are accepted too (token then only in the header).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BLOCK_KIT_LIMITS, blockErrors, type SlackRefusal, validateMessage, validateView } from './block-kit.ts';
import { isRecord } from './json.ts';
import { type RateLimitConfig, RateLimiter } from './rate-limits.ts';

export { BLOCK_KIT_LIMITS, type SlackRefusal } from './block-kit.ts';
export type { BucketSpec, RateLimitConfig } from './rate-limits.ts';

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  token?: string;
  /** Date.now() when the request was received. */
  at: number;
  /** HTTP status the emulator answered with (200 also for `{ok:false}` answers). */
  status: number;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  thread_ts?: string;
  /** Poster ('UBOT') for normal messages; the recipient for ephemeral messages. */
  user?: string;
  /** Number of successful chat.update calls applied to this message. */
  updates: number;
  ephemeral?: boolean;
  /** Reaction names added with reactions.add, in order. */
  reactions?: string[];
}

/**
 * Slack's rules for a home tab (views.publish): `type: home`, at most 100 blocks, no `title`,
 * `submit` or `close` (a home view has none), the modal's limits on the other fields.
 */
export function validateHomeView(view: unknown): SlackRefusal | undefined {
  const errors: string[] = [];
  const err = (what: string, ptr: string) => errors.push(`[ERROR] ${what} [json-pointer:${ptr}]`);
  if (!isRecord(view)) err('must provide an object', '/view');
  else {
    if (view.type === undefined) err('missing required field: type', '/view');
    else if (view.type !== 'home') err(`unsupported type: ${String(view.type)}`, '/view/type');
    for (const f of ['title', 'submit', 'close']) if (view[f] !== undefined) err(`unsupported field: ${f}`, `/view/${f}`);
    const limits: [string, number][] = [
      ['private_metadata', BLOCK_KIT_LIMITS.privateMetadata],
      ['callback_id', BLOCK_KIT_LIMITS.callbackId],
      ['external_id', BLOCK_KIT_LIMITS.externalId],
    ];
    for (const [f, max] of limits)
      if (view[f] !== undefined && (typeof view[f] !== 'string' || (view[f] as string).length > max))
        err(`must be a string of at most ${max} characters`, `/view/${f}`);
    if (!Array.isArray(view.blocks)) err(view.blocks === undefined ? 'missing required field: blocks' : 'must provide an array', '/view/blocks');
    else if (view.blocks.length > BLOCK_KIT_LIMITS.viewBlocks) err(`must provide no more than ${BLOCK_KIT_LIMITS.viewBlocks} items`, '/view/blocks');
    else errors.push(...blockErrors(view.blocks, 'modal', '/view/blocks'));
  }
  return errors.length ? { error: 'invalid_arguments', messages: errors } : undefined;
}

export interface SlackView {
  id: string;
  hash: string;
  trigger_id?: string;
  external_id?: string;
  view: Record<string, unknown>;
  updates: number;
}

export type SlackFault =
  | { status: 429; retryAfterSec: number }
  /** With `afterApplying`, the call takes effect and only then is answered with the error (Slack's ambiguous failure). */
  | { status: 500 | 502 | 503; afterApplying?: boolean }
  | { latencyMs: number };

export interface SlackUser {
  id: string;
  name: string;
  email?: string;
  /** The user's time zone (users.info `tz`, an IANA name), as Slack gives it. */
  tz?: string;
}

/** Who and where a registered response_url answers: the invoking user, the channel, and the message it came from. */
export interface ResponseContext {
  channel: string;
  user: string;
  /** The message holding the element that was used (for replace_original / delete_original). */
  original?: { ts: string };
}

/** A response_url body, or a slash command's synchronous ack body (same shape, same effect). */
export interface ResponseBody {
  text?: unknown;
  blocks?: unknown;
  response_type?: unknown;
  replace_original?: unknown;
  delete_original?: unknown;
  thread_ts?: unknown;
  metadata?: unknown;
}

export interface SlackEmulatorEvents {
  call: [call: RecordedCall];
  message_posted: [message: SlackMessage];
  message_updated: [message: SlackMessage];
  message_deleted: [message: SlackMessage];
  view_opened: [view: SlackView];
  view_updated: [view: SlackView];
  view_closed: [view: SlackView];
}

export interface SlackEmulatorOptions {
  /** Bot token every call must carry (none: any token is accepted). */
  token?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /**
   * Like Slack, views.open accepts only a trigger_id from `issueTriggerId()`, within 3 s of it.
   * Off by default: tests make up their trigger ids.
   */
  strictTriggers?: boolean;
  /**
   * 'fixed' (default): message timestamps count up from 1700000000.000100, for reproducible tests.
   * 'wall': they follow the wall clock (still strictly increasing), as the sandbox page shows times.
   */
  clock?: 'fixed' | 'wall';
  /**
   * Socket Mode: `apps.connections.open`, called with this app-level token (`xapp-…`), answers
   * with `url()`, the WebSocket a Socket Mode server listens on.
   */
  socketMode?: { appToken: string; url: () => string };
  /**
   * The bot token's OAuth scopes (default: the bot scopes of `manifest.json`, `BOT_SCOPES`). A
   * method the token has no scope for answers `missing_scope` with `needed` and `provided`, as
   * Slack does; `users.info` leaves the email out without `users:read.email`.
   */
  scopes?: readonly string[];
  /**
   * Slack's rate limits (./rate-limits.ts), on by default: `false` turns them off; a partial
   * config replaces some budgets (`methods` entries are merged) or injects a clock (`now`).
   */
  rateLimits?: false | Partial<RateLimitConfig>;
}

interface RegisteredResponseUrl extends ResponseContext {
  uses: number;
  expiresAt: number;
}

/** Slack: a trigger_id is good for 3 seconds. */
const TRIGGER_TTL_MS = 3_000;
/** Slack: "up to 5 times within 30 minutes". */
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60_000;

interface PendingFault {
  method: string;
  fault: SlackFault;
  remaining: number;
}

type Answer = { status: number; body: Record<string, unknown> };

/** The bot scopes `manifest.json` asks for (a test keeps the two the same). */
export const BOT_SCOPES = [
  'commands',
  'chat:write',
  'users:read',
  'users:read.email',
  'usergroups:read',
  'channels:history',
  'groups:history',
  'im:history',
  'mpim:history',
] as const;

/** The scope a method needs, per Slack's method pages; the history and info methods by the kind of conversation. */
function scopeNeeded(method: string, channel: string): string | undefined {
  const kind = channel.startsWith('G') ? 'groups' : channel.startsWith('D') ? 'im' : 'channels';
  switch (method) {
    case 'chat.postMessage':
    case 'chat.update':
    case 'chat.delete':
    case 'chat.postEphemeral':
      return 'chat:write';
    case 'users.info':
      return 'users:read';
    case 'usergroups.users.list':
      return 'usergroups:read';
    case 'conversations.history':
    case 'conversations.replies':
      return `${kind}:history`;
    case 'conversations.info':
      return `${kind}:read`;
    case 'reactions.add':
      return 'reactions:write';
    default:
      return undefined; // auth.test, views.*, chat.getPermalink: no scope of their own
  }
}

export const BOT_USER_ID = 'UBOT';
export const BOT_ID = 'BBOT';
export const TEAM_ID = 'T0001';
export const TEAM_NAME = 'test';
export const NOT_MEMBER_CHANNEL = 'CNOTMEMBER';

/** Slack: views.push stacks at most 3 views. */
const MAX_VIEW_STACK = 3;
/** What Slack takes as a channel id: public (C), private (G) or a DM (D). */
const CHANNEL_ID = /^[CDG][A-Z0-9]+$/;

/** Form fields that are always plain strings, even if they happen to look like JSON. */
const STRING_FIELDS = new Set([
  'text',
  'markdown_text',
  'channel',
  'ts',
  'thread_ts',
  'timestamp',
  'user',
  'name',
  'token',
  'trigger_id',
  'view_id',
  'external_id',
  'hash',
  'username',
  'icon_emoji',
  'icon_url',
  'private_metadata',
  'callback_id',
]);

const REASON: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

function decodeField(key: string, value: string): unknown {
  // @slack/web-api JSON-encodes every object/array argument (blocks, metadata, view, attachments, ...).
  if (STRING_FIELDS.has(key)) return value;
  if (value.startsWith('{') || value.startsWith('[')) {
    try {
      return JSON.parse(value);
    } catch {
      // Not JSON after all: pass through as a string; handlers report format errors (e.g. invalid_blocks_format).
      return value;
    }
  }
  return value;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function clip(v: unknown, max = 300): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

function ok(body: Record<string, unknown> = {}): Answer {
  return { status: 200, body: { ok: true, ...body } };
}

function fail(error: string, extra: Record<string, unknown> = {}): Answer {
  return { status: 200, body: { ok: false, error, ...extra } };
}

function refused(r: SlackRefusal, error = r.error): Answer {
  return fail(error, r.messages.length ? { response_metadata: { messages: r.messages } } : {});
}

export class SlackEmulator extends EventEmitter {
  /** Base URL of the Web API, e.g. `http://127.0.0.1:PORT/api/` — pass as `slackApiUrl`. */
  readonly url: string;
  /** Every request received, in order (including faulted and failed ones). */
  calls: RecordedCall[] = [];
  /** Users known to users.info. */
  /** User group ID → member user IDs, for usergroups.users.list. */
  readonly usergroups = new Map<string, string[]>();
  users = new Map<string, SlackUser>();
  /** Modals opened with views.open (keyed by view id), in opening order: the last one is on top. */
  views = new Map<string, SlackView>();
  /** Home tabs published with views.publish, by user ID (the last one published). */
  homeViews = new Map<string, SlackView>();
  /** Channel ID → name (without `#`), for conversations.info and the sandbox page. */
  readonly channels = new Map<string, string>();

  private readonly server: http.Server;
  private readonly origin: string;
  private readonly token: string | undefined;
  private readonly store = new Map<string, SlackMessage>();
  private faults: PendingFault[] = [];
  private tsMicros = 1_700_000_000_000_000n;
  private readonly wallClock: boolean;
  private viewSeq = 0;
  private readonly responseUrls = new Map<string, RegisteredResponseUrl>();
  private responseSeq = 0;
  private readonly strictTriggers: boolean;
  private readonly socketMode: SlackEmulatorOptions['socketMode'];
  private readonly scopes: ReadonlySet<string>;
  /** Issued trigger ids: when they expire, whether views.open used them already. */
  private readonly triggers = new Map<string, { expiresAt: number; used: boolean }>();
  private triggerSeq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly closeHooks = new Set<(err: Error) => void>();
  private closed = false;
  /** Slack's rate limits; undefined when turned off. */
  readonly limiter: RateLimiter | undefined;
  private rateLimitedCount = 0;
  /** Channels the bot is not a member of (chat.postMessage answers not_in_channel). */
  private readonly nonMember = new Set<string>([NOT_MEMBER_CHANNEL]);
  private readonly archived = new Set<string>();
  private readonly deleted = new Set<string>();

  private constructor(server: http.Server, origin: string, token: string | undefined, opts: SlackEmulatorOptions) {
    super();
    this.server = server;
    this.origin = origin;
    this.url = `${origin}/api/`;
    this.token = token;
    this.wallClock = opts.clock === 'wall';
    this.strictTriggers = opts.strictTriggers === true;
    this.socketMode = opts.socketMode;
    this.scopes = new Set(opts.scopes ?? BOT_SCOPES);
    this.limiter = opts.rateLimits === false ? undefined : new RateLimiter(opts.rateLimits ?? {});
  }

  static async start(opts: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
    let emu: SlackEmulator | undefined;
    const server = http.createServer((req, res) => {
      if (!emu) {
        res.writeHead(503).end('starting');
        return;
      }
      emu.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          // The message only: the stack stays in this process (it is product code now).
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`emulator error: ${err instanceof Error ? err.message : String(err)}`);
        } else {
          res.destroy();
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port, address, family } = server.address() as AddressInfo;
    const host = family === 'IPv6' ? `[${address}]` : address;
    emu = new SlackEmulator(server, `http://${host}:${port}`, opts.token, opts);
    return emu;
  }

  // ---------------------------------------------------------------- queries

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Calls answered 429 by the rate limiter (not by an injected fault) since start or reset(). */
  rateLimited(): number {
    return this.rateLimitedCount;
  }

  // ---------------------------------------------------------------- workspace

  /** Whether the bot is a member of the channel: chat.postMessage answers not_in_channel when it is not. */
  setMember(channel: string, member: boolean): void {
    if (member) this.nonMember.delete(channel);
    else this.nonMember.add(channel);
  }

  /** Archives a channel: posting, editing and reacting there answer is_archived. */
  archiveChannel(channel: string): void {
    this.archived.add(channel);
  }

  /** Deletes a channel: every call about it answers channel_not_found (its messages are kept, unreachable). */
  deleteChannel(channel: string): void {
    this.deleted.add(channel);
    this.channels.delete(channel);
  }

  /** A message a person posted (the bot may not edit or delete it: cant_update_message / cant_delete_message). */
  postAsUser(channel: string, user: string, text: string): SlackMessage {
    const msg: SlackMessage = { channel, ts: this.nextTs(), user, text, updates: 0 };
    this.storeMessage(msg);
    return msg;
  }

  /** Current state of every (non-deleted) message, in posting order; optionally only one channel's. */
  messages(channel?: string): SlackMessage[] {
    const all = [...this.store.values()];
    return channel === undefined ? all : all.filter((m) => m.channel === channel);
  }

  message(channel: string, ts: string): SlackMessage | undefined {
    return this.store.get(key(channel, ts));
  }

  /** URL usable as a Slack `response_url`; POSTs to it are recorded as `response_url` calls with `args.id`. */
  responseUrl(id: string): string {
    return `${this.origin}/response/${encodeURIComponent(id)}`;
  }

  /**
   * A response_url that acts as Slack's does for this user, channel and message (see the file
   * header); posts are recorded as `response_url` calls too.
   */
  registerResponseUrl(context: ResponseContext): string {
    const now = Date.now();
    for (const [id, r] of this.responseUrls) if (r.expiresAt + RESPONSE_URL_TTL_MS < now) this.responseUrls.delete(id);
    this.responseSeq += 1;
    // Unguessable, like Slack's: whoever holds it can post as the app to this user.
    const id = `r${this.responseSeq}-${randomBytes(12).toString('hex')}`;
    this.responseUrls.set(id, { ...context, uses: 0, expiresAt: now + RESPONSE_URL_TTL_MS });
    return this.responseUrl(id);
  }

  /**
   * What Slack does with a message body answered to a user: a slash command's synchronous ack
   * body (`via: 'command'`, the default), or a post to a response_url. Returns Slack's error
   * code, or undefined when applied. Slack refuses an ack body it cannot show with
   * `invalid_command_response`; a response_url post with the message's own code
   * (`invalid_blocks`, `no_text`, …). `respond()` gives the json-pointers too.
   */
  applyResponse(context: ResponseContext, body: ResponseBody, via: 'command' | 'response_url' = 'command'): string | undefined {
    return this.respond(context, body, via)?.error;
  }

  /** `applyResponse`, with Slack's `response_metadata.messages` of a refusal. */
  respond(context: ResponseContext, body: ResponseBody, via: 'command' | 'response_url' = 'command'): SlackRefusal | undefined {
    const original = context.original ? this.store.get(key(context.channel, context.original.ts)) : undefined;
    if (body.delete_original === true || body.delete_original === 'true') {
      if (!original) return { error: 'message_not_found', messages: [] };
      this.removeMessage(original);
      return undefined;
    }
    const args: Record<string, unknown> = { ...body };
    const refusal = validateMessage(args);
    if (refusal) return via === 'command' ? { error: 'invalid_command_response', messages: refusal.messages } : refusal;
    if (body.replace_original === true || body.replace_original === 'true') {
      if (!original) return { error: 'message_not_found', messages: [] };
      // Replacing keeps the message where it is (same ts, same visibility): new text and blocks.
      original.text = str(args.text) ?? '';
      if (Array.isArray(args.blocks)) original.blocks = args.blocks;
      else delete original.blocks;
      original.updates += 1;
      this.emit('message_updated', original);
      return undefined;
    }
    const inChannel = body.response_type === 'in_channel';
    const msg: SlackMessage = inChannel
      ? { channel: context.channel, ts: this.nextTs(), user: BOT_USER_ID, updates: 0 }
      : { channel: context.channel, ts: this.nextTs(), user: context.user, updates: 0, ephemeral: true };
    applyContent(msg, args);
    const threadTs = str(args.thread_ts);
    if (threadTs) msg.thread_ts = threadTs;
    this.storeMessage(msg);
    return undefined;
  }

  /** A trigger_id as Slack puts in a command or interaction payload: good for one views.open within 3 s. */
  issueTriggerId(): string {
    this.triggerSeq += 1;
    const now = Date.now();
    // Forget the long-expired ones (kept a while so a late use still says "expired").
    for (const [id, t] of this.triggers) if (t.expiresAt + 60_000 < now) this.triggers.delete(id);
    const id = `${this.triggerSeq}.${now}.${randomBytes(8).toString('hex')}`;
    this.triggers.set(id, { expiresAt: now + TRIGGER_TTL_MS, used: false });
    return id;
  }

  /** Closes a view as the user's client does (Cancel, ×, Escape, or a submission that closes it). */
  closeView(id: string): SlackView | undefined {
    const view = this.views.get(id);
    if (!view) return undefined;
    this.views.delete(id);
    this.emit('view_closed', view);
    return view;
  }

  /** Replaces a view's content (a submission answered with `response_action: update`). */
  replaceView(id: string, view: Record<string, unknown>): SlackView | undefined {
    const stored = this.views.get(id);
    if (!stored) return undefined;
    stored.view = view;
    stored.updates += 1;
    stored.hash = `${Date.now()}.${this.viewSeq}.${stored.updates}`;
    this.emit('view_updated', stored);
    return stored;
  }

  /** Opens a view on top of the others (views.open, or a submission answered with `response_action: push`). */
  openView(view: Record<string, unknown>, triggerId?: string): SlackView {
    this.viewSeq += 1;
    const id = `V${String(this.viewSeq).padStart(8, '0')}`;
    const stored: SlackView = { id, hash: `${Date.now()}.${this.viewSeq}`, view, updates: 0 };
    if (triggerId !== undefined) stored.trigger_id = triggerId;
    const externalId = str(view.external_id);
    if (externalId) stored.external_id = externalId;
    this.views.set(id, stored);
    this.emit('view_opened', stored);
    return stored;
  }

  /** A view as Slack sends it in payloads and API answers. */
  wireView(v: SlackView): Record<string, unknown> {
    return {
      type: 'modal',
      blocks: [],
      private_metadata: '',
      callback_id: '',
      ...v.view,
      id: v.id,
      team_id: TEAM_ID,
      hash: v.hash,
      state: { values: {} },
      previous_view_id: null,
      root_view_id: v.id,
      app_id: 'A0001',
      bot_id: BOT_ID,
    };
  }

  /** A message as Slack sends it in payloads and API answers. */
  wireMessage(m: SlackMessage): Record<string, unknown> {
    const out: Record<string, unknown> = {
      type: 'message',
      user: m.ephemeral ? BOT_USER_ID : m.user,
      bot_id: BOT_ID,
      team: TEAM_ID,
      ts: m.ts,
      text: m.text ?? '',
    };
    if (m.blocks) out.blocks = m.blocks;
    if (m.metadata) out.metadata = m.metadata;
    if (m.thread_ts) out.thread_ts = m.thread_ts;
    if (m.updates > 0) out.edited = { user: BOT_USER_ID, ts: m.ts };
    return out;
  }

  /** Forget calls, messages, views, pending faults and spent rate-limit budgets (users and channels are kept). */
  reset(): void {
    this.calls = [];
    this.store.clear();
    this.views.clear();
    this.homeViews.clear();
    this.faults = [];
    this.responseUrls.clear();
    this.limiter?.reset();
    this.rateLimitedCount = 0;
  }

  // ---------------------------------------------------------------- fault injection

  /**
   * The next `count` calls to `method` ('*' = any method, including `response_url` posts) get `fault`.
   * Faults are consumed in the order they were registered. 429/5xx faults do not change state;
   * a latency fault delays the answer, then the call is processed normally.
   */
  failNext(method: string, fault: SlackFault, count = 1): void {
    if (count > 0) this.faults.push({ method, fault, remaining: count });
  }

  private takeFault(method: string): SlackFault | undefined {
    const f = this.faults.find((p) => p.remaining > 0 && (p.method === method || p.method === '*'));
    if (!f) return undefined;
    f.remaining -= 1;
    if (f.remaining <= 0) this.faults = this.faults.filter((p) => p !== f);
    return f.fault;
  }

  // ---------------------------------------------------------------- events

  override on<E extends keyof SlackEmulatorEvents>(event: E, listener: (...args: SlackEmulatorEvents[E]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  override off<E extends keyof SlackEmulatorEvents>(event: E, listener: (...args: SlackEmulatorEvents[E]) => void): this;
  override off(event: string | symbol, listener: (...args: any[]) => void): this;
  override off(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.off(event, listener);
  }

  override emit<E extends keyof SlackEmulatorEvents>(event: E, ...args: SlackEmulatorEvents[E]): boolean;
  override emit(event: string | symbol, ...args: any[]): boolean;
  override emit(event: string | symbol, ...args: any[]): boolean {
    return super.emit(event, ...args);
  }

  /**
   * Resolves with the predicate's value as soon as it is neither `undefined`, `null` nor `false`.
   * The predicate is evaluated immediately, after every recorded call, and every `pollMs` (default 50 ms,
   * for predicates that also look at state outside the emulator). A throwing predicate counts as "not yet".
   * Rejects after `timeoutMs` (default 10 s) with a dump of the calls and messages.
   */
  waitFor<T>(predicate: (emu: SlackEmulator) => T | undefined | false | null, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const pollMs = opts.pollMs ?? 50;
    const stack = new Error('waitFor timed out').stack;
    return new Promise<T>((resolve, reject) => {
      let lastError: unknown;
      let done = false;
      const check = (): void => {
        if (done) return;
        try {
          const v = predicate(this);
          lastError = undefined;
          if (v !== undefined && v !== null && v !== false) finish(undefined, v as T);
        } catch (err) {
          lastError = err;
        }
      };
      const onCall = (): void => check();
      const onClose = (err: Error): void => finish(err);
      const finish = (err: Error | undefined, value?: T): void => {
        if (done) return;
        done = true;
        clearTimeout(timeout);
        clearInterval(poll);
        this.off('call', onCall);
        this.closeHooks.delete(onClose);
        if (err) reject(err);
        else resolve(value as T);
      };
      const timeout = setTimeout(() => {
        check();
        if (done) return;
        const why = lastError === undefined ? '' : `\nlast predicate error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
        const err = new Error(`SlackEmulator.waitFor: condition not met within ${timeoutMs} ms${why}\n${this.dump()}`);
        if (stack) err.stack = `${err.message}\n${stack.split('\n').slice(1).join('\n')}`;
        finish(err);
      }, timeoutMs);
      const poll = setInterval(check, pollMs);
      this.on('call', onCall);
      this.closeHooks.add(onClose);
      check();
    });
  }

  /** Human-readable summary of recorded calls and current messages (used in waitFor timeouts). */
  dump(maxCalls = 40): string {
    const lines: string[] = [];
    const calls = this.calls.slice(-maxCalls);
    lines.push(`recorded calls (${this.calls.length}${this.calls.length > maxCalls ? `, last ${maxCalls}` : ''}):`);
    if (calls.length === 0) lines.push('  (none)');
    for (const c of calls) lines.push(`  [${c.status}] ${c.method} ${clip(c.args)}`);
    const msgs = this.messages();
    lines.push(`messages (${msgs.length}):`);
    if (msgs.length === 0) lines.push('  (none)');
    for (const m of msgs) {
      const flags = [m.ephemeral ? 'ephemeral' : '', m.updates ? `updates=${m.updates}` : '', m.thread_ts ? `thread=${m.thread_ts}` : '']
        .filter(Boolean)
        .join(' ');
      const content = m.text !== undefined ? clip(m.text, 160) : m.blocks ? `${m.blocks.length} blocks` : '';
      lines.push(`  ${m.channel} ${m.ts}${flags ? ` (${flags})` : ''}: ${content}`);
    }
    return lines.join('\n');
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const hook of [...this.closeHooks]) hook(new Error('SlackEmulator closed while waiting'));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------- HTTP handling

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', this.origin);

    const responseMatch = /^\/response\/(.+)$/.exec(url.pathname);
    if (responseMatch) {
      await this.handleResponseUrl(decodeURIComponent(responseMatch[1] ?? ''), req, res, raw, at);
      return;
    }
    const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (!apiMatch) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`);
      return;
    }
    const method = apiMatch[1] ?? '';

    const { args, formToken, parseError } = parseArgs(req, raw, url);
    const headerToken = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const token = headerToken ?? formToken;
    const record = (status: number): void => {
      const call: RecordedCall = { method, args, at, status };
      if (token !== undefined) call.token = token;
      this.calls.push(call);
      this.emit('call', call);
    };

    const fault = this.peekAppliedFault(method);
    if (!fault && (await this.applyFault(method, res, record))) return;

    let answer: Answer;
    if (parseError) answer = fail(parseError);
    else if (method === 'apps.connections.open') answer = this.connectionsOpen(token);
    else if (this.token !== undefined && token === undefined) answer = fail('not_authed');
    else if (this.token !== undefined && token !== this.token) answer = fail('invalid_auth');
    else {
      // Counted like Slack: every authenticated call of a limited method spends a token, whatever its answer.
      const decision = this.limiter?.take(method, { channel: str(args.channel) ?? '' });
      if (decision && !decision.ok) {
        this.rateLimitedCount += 1;
        this.sendFault(res, { status: 429, retryAfterSec: decision.retryAfterSec }, record);
        return;
      }
      const needed = scopeNeeded(method, str(args.channel) ?? '');
      answer = needed && !this.scopes.has(needed) ? fail('missing_scope', { needed, provided: [...this.scopes].join(',') }) : this.dispatch(method, args);
    }
    if (fault) {
      // Applied (or refused) as usual, then answered as if it had failed.
      this.sendFault(res, fault, record);
      return;
    }

    record(answer.status);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer.body));
  }

  /**
   * A fault queued with failNext() for this method: latency delays the answer; an HTTP fault is
   * sent here. True when the request is answered (or dropped because the emulator closed).
   */
  /** Takes the next fault for `method` if it is an apply-then-fail one (left in place otherwise). */
  private peekAppliedFault(method: string): SlackFault | undefined {
    const f = this.faults.find((p) => p.remaining > 0 && (p.method === method || p.method === '*'));
    if (!f || !('afterApplying' in f.fault) || !f.fault.afterApplying) return undefined;
    return this.takeFault(method);
  }

  private async applyFault(method: string, res: http.ServerResponse, record: (status: number) => void): Promise<boolean> {
    const fault = this.takeFault(method);
    if (!fault) return false;
    if ('latencyMs' in fault) {
      await this.sleep(fault.latencyMs);
      if (!this.closed) return false;
      res.destroy();
      return true;
    }
    this.sendFault(res, fault, record);
    return true;
  }

  private async handleResponseUrl(id: string, req: http.IncomingMessage, res: http.ServerResponse, raw: string, at: number): Promise<void> {
    let args: Record<string, unknown>;
    let isObject = false;
    try {
      const parsed: unknown = raw.length ? JSON.parse(raw) : {};
      isObject = isRecord(parsed);
      args = isRecord(parsed) ? { ...parsed, id } : { body: parsed, id };
    } catch {
      args = { raw, id };
    }
    const record = (status: number): void => {
      const call: RecordedCall = { method: 'response_url', args, at, status };
      this.calls.push(call);
      this.emit('call', call);
    };
    if (await this.applyFault('response_url', res, record)) return;
    if (req.method !== 'POST') {
      record(405);
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed');
      return;
    }
    const registered = this.responseUrls.get(id);
    const refusal = registered ? this.useResponseUrl(registered, isObject ? args : undefined) : undefined;
    const error = refusal?.error;
    // Applied before it is recorded, so a waitFor that sees the call also sees its effect.
    const status = error === undefined ? 200 : error === 'used_url' || error === 'expired_url' ? 404 : 400;
    record(status);
    const body =
      refusal === undefined ? { ok: true } : { ok: false, error, ...(refusal.messages.length ? { response_metadata: { messages: refusal.messages } } : {}) };
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  }

  /** `body` is undefined when the request was not a JSON object. */
  private useResponseUrl(r: RegisteredResponseUrl, body: Record<string, unknown> | undefined): SlackRefusal | undefined {
    if (Date.now() > r.expiresAt) return { error: 'expired_url', messages: [] };
    if (r.uses >= RESPONSE_URL_USES) return { error: 'used_url', messages: [] };
    r.uses += 1;
    if (!body) return { error: 'invalid_payload', messages: [] };
    return this.respond(r, body, 'response_url');
  }

  private sendFault(res: http.ServerResponse, fault: SlackFault, record: (status: number) => void): void {
    if ('retryAfterSec' in fault) {
      record(429);
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(fault.retryAfterSec) });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    } else if ('status' in fault) {
      record(fault.status);
      res.writeHead(fault.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${fault.status} ${REASON[fault.status] ?? 'Error'} (injected by SlackEmulator)`);
    }
  }

  /** Delay used by latency faults; resolves early (and the handler bails out) when the emulator closes. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        this.closeHooks.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.timers.add(t);
      this.closeHooks.add(done);
    });
  }

  // ---------------------------------------------------------------- methods

  private dispatch(method: string, args: Record<string, unknown>): Answer {
    switch (method) {
      case 'auth.test':
        return ok({
          url: `https://${TEAM_NAME}.slack.com/`,
          team: TEAM_NAME,
          user: 'bot',
          team_id: TEAM_ID,
          user_id: BOT_USER_ID,
          bot_id: BOT_ID,
          is_enterprise_install: false,
        });
      case 'chat.postMessage':
        return this.postMessage(args);
      case 'chat.update':
        return this.update(args);
      case 'chat.postEphemeral':
        return this.postEphemeral(args);
      case 'chat.delete':
        return this.deleteMessage(args);
      case 'views.open':
        return this.viewsOpen(args);
      case 'views.update':
        return this.viewsUpdate(args);
      case 'views.push':
        return this.viewsPush(args);
      case 'views.publish':
        return this.viewsPublish(args);
      case 'users.info':
        return this.usersInfo(args);
      case 'usergroups.users.list': {
        const members = this.usergroups.get(str(args.usergroup) ?? '');
        return members ? ok({ users: [...members] }) : fail('no_such_subteam');
      }
      case 'conversations.info':
        return this.conversationsInfo(args);
      case 'conversations.history':
        return this.conversationsHistory(args);
      case 'conversations.replies':
        return this.conversationsReplies(args);
      case 'chat.getPermalink':
        return this.getPermalink(args);
      case 'reactions.add':
        return this.reactionsAdd(args);
      default:
        return fail('unknown_method');
    }
  }

  /** Takes only the app-level token (a bot token gets `not_allowed_token_type`, as from Slack). */
  private connectionsOpen(token: string | undefined): Answer {
    if (!this.socketMode) return fail('not_allowed_token_type');
    if (token === undefined) return fail('not_authed');
    if (token !== this.socketMode.appToken) return fail(token.startsWith('xapp-') ? 'invalid_auth' : 'not_allowed_token_type');
    return ok({ url: this.socketMode.url() });
  }

  private nextTs(): string {
    this.tsMicros += 100n;
    if (this.wallClock) {
      const now = BigInt(Date.now()) * 1000n;
      if (now > this.tsMicros) this.tsMicros = now;
    }
    const s = this.tsMicros / 1_000_000n;
    const us = this.tsMicros % 1_000_000n;
    return `${s}.${us.toString().padStart(6, '0')}`;
  }

  /**
   * The channel of a call, as Slack checks it: `channel_not_found` when missing, not an id
   * (`[CDG][A-Z0-9]+`) or deleted; `is_archived`; `not_in_channel` where the bot must be a member.
   */
  private checkChannel(args: Record<string, unknown>, o: { member?: boolean; archived?: boolean } = {}): { channel: string } | { error: string } {
    const channel = str(args.channel);
    if (!channel || !CHANNEL_ID.test(channel) || this.deleted.has(channel)) return { error: 'channel_not_found' };
    if (o.archived !== false && this.archived.has(channel)) return { error: 'is_archived' };
    if (o.member && this.nonMember.has(channel)) return { error: 'not_in_channel' };
    return { channel };
  }

  /** The bot's own message at args.channel / args[tsField], or Slack's error for it. */
  private ownMessage(args: Record<string, unknown>, tsField: 'ts' | 'timestamp', notOwn: string): { msg: SlackMessage } | { error: string } {
    const ch = this.checkChannel(args);
    if ('error' in ch) return ch;
    const ts = str(args[tsField]);
    const msg = ts ? this.store.get(key(ch.channel, ts)) : undefined;
    if (!msg || msg.ephemeral) return { error: 'message_not_found' };
    if (notOwn && msg.user !== BOT_USER_ID) return { error: notOwn };
    return { msg };
  }

  /** Stores a new message and tells the listeners. */
  private storeMessage(msg: SlackMessage): void {
    this.store.set(key(msg.channel, msg.ts), msg);
    this.emit('message_posted', msg);
  }

  private removeMessage(msg: SlackMessage): void {
    this.store.delete(key(msg.channel, msg.ts));
    this.emit('message_deleted', msg);
  }

  private postMessage(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, { member: true });
    if ('error' in ch) return fail(ch.error);
    const refusal = validateMessage(args);
    if (refusal) return refused(refusal);
    const msg: SlackMessage = { channel: ch.channel, ts: this.nextTs(), user: BOT_USER_ID, updates: 0 };
    applyContent(msg, args);
    const threadTs = str(args.thread_ts);
    if (threadTs) msg.thread_ts = threadTs;
    this.storeMessage(msg);
    return ok({ channel: msg.channel, ts: msg.ts, message: this.wireMessage(msg) });
  }

  private update(args: Record<string, unknown>): Answer {
    const found = this.ownMessage(args, 'ts', 'cant_update_message');
    if ('error' in found) return fail(found.error);
    const { msg } = found;
    const refusal = validateMessage(args, { requireContent: false });
    if (refusal) return refused(refusal);
    applyContent(msg, args);
    msg.updates += 1;
    this.emit('message_updated', msg);
    return ok({ channel: msg.channel, ts: msg.ts, text: msg.text ?? '', message: this.wireMessage(msg) });
  }

  private postEphemeral(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, { member: true });
    if ('error' in ch) return fail(ch.error);
    const user = str(args.user);
    if (!user) return fail('user_not_found');
    const refusal = validateMessage(args);
    if (refusal) return refused(refusal);
    const msg: SlackMessage = { channel: ch.channel, ts: this.nextTs(), user, updates: 0, ephemeral: true };
    applyContent(msg, args);
    const threadTs = str(args.thread_ts);
    if (threadTs) msg.thread_ts = threadTs;
    this.storeMessage(msg);
    return ok({ message_ts: msg.ts });
  }

  private deleteMessage(args: Record<string, unknown>): Answer {
    // Slack's code for someone else's message is cant_delete_message here (chat.update: cant_update_message).
    const found = this.ownMessage(args, 'ts', 'cant_delete_message');
    if ('error' in found) return fail(found.error);
    this.removeMessage(found.msg);
    return ok({ channel: found.msg.channel, ts: found.msg.ts });
  }

  /** trigger_id of views.open / views.push: with strictTriggers, one use within 3 s of issueTriggerId(). */
  private useTrigger(args: Record<string, unknown>): { triggerId: string } | { error: string } {
    const triggerId = str(args.trigger_id);
    if (!triggerId) return { error: 'invalid_trigger_id' };
    if (this.strictTriggers) {
      const trigger = this.triggers.get(triggerId);
      if (!trigger) return { error: 'invalid_trigger_id' };
      if (trigger.used) return { error: 'trigger_exchanged' };
      if (Date.now() > trigger.expiresAt) return { error: 'expired_trigger_id' };
      trigger.used = true;
    }
    return { triggerId };
  }

  private viewsOpen(args: Record<string, unknown>): Answer {
    const trigger = this.useTrigger(args);
    if ('error' in trigger) return fail(trigger.error);
    const refusal = validateView(args.view);
    if (refusal) return refused(refusal);
    return ok({ view: this.wireView(this.openView(args.view as Record<string, unknown>, trigger.triggerId)) });
  }

  private viewsPush(args: Record<string, unknown>): Answer {
    const trigger = this.useTrigger(args);
    if ('error' in trigger) return fail(trigger.error);
    const refusal = validateView(args.view);
    if (refusal) return refused(refusal);
    if (this.views.size >= MAX_VIEW_STACK) return fail('push_limit_reached');
    return ok({ view: this.wireView(this.openView(args.view as Record<string, unknown>, trigger.triggerId)) });
  }

  /** views.publish: the user's home tab, replaced as a whole; `hash` (optional) must be the current one. */
  private viewsPublish(args: Record<string, unknown>): Answer {
    const user = str(args.user_id);
    if (!user) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: user_id'] } });
    if (!/^[UW][A-Z0-9]{2,}$/.test(user)) return fail('user_not_found');
    const refusal = validateHomeView(args.view);
    if (refusal) return refused(refusal);
    const previous = this.homeViews.get(user);
    const hash = str(args.hash);
    if (hash !== undefined && hash !== previous?.hash) return fail('hash_conflict');
    this.viewSeq += 1;
    const id = previous?.id ?? `V${String(this.viewSeq).padStart(8, '0')}`;
    const stored: SlackView = {
      id,
      hash: `${Date.now()}.${this.viewSeq}`,
      view: args.view as Record<string, unknown>,
      updates: previous ? previous.updates + 1 : 0,
    };
    this.homeViews.set(user, stored);
    this.emit('home_published', { user, view: stored });
    return ok({ view: { ...this.wireView(stored), type: 'home' } });
  }

  private viewsUpdate(args: Record<string, unknown>): Answer {
    const viewId = str(args.view_id);
    const externalId = str(args.external_id);
    if (!viewId && !externalId) return fail('invalid_arguments');
    const refusal = validateView(args.view);
    if (refusal) return refused(refusal);
    const stored = viewId ? this.views.get(viewId) : [...this.views.values()].find((v) => v.external_id === externalId);
    if (!stored) return fail('not_found');
    const hash = str(args.hash);
    if (hash !== undefined && hash !== stored.hash) return fail('hash_conflict');
    return ok({ view: this.wireView(this.replaceView(stored.id, args.view as Record<string, unknown>)!) });
  }

  private usersInfo(args: Record<string, unknown>): Answer {
    const id = str(args.user);
    const u = id ? this.users.get(id) : undefined;
    if (!u) return fail('user_not_found');
    const profile: Record<string, unknown> = { real_name: u.name, display_name: u.name };
    if (u.email !== undefined && this.scopes.has('users:read.email')) profile.email = u.email;
    return ok({
      user: { id: u.id, team_id: TEAM_ID, name: u.name, real_name: u.name, deleted: false, is_bot: false, ...(u.tz ? { tz: u.tz } : {}), profile },
    });
  }

  private conversationsInfo(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, { archived: false });
    if ('error' in ch) return fail(ch.error);
    const { channel } = ch;
    const isIm = channel.startsWith('D');
    return ok({
      channel: {
        id: channel,
        name: isIm ? undefined : (this.channels.get(channel) ?? channel.toLowerCase()),
        is_channel: channel.startsWith('C'),
        is_group: channel.startsWith('G'),
        is_im: isIm,
        is_private: !channel.startsWith('C'),
        is_archived: this.archived.has(channel),
        is_member: !this.nonMember.has(channel),
        context_team_id: TEAM_ID,
      },
    });
  }

  /** A message as conversations.history/replies list it: metadata only with `include_all_metadata`. */
  private listed(m: SlackMessage, withMetadata: boolean): Record<string, unknown> {
    const out = this.wireMessage(m);
    if (!withMetadata) delete out.metadata;
    return out;
  }

  /** Newest first, top-level messages only (thread replies are in conversations.replies), no ephemeral ones. */
  private conversationsHistory(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, { member: true, archived: false });
    if ('error' in ch) return fail(ch.error);
    const limit = Math.min(999, Math.max(1, Number(str(args.limit) ?? '100') || 100));
    const withMetadata = str(args.include_all_metadata) === 'true';
    const all = this.messages(ch.channel)
      .filter((m) => !m.ephemeral && (!m.thread_ts || m.thread_ts === m.ts))
      .reverse();
    const start = Math.max(0, Number(str(args.cursor) ?? '0') || 0);
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return ok({
      messages: page.map((m) => this.listed(m, withMetadata)),
      has_more: more,
      response_metadata: { next_cursor: more ? String(start + limit) : '' },
    });
  }

  /** The parent, then its replies, oldest first. */
  private conversationsReplies(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, { member: true, archived: false });
    if ('error' in ch) return fail(ch.error);
    const ts = str(args.ts);
    const parent = ts ? this.store.get(key(ch.channel, ts)) : undefined;
    if (!parent || parent.ephemeral) return fail('thread_not_found');
    const withMetadata = str(args.include_all_metadata) === 'true';
    const replies = this.messages(ch.channel).filter((m) => !m.ephemeral && m.thread_ts === ts && m.ts !== ts);
    return ok({ messages: [parent, ...replies].map((m) => this.listed(m, withMetadata)), has_more: false });
  }

  private getPermalink(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, {});
    if ('error' in ch) return fail(ch.error);
    const ts = str(args.message_ts);
    const m = ts ? this.store.get(key(ch.channel, ts)) : undefined;
    if (!m || m.ephemeral) return fail('message_not_found');
    const thread = m.thread_ts && m.thread_ts !== m.ts ? `?thread_ts=${m.thread_ts}&cid=${ch.channel}` : '';
    return ok({ channel: ch.channel, permalink: `https://${TEAM_NAME}.slack.com/archives/${ch.channel}/p${m.ts.replace('.', '')}${thread}` });
  }

  private reactionsAdd(args: Record<string, unknown>): Answer {
    const ch = this.checkChannel(args, { member: true });
    if ('error' in ch) return fail(ch.error);
    const name = str(args.name);
    if (!name) return fail('invalid_name');
    const found = this.ownMessage(args, 'timestamp', '');
    if ('error' in found) return fail(found.error);
    const { msg } = found;
    msg.reactions ??= [];
    if (msg.reactions.includes(name)) return fail('already_reacted');
    msg.reactions.push(name);
    return ok();
  }
}

function key(channel: string, ts: string): string {
  return `${channel}\u0000${ts}`;
}

function applyContent(msg: SlackMessage, args: Record<string, unknown>): void {
  const text = str(args.text);
  if (text !== undefined) msg.text = text;
  if (Array.isArray(args.blocks)) msg.blocks = args.blocks;
  if (isRecord(args.metadata)) msg.metadata = args.metadata as SlackMessage['metadata'];
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseArgs(req: http.IncomingMessage, raw: string, url: URL): { args: Record<string, unknown>; formToken?: string; parseError?: string } {
  const args: Record<string, unknown> = {};
  let formToken: string | undefined;
  const take = (params: URLSearchParams): void => {
    for (const [k, v] of params) {
      if (k === 'token') formToken = v;
      else args[k] = decodeField(k, v);
    }
  };
  take(url.searchParams);
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw.length === 0) return { args, ...(formToken !== undefined ? { formToken } : {}) };
  if (contentType === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!isRecord(parsed)) return { args, parseError: 'invalid_json' };
      for (const [k, v] of Object.entries(parsed)) {
        if (k === 'token' && typeof v === 'string') formToken = v;
        else args[k] = v;
      }
    } catch {
      return { args, parseError: 'invalid_json' };
    }
  } else if (contentType === 'application/x-www-form-urlencoded' || contentType === '') {
    take(new URLSearchParams(raw));
  } else {
    return { args, parseError: 'invalid_form_data' };
  }
  return formToken !== undefined ? { args, formToken } : { args };
}
