/**
 * Property-based fuzz of the Slack request guard (issue 15 point 7): `checkSignature` and
 * `checkBodyShape` never throw on any body, header or timestamp; a signed request is accepted and
 * any change to its body, timestamp or signature is refused; a body the guard lets through is one
 * Bolt's HTTPReceiver parses to an object (a `null` there used to end the process); the guard as a
 * request listener answers every request exactly once, and runs a signed request once.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseHTTPRequestBody } from '@slack/bolt/dist/receivers/HTTPModuleFunctions.js';
import { describe, expect, it } from 'vitest';
import { signSlackRequest } from '../../src/sandbox/signer.ts';
import { checkBodyShape, checkSignature, guardSlackRequests, MAX_BODY_BYTES, MemorySeenRequests } from '../../src/bot/http-guard.ts';
import { anyText, check, checkAsync, fc } from './fc.ts';

const NOW = 1_800_000_000;
const FORM = 'application/x-www-form-urlencoded';
const REASONS = /^(missing signature headers|bad timestamp|timestamp more than 5 minutes off|signature mismatch)$/;

const secret = fc.oneof(fc.constant('8f742231b10e8888abcd99yyyzzz85a5'), fc.string({ minLength: 1, maxLength: 40 }));
const bodyBytes = fc.oneof(
  anyText(300).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
);
const slackBody = fc.oneof(
  fc
    .record({ command: fc.constant('/cws'), text: anyText(60), user_id: fc.constant('U1'), trigger_id: fc.string() })
    .map((o) => new URLSearchParams(o).toString()),
  fc.jsonValue().map((j) => `payload=${encodeURIComponent(JSON.stringify(j))}`),
  fc
    .record({ type: fc.constantFrom('block_actions', 'view_submission', 'shortcut'), user: fc.record({ id: fc.constant('U1') }) })
    .map((j) => `payload=${encodeURIComponent(JSON.stringify(j))}`),
  fc.jsonValue().map((j) => JSON.stringify(j)),
  anyText(200),
);
const header = fc.option(
  fc.oneof(anyText(80), fc.constantFrom('v0=', 'v0=00', `v0=${'0'.repeat(64)}`, String(NOW), '', ' ', `${NOW}.5`, '-1', '1e9', '0x6b49d200')),
  { nil: undefined },
);
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      FORM,
      `${FORM}; charset=utf-8`,
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'text/plain',
      'multipart/form-data',
      ';',
      '',
    ),
    anyText(40),
  ),
  { nil: undefined },
);

describe('checkSignature', () => {
  it('never throws on any body, secret, signature, timestamp and clock', () => {
    check(
      fc.property(secret, bodyBytes, header, header, fc.integer({ min: 0, max: 4_000_000_000 }), (s, body, signature, timestamp, nowSec) => {
        const r = checkSignature({ secret: s, body, signature, timestamp, nowSec });
        if (r !== undefined) expect(r).toMatch(REASONS);
      }),
      4000,
    );
  });

  it('accepts what Slack signs within 5 minutes either way, and refuses any change to body, timestamp or signature', () => {
    const change = fc.oneof(
      fc.record({ what: fc.constant('body' as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ what: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      fc.record({ what: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ what: fc.constant('timestamp' as const), delta: fc.integer({ min: -300, max: 300 }).filter((d) => d !== 0) }),
      fc.record({ what: fc.constant('zero-padded timestamp' as const) }),
      fc.record({ what: fc.constant('signature' as const), at: fc.nat(), char: fc.constantFrom(...'0123456789abcdefABCDEFv= x') }),
      fc.record({ what: fc.constant('upper-case signature' as const) }),
      fc.record({ what: fc.constant('secret' as const), other: fc.string({ minLength: 1 }) }),
    );
    check(
      fc.property(secret, slackBody, fc.integer({ min: -300, max: 300 }), change, (s, bodyText, skew, c) => {
        const ts = NOW + skew;
        const h = signSlackRequest(s, bodyText, ts);
        const signed = { secret: s, body: Buffer.from(bodyText), signature: h['x-slack-signature'], timestamp: h['x-slack-request-timestamp'], nowSec: NOW };
        expect(checkSignature(signed)).toBeUndefined();

        const t = { ...signed, body: Buffer.from(signed.body) };
        switch (c.what) {
          case 'body':
            if (t.body.length === 0) return;
            t.body[c.at % t.body.length]! ^= c.byte;
            break;
          case 'append':
            t.body = Buffer.concat([t.body, Buffer.from(c.extra)]);
            break;
          case 'truncate':
            if (t.body.length === 0) return;
            t.body = t.body.subarray(0, c.at % t.body.length);
            break;
          case 'timestamp':
            t.timestamp = String(ts + c.delta);
            break;
          case 'zero-padded timestamp':
            t.timestamp = `0${t.timestamp}`;
            break;
          case 'signature': {
            const i = c.at % t.signature.length;
            if (t.signature[i] === c.char) return;
            t.signature = t.signature.slice(0, i) + c.char + t.signature.slice(i + 1);
            break;
          }
          case 'upper-case signature':
            if (t.signature.toUpperCase() === t.signature) return;
            t.signature = t.signature.toUpperCase();
            break;
          case 'secret':
            if (c.other === s) return;
            t.secret = c.other;
            break;
        }
        expect(checkSignature(t)).toMatch(REASONS);
      }),
      4000,
    );
  });

  it('refuses a correctly signed request more than 5 minutes off, in either direction', () => {
    check(
      fc.property(slackBody, fc.integer({ min: 301, max: 10_000_000 }), fc.boolean(), (bodyText, off, future) => {
        const ts = future ? NOW + off : NOW - off;
        const h = signSlackRequest('s', bodyText, ts);
        expect(
          checkSignature({
            secret: 's',
            body: Buffer.from(bodyText),
            signature: h['x-slack-signature'],
            timestamp: h['x-slack-request-timestamp'],
            nowSec: NOW,
          }),
        ).toBe('timestamp more than 5 minutes off');
      }),
      1000,
    );
  });
});

describe('checkBodyShape', () => {
  it('never throws on any body and content type', () => {
    check(
      fc.property(fc.oneof(slackBody, anyText(400)), contentType, (body, type) => {
        const r = checkBodyShape(body, type);
        if (r !== undefined) expect(typeof r).toBe('string');
      }),
      4000,
    );
  });

  it('what it lets through, Bolt’s HTTPReceiver parses to an object or answers 400 — never a null that crashes it', () => {
    check(
      fc.property(slackBody, contentType, (body, type) => {
        if (checkBodyShape(body, type) !== undefined) return;
        const req = { rawBody: Buffer.from(body), headers: type === undefined ? {} : { 'content-type': type } };
        let parsed: unknown;
        try {
          parsed = parseHTTPRequestBody(req as never);
        } catch {
          return; // HTTPReceiver catches this and answers 400 (Malformed request body)
        }
        // HTTPReceiver then reads body.ssl_check and body.type outside any try
        expect(parsed !== null && typeof parsed === 'object', JSON.stringify(parsed)).toBe(true);
      }),
      4000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The guard as Bolt's request listener, with in-memory requests and responses.

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  passed: boolean;
}
function request(o: { url: string; method: string; headers: Record<string, string | string[]>; body: Buffer }): IncomingMessage {
  const req = Object.assign(new EventEmitter(), { url: o.url, method: o.method, headers: o.headers }) as unknown as IncomingMessage;
  setImmediate(() => {
    for (let i = 0; i < o.body.length; i += 64 * 1024) req.emit('data', o.body.subarray(i, i + 64 * 1024));
    req.emit('end');
  });
  return req;
}
function serve(listener: (req: IncomingMessage, res: ServerResponse) => void, o: Parameters<typeof request>[0]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const answer: Answer = { passed: false };
    let writes = 0;
    const state = { headersSent: false };
    const res = {
      get headersSent() {
        return state.headersSent;
      },
      writeHead(status: number, headers: Record<string, string>) {
        writes++;
        answer.status = status;
        answer.headers = headers;
        state.headersSent = true;
      },
      end() {
        if (writes !== 1 || answer.passed) reject(new Error(`answered with ${writes} writeHead calls${answer.passed ? ' after passing the request on' : ''}`));
        resolve(answer);
      },
      /** Called by the wrapped listener (Bolt's place) when the guard passes the request on. */
      pass() {
        if (writes) reject(new Error('passed on after answering'));
        answer.passed = true;
        resolve(answer);
      },
    } as unknown as ServerResponse;
    try {
      listener(request(o), res);
    } catch (err) {
      reject(err);
    }
  });
}

describe('guardSlackRequests', () => {
  const SECRET = 'guard-secret';
  const headerValue = fc.oneof(anyText(40), fc.array(anyText(10), { minLength: 2, maxLength: 3 }));

  it('answers every request exactly once or passes it on — never both, never neither, never a throw', async () => {
    let passes = 0;
    let ranSlack = 0;
    // one bot per case: the same body drawn twice is not a replay of an earlier case
    const bot = () =>
      guardSlackRequests(
        (_req, res) => {
          passes++;
          (res as unknown as { pass: () => void }).pass();
        },
        { signingSecret: SECRET, seen: new MemorySeenRequests(() => NOW * 1000), nowSec: () => NOW },
      );
    const anyRequest = fc.record({
      url: fc.constantFrom('/slack/events', '/slack/events?x=1', '/health', '/'),
      method: fc.constantFrom('POST', 'GET', 'PUT'),
      sign: fc.boolean(),
      bodyText: slackBody,
      type: contentType,
      extra: fc.dictionary(
        fc.constantFrom('x-slack-retry-num', 'x-slack-retry-reason', 'x-slack-signature', 'x-slack-request-timestamp', 'content-type', 'x-other'),
        headerValue,
        { maxKeys: 3 },
      ),
      pad: fc.constantFrom(0, 0, 0, MAX_BODY_BYTES + 1),
    });
    /** What Slack sends: a signed command or interaction, perhaps a retry. */
    const slackRequest = fc.record({
      url: fc.constant('/slack/events'),
      method: fc.constant('POST'),
      sign: fc.constant(true),
      bodyText: fc.oneof(
        slackBody,
        fc.string().map((t) => `command=%2Fcws&text=${encodeURIComponent(t)}`),
        fc.constantFrom('block_actions', 'view_submission').map((type) => `payload=${encodeURIComponent(JSON.stringify({ type, user: { id: 'U1' } }))}`),
      ),
      type: fc.constantFrom(FORM as string | undefined),
      extra: fc.oneof(
        { weight: 4, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.record({ 'x-slack-retry-num': fc.constantFrom('1', '2'), 'x-slack-retry-reason': fc.constant('http_timeout') }) },
      ),
      pad: fc.constant(0),
    });
    await checkAsync(
      fc.asyncProperty(fc.oneof(anyRequest, slackRequest), async ({ url, method, sign, bodyText, type, extra, pad }) => {
        const body = Buffer.from(pad ? bodyText.padEnd(pad, ' ') : bodyText);
        const headers: Record<string, string | string[]> = {
          ...(type !== undefined ? { 'content-type': type } : {}),
          ...(sign ? signSlackRequest(SECRET, body.toString('utf8'), NOW) : {}),
          ...extra,
        };
        const before = passes;
        const listener = bot();
        const a = await serve(listener, { url, method, headers, body });
        if (!url.startsWith('/slack/events') || method !== 'POST') {
          expect(a.passed).toBe(true);
          return;
        }
        if (a.passed) {
          ranSlack++;
          // only a signed, first-seen request of a shape Slack sends reaches Bolt
          expect(passes).toBe(before + 1);
          expect(
            checkSignature({
              secret: SECRET,
              body,
              signature: headers['x-slack-signature'] as string,
              timestamp: headers['x-slack-request-timestamp'] as string,
              nowSec: NOW,
            }),
          ).toBeUndefined();
          expect(checkBodyShape(body.toString('utf8'), headers['content-type'] as string)).toBeUndefined();
          expect(headers['x-slack-retry-num']).toBeUndefined();
          // the very same request again is acknowledged, not run
          const again = await serve(listener, { url, method, headers, body });
          expect(again).toMatchObject({ passed: false, status: 200 });
        } else {
          expect([200, 400, 401, 413]).toContain(a.status);
          // a signed retry of Slack's is acknowledged with "do not retry", never run
          const sslCheck =
            /^application\/x-www-form-urlencoded/i.test(String(headers['content-type'] ?? '')) &&
            new URLSearchParams(body.toString('utf8')).get('ssl_check') === '1';
          const signedOk =
            typeof headers['x-slack-signature'] === 'string' &&
            typeof headers['x-slack-request-timestamp'] === 'string' &&
            checkSignature({ secret: SECRET, body, signature: headers['x-slack-signature'], timestamp: headers['x-slack-request-timestamp'], nowSec: NOW }) ===
              undefined;
          if (signedOk && !sslCheck && body.length <= MAX_BODY_BYTES && typeof headers['x-slack-retry-num'] === 'string')
            expect(a).toMatchObject({ status: 200, headers: { 'x-slack-no-retry': '1' } });
        }
      }),
      1500,
    );
    expect(ranSlack).toBeGreaterThan(250); // the property saw requests pass, not only refusals
  });
});
