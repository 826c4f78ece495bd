/**
 * The sandbox web server: the page (src/sandbox/page) and the JSON/SSE protocol it speaks.
 *
 *   GET  /api/state?user=U…  channels, me, users, the messages this user sees, open views and
 *                            this user's App Home, rendered to HTML
 *   GET  /api/events?user=U… SSE: message, message_deleted, view, view_closed, home (this user's)
 *   POST /api/command      {channel, text, user?}                 → signed slash command
 *   POST /api/action       {channel, ts?, view_id?, action, user?} → signed block_actions for the element at
 *                                                                    action.position (block, element|accessory)
 *   POST /api/view/submit  {view_id, values, user?}               → signed view_submission
 *   POST /api/view/close   {view_id, user?}                       → view_closed if notify_on_close
 *   POST /api/home/open    {user?}                                → signed app_home_opened (the bot publishes the Home)
 *
 * `user` is one of the workspace's people the sandbox may act as (the first one when absent): the
 * page's user switcher, so a second person can approve what the first asked.
 *
 * Answers are `{ok:true}` or `{ok:false, error[, errors]}`. It has no authentication and can
 * patch the configured clusters, so it binds to loopback by default and, when it does, refuses
 * requests whose Host is not a loopback name (DNS rebinding); every POST must be JSON and
 * same-origin (no cross-site form posts).
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Outcome, SandboxClient } from './client.ts';
import { pageDir as defaultPageDir } from './paths.ts';
import { renderHomeTab, renderMessage, renderModal } from './render/blocks.ts';
import type { SlackEmulator, SlackMessage, SlackView } from './slack-api.ts';

export interface SandboxServerOptions {
  /** The person the page acts as by default. */
  client: SandboxClient;
  /** Others it may act as (the page's user switcher), besides `client`. */
  others?: SandboxClient[];
  emu: SlackEmulator;
  logger: Logger;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  pageDir?: string;
  maxBodyBytes?: number;
}

export interface SandboxServer {
  /** http://HOST:PORT/ */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };
/** The page loads only its own script and stylesheet; message HTML is rendered and escaped server-side. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const SSE_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_BODY = 256 * 1024;

// ------------------------------------------------------------------------------------ bodies

const ChannelId = z.string().regex(/^[CDG][A-Z0-9]{1,30}$/, 'must be a channel ID such as C0SANDBOX');
const ViewId = z.string().regex(/^V[A-Z0-9]{1,30}$/, 'must be a view ID');
const UserId = z.string().regex(/^[UW][A-Z0-9]{1,30}$/, 'must be a user ID such as U0SANDBOX');
const As = { user: UserId.optional() };
const Id = z.string().min(1).max(255);

/**
 * The text goes to the bot as typed, even past the 4000 characters of a slash command: the bot's
 * grammar answers an over-long command with its usage message (what the user needs), where a
 * validation error here would only say "Too big". The bound below only caps what the page may post.
 */
const MAX_COMMAND_TEXT = 40_000;
const CommandBody = z.object({ channel: ChannelId, text: z.string().max(MAX_COMMAND_TEXT, `a command is at most ${MAX_COMMAND_TEXT} characters here`), ...As });
const ActionBody = z
  .object({
    // For an element of a modal the page sends the current channel, possibly empty.
    channel: z.union([ChannelId, z.literal('')]),
    ts: z.string().max(40).optional(),
    view_id: ViewId.optional(),
    // The element clicked, by its position in the stored message or view (Slack's limits: 100
    // blocks in a view, 25 elements in an actions block); its type and ids are what the page
    // showed, checked against that element. Its value, text and style come from the stored one.
    action: z.object({
      type: z.enum(['button', 'static_select', 'overflow']),
      action_id: Id,
      block_id: Id,
      position: z.object({
        block: z.number().int().min(0).max(99),
        element: z.union([z.number().int().min(0).max(24), z.literal('accessory')]),
      }),
      selected_option: z.object({ value: z.string().max(2000) }).optional(),
    }),
    ...As,
  })
  .refine((b) => b.view_id !== undefined || (b.channel !== '' && b.ts !== undefined && b.ts !== ''), { message: 'give view_id, or channel and ts' });
/** `view.state.values`: block_id → action_id → element state, passed to the bot as the page built it. */
const ViewValues = z.record(Id, z.record(Id, z.looseObject({ type: z.string().max(64) })));
const ViewSubmitBody = z.object({ view_id: ViewId, values: ViewValues, ...As });
const ViewCloseBody = z.object({ view_id: ViewId, ...As });
const HomeOpenBody = z.object({ ...As });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------------------------ server

export async function startSandboxServer(o: SandboxServerOptions): Promise<SandboxServer> {
  const host = o.host ?? '127.0.0.1';
  const dir = o.pageDir ?? defaultPageDir();
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const clients = [o.client, ...(o.others ?? [])];
  const events = new EventStreams(o.emu);
  /** The person a request acts as: `user` when given (one the sandbox knows), else the default one. */
  const as = (user: string | null | undefined): SandboxClient => {
    if (user === undefined || user === null || user === '') return o.client;
    const c = clients.find((x) => x.user.id === user);
    if (!c)
      throw new HttpError(
        400,
        `invalid request: user: ${UserId.safeParse(user).success ? 'not a user the sandbox can act as' : 'must be a user ID such as U0SANDBOX'}`,
      );
    return c;
  };
  let allowedHosts: Set<string> | undefined;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) o.logger.error({ err }, 'sandbox request failed');
      // Never the stack: the message of our own errors, a generic line otherwise.
      if (!res.headersSent) sendJson(res, status, { ok: false, error: err instanceof HttpError ? err.message : 'internal error (see the sandbox log)' });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (allowedHosts && !allowedHosts.has((req.headers.host ?? '').toLowerCase()))
      throw new HttpError(421, 'unexpected Host header: open the sandbox at its loopback URL');
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const path = url.pathname;
    const page = PAGE_FILES[path];
    if (page) return allow(req, 'GET', () => servePage(res, join(dir, page.file), page.type));
    switch (path) {
      case '/favicon.ico':
        return allow(req, 'GET', () => void res.writeHead(204, COMMON_HEADERS).end());
      case '/api/state':
        return allow(req, 'GET', () => sendJson(res, 200, snapshot(o.emu, as(url.searchParams.get('user')), clients)));
      case '/api/events':
        return allow(req, 'GET', () => events.open(req, res, as(url.searchParams.get('user'))));
      case '/api/command':
        return post(req, res, CommandBody, (b) => as(b.user).slashCommand(b.channel, b.text));
      case '/api/action':
        return post(req, res, ActionBody, ({ user, ...b }) => as(user).action(b));
      case '/api/view/submit':
        return post(req, res, ViewSubmitBody, (b) => as(b.user).submitView(b.view_id, b.values));
      case '/api/view/close':
        return post(req, res, ViewCloseBody, (b) => as(b.user).closeView(b.view_id));
      case '/api/home/open':
        return post(req, res, HomeOpenBody, (b) => as(b.user).openHome());
      default:
        throw new HttpError(404, 'not found');
    }
  }

  async function post<T>(req: http.IncomingMessage, res: http.ServerResponse, schema: z.ZodType<T>, run: (body: T) => Promise<Outcome>): Promise<void> {
    return allow(req, 'POST', async () => {
      checkSameOrigin(req);
      const parsed = schema.safeParse(await readJson(req, maxBody));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new HttpError(400, `invalid request: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'bad body'}`);
      }
      const outcome = await run(parsed.data);
      sendJson(
        res,
        outcomeStatus(outcome),
        outcome.ok ? { ok: true } : { ok: false, error: outcome.error, ...(outcome.errors ? { errors: outcome.errors } : {}) },
      );
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 3000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  if (isLoopback(host)) allowedHosts = new Set(['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host].map((h) => `${h}:${port}`));
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    async close() {
      events.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Runs `then` when the method fits; 405 otherwise. */
async function allow(req: http.IncomingMessage, method: 'GET' | 'POST', then: () => unknown): Promise<void> {
  if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) throw new HttpError(405, `use ${method}`);
  await then();
}

function outcomeStatus(o: Outcome): number {
  if (o.ok || o.errors) return 200; // form errors are an ordinary answer of a submission
  return o.conflict ? 409 : 502;
}

/** The page's own requests are JSON and same-origin; a cross-site form post is neither. */
function checkSameOrigin(req: http.IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'send application/json');
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) throw new HttpError(403, 'cross-origin request refused');
}

async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

async function servePage(res: http.ServerResponse, file: string, type: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    throw new HttpError(404, 'not found');
  }
  res.writeHead(200, { ...COMMON_HEADERS, 'content-type': type, 'content-security-policy': CSP });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

// ------------------------------------------------------------------------------------ state and events

function messageEvent(m: SlackMessage, emu: SlackEmulator) {
  return { channel: m.channel, ts: m.ts, ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}), html: renderMessage(withUserNames(m, emu.users, emu.channels)) };
}

/**
 * Slack shows `<@U…>` as the user's name and `<#C…>` as the channel's: the page shows them too for
 * the users and channels the workspace knows (in mrkdwn text only; the stored message is left as
 * the bot posted it).
 */
function withUserNames(m: SlackMessage, users: ReadonlyMap<string, { name: string }>, channels: ReadonlyMap<string, string> = new Map()): SlackMessage {
  const name = (text: string) =>
    text
      .replace(/<@([UW][A-Z0-9]+)>/g, (all, id: string) => (users.has(id) ? `<@${id}|${users.get(id)!.name}>` : all))
      .replace(/<#([CG][A-Z0-9]+)>/g, (all, id: string) => (channels.has(id) ? `<#${id}|${channels.get(id)!}>` : all));
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') return { ...o, text: name(o.text) };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
  };
  return { ...m, ...(m.text !== undefined ? { text: name(m.text) } : {}), ...(m.blocks ? { blocks: walk(m.blocks) as unknown[] } : {}) };
}

function viewEvent(v: SlackView) {
  return { id: v.id, html: renderModal({ id: v.id, view: v.view }) };
}

/** The user's Home tab, names shown for `<@U…>` as in messages. */
function homeEvent(emu: SlackEmulator, v: SlackView | undefined) {
  if (!v) return { html: renderHomeTab(undefined) };
  const named = withUserNames({ channel: '', ts: '', updates: 0, blocks: Array.isArray(v.view.blocks) ? v.view.blocks : [] }, emu.users, emu.channels);
  return { html: renderHomeTab({ id: v.id, view: { ...v.view, blocks: named.blocks } }) };
}

function snapshot(emu: SlackEmulator, client: SandboxClient, clients: SandboxClient[]) {
  return {
    channels: client.channels(),
    me: client.user,
    users: clients.map((c) => c.user),
    messages: client.visibleMessages().map((m) => messageEvent(m, emu)),
    views: [...emu.views.values()].map(viewEvent),
    home: homeEvent(emu, client.home()),
  };
}

/**
 * Server-sent events: every open page hears every change the bot makes, as it makes it, as the
 * person it acts as sees it (their ephemeral messages, their Home).
 */
class EventStreams {
  private readonly streams = new Map<http.ServerResponse, SandboxClient>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(emu: SlackEmulator) {
    const onMessage = (m: SlackMessage) => this.send('message', messageEvent(m, emu), (c) => c.isVisible(m));
    const onDeleted = (m: SlackMessage) => this.send('message_deleted', { channel: m.channel, ts: m.ts }, (c) => c.isVisible(m));
    const onView = (v: SlackView) => this.send('view', viewEvent(v));
    const onViewClosed = (v: SlackView) => this.send('view_closed', { id: v.id });
    const onHome = (h: { user: string; view: SlackView }) => this.send('home', homeEvent(emu, h.view), (c) => c.user.id === h.user);
    emu.on('message_posted', onMessage).on('message_updated', onMessage).on('message_deleted', onDeleted);
    emu.on('view_opened', onView).on('view_updated', onView).on('view_closed', onViewClosed);
    emu.on('home_published', onHome);
    this.unsubscribe.push(() => {
      emu.off('message_posted', onMessage).off('message_updated', onMessage).off('message_deleted', onDeleted);
      emu.off('view_opened', onView).off('view_updated', onView).off('view_closed', onViewClosed);
      emu.off('home_published', onHome);
    });
  }

  open(req: http.IncomingMessage, res: http.ServerResponse, client: SandboxClient): void {
    res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    // The page reloads /api/state on every (re)connect, so nothing is replayed here.
    res.write('retry: 2000\n\n');
    this.streams.set(res, client);
    req.socket.setKeepAlive(true);
    req.on('close', () => this.streams.delete(res));
    this.heartbeat ??= setInterval(() => this.write(': ping\n\n'), SSE_HEARTBEAT_MS).unref();
  }

  closeAll(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    clearInterval(this.heartbeat);
    for (const res of this.streams.keys()) res.end();
    this.streams.clear();
  }

  private send(event: string, data: unknown, to: (c: SandboxClient) => boolean = () => true): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, to);
  }

  private write(chunk: string, to: (c: SandboxClient) => boolean = () => true): void {
    for (const [res, client] of this.streams) if (!res.destroyed && to(client)) res.write(chunk);
  }
}
