/**
 * In front of Bolt's HTTP receiver: every request to the Slack endpoint is read, checked and
 * answered here when it is not one Slack would send, so no body can reach a Bolt code path that
 * throws outside its error handling (a signed `payload=null` used to end the process).
 *
 * - the signature (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`), compared in constant time, with
 *   the timestamp at most 5 minutes off in either direction (Bolt accepts future ones);
 * - one run per signed request: the same signature seen again within its 5-minute window is
 *   acknowledged and not run (a replay, or a retry of a request we already have);
 * - Slack's retries (`X-Slack-Retry-Num`) are acknowledged with `X-Slack-No-Retry: 1`, not re-run;
 * - the body must be what Slack sends: a form with a slash command, or a `payload` that is a JSON
 *   object with a `type`, or a JSON object (Events API). Anything else is a 400.
 *
 * Bolt then reads the already-buffered body (`rawBody`) and verifies the signature again.
 */
import { keys } from '../contract/keys.ts';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;
const WINDOW_SEC = 5 * 60;

/** Remembers signatures already run; true when `key` is new (and now remembered for `ttlSec`). */
export interface SeenRequests {
  firstSeen(key: string, ttlSec: number): Promise<boolean>;
}

/** In-process memory of signatures (a fallback when Redis cannot answer). */
export class MemorySeenRequests implements SeenRequests {
  private readonly seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}
  async firstSeen(key: string, ttlSec: number): Promise<boolean> {
    const t = this.now();
    if (this.seen.size > 10_000) for (const [k, exp] of this.seen) if (exp < t) this.seen.delete(k);
    const exp = this.seen.get(key);
    if (exp !== undefined && exp >= t) return false;
    this.seen.set(key, t + ttlSec * 1000);
    return true;
  }
}

export type Verdict = { ok: true } | { ok: false; status: 400 | 401 | 413; reason: string } | { ok: false; status: 200; reason: string; noRetry?: boolean };

/** The signature check, as Slack documents it. Pure. */
export function checkSignature(o: {
  secret: string;
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  nowSec: number;
}): string | undefined {
  if (!o.signature || !o.timestamp) return 'missing signature headers';
  if (!/^\d{1,12}$/.test(o.timestamp)) return 'bad timestamp';
  const ts = Number(o.timestamp);
  if (Math.abs(o.nowSec - ts) > WINDOW_SEC) return 'timestamp more than 5 minutes off';
  const expected = Buffer.from(`v0=${createHmac('sha256', o.secret).update(`v0:${o.timestamp}:`).update(o.body).digest('hex')}`);
  const given = Buffer.from(o.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch';
  return undefined;
}

/** Whether a verified body has a shape Slack sends. Pure. */
export function checkBodyShape(body: string, contentType: string | undefined): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(body);
    if (form.get('ssl_check') === '1') return undefined;
    const payload = form.getAll('payload');
    if (payload.length > 1) return 'more than one payload';
    if (payload.length === 1) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload[0]!);
      } catch {
        return 'payload is not JSON';
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'payload is not an object';
      if (typeof (parsed as { type?: unknown }).type !== 'string') return 'payload has no type';
      return undefined;
    }
    if (!form.get('command') || form.getAll('command').length !== 1) return 'neither a command nor a payload';
    return undefined;
  }
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return 'body is not JSON';
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'body is not an object';
    if (typeof (parsed as { type?: unknown }).type !== 'string') return 'body has no type';
    return undefined;
  }
  return `unsupported content type ${type || '(none)'}`;
}

export interface GuardOptions {
  signingSecret: string;
  seen: SeenRequests;
  /** The paths Bolt serves Slack on (default `/slack/events`). */
  paths?: string[];
  nowSec?: () => number;
  log?: (reason: string, status: number) => void;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Signatures run, in Redis (shared by bot replicas); falls back to this process's memory when Redis fails. */
export class RedisSeenRequests implements SeenRequests {
  private readonly memory = new MemorySeenRequests();
  constructor(private readonly redis: { set(key: string, value: string, ex: 'EX', ttl: number, nx: 'NX'): Promise<unknown> }) {}
  async firstSeen(key: string, ttlSec: number): Promise<boolean> {
    const k = keys.seenRequest(createHash('sha256').update(key).digest('hex'));
    try {
      return (await this.redis.set(k, '1', 'EX', ttlSec, 'NX')) === 'OK';
    } catch {
      return this.memory.firstSeen(k, ttlSec);
    }
  }
}

/** Wraps Bolt's request listener; requests to other paths (health, metrics) pass straight through. */
export function guardSlackRequests(next: Listener, o: GuardOptions): Listener {
  const paths = new Set(o.paths ?? ['/slack/events']);
  const nowSec = o.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const answer = (res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}) => {
    o.log?.(reason, status);
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(status === 200 ? '' : `${reason}\n`);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!paths.has(path) || req.method !== 'POST') return next(req, res);
    void (async () => {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === 'too_large') return answer(res, 413, 'body too large');
      const header = (name: string) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      // Slack's unsigned SSL check: answered here, nothing else in it is read.
      if (/^application\/x-www-form-urlencoded/i.test(header('content-type') ?? '') && new URLSearchParams(body.toString('utf8')).get('ssl_check') === '1')
        return answer(res, 200, 'ssl_check');
      const signature = header('x-slack-signature');
      const bad = checkSignature({ secret: o.signingSecret, body, signature, timestamp: header('x-slack-request-timestamp'), nowSec: nowSec() });
      if (bad) return answer(res, 401, bad);
      if (req.headers['x-slack-retry-num'] !== undefined)
        return answer(res, 200, `slack retry ${String(req.headers['x-slack-retry-num'])} acknowledged, not re-run`, { 'x-slack-no-retry': '1' });
      const shape = checkBodyShape(body.toString('utf8'), header('content-type'));
      if (shape) return answer(res, 400, shape);
      if (!(await o.seen.firstSeen(signature!, WINDOW_SEC + 60))) return answer(res, 200, 'request already run (same signature)');
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
      next(req, res);
    })().catch((err: unknown) => answer(res, 400, `unreadable request (${err instanceof Error ? err.message : String(err)})`));
  };
}
