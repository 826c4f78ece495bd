import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { ErrorCode, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type PrivateRedis } from './redis.ts';
import { BOT_SCOPES, SlackEmulator } from '../../src/sandbox/slack-api.ts';

/** The bot's scopes and those the emulator's other methods need, to exercise them all. */
const ALL_SCOPES = [...BOT_SCOPES, 'reactions:write', 'channels:read', 'groups:read', 'im:read'];
import { SlackSigner, signSlackRequest } from '../../src/sandbox/signer.ts';

const TOKEN = 'xoxb-test';

describe('SlackEmulator with a real WebClient', () => {
  let emu: SlackEmulator;
  let client: WebClient;

  beforeEach(async () => {
    emu = await SlackEmulator.start({ token: TOKEN, scopes: ALL_SCOPES });
    client = new WebClient(TOKEN, { slackApiUrl: emu.url, retryConfig: { retries: 0 } });
  });
  afterEach(async () => {
    await emu.close();
  });

  it('answers auth.test like Slack', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0001', team: 'test' });
    expect(res.url).toMatch(/^https:\/\//);
    expect(emu.callsTo('auth.test')[0]).toMatchObject({ token: TOKEN, status: 200 });
  });

  it('records postMessage with blocks + metadata, then applies chat.update', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*running*' } }];
    const metadata = { event_type: 'selftest', event_payload: { runId: 'r1', n: 1 } };
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'running', blocks, metadata });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe('C1');
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message?.metadata).toEqual(metadata);

    const call = emu.callsTo('chat.postMessage')[0];
    // objects/arrays arrive as JSON strings and are decoded; token came via the Authorization header
    expect(call?.args).toMatchObject({ channel: 'C1', text: 'running', blocks, metadata });
    expect(call?.token).toBe(TOKEN);

    const ts = posted.ts ?? '';
    const newBlocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*done*' } }];
    await client.chat.update({ channel: 'C1', ts, text: 'done', blocks: newBlocks });

    const msg = emu.message('C1', ts);
    expect(msg).toMatchObject({ channel: 'C1', ts, text: 'done', blocks: newBlocks, metadata, updates: 1, user: 'UBOT' });
    expect(emu.messages('C1')).toHaveLength(1);
    expect(emu.messages('C2')).toHaveLength(0);

    const second = await client.chat.postMessage({ channel: 'C1', text: 'again', thread_ts: ts });
    expect(Number(second.ts)).toBeGreaterThan(Number(ts));
    expect(emu.message('C1', second.ts ?? '')?.thread_ts).toBe(ts);
  });

  it('enforces Slack errors and limits', async () => {
    const platformError = async (p: Promise<unknown>): Promise<string> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WebAPIPlatformError);
      return (err as WebAPIPlatformError).data.error;
    };
    expect(await platformError(client.chat.postMessage({ channel: '', text: 'x' }))).toBe('channel_not_found');
    expect(await platformError(client.chat.postMessage({ channel: 'CNOTMEMBER', text: 'x' }))).toBe('not_in_channel');
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: tooMany }))).toBe('invalid_blocks');
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_001) }))).toBe('msg_too_long');
    expect(await platformError(client.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' }))).toBe('message_not_found');
    expect(await platformError(client.users.info({ user: 'UNOPE' }))).toBe('user_not_found');
    expect(await platformError(client.apiCall('bogus.method'))).toBe('unknown_method');
    const badToken = new WebClient('xoxb-wrong', { slackApiUrl: emu.url, retryConfig: { retries: 0 } });
    expect(await platformError(badToken.auth.test())).toBe('invalid_auth');
    // none of the failures changed state; all were recorded with HTTP 200
    expect(emu.messages()).toHaveLength(0);
    expect(emu.calls.every((c) => c.status === 200)).toBe(true);
    expect(emu.calls).toHaveLength(8);
  });

  it('supports ephemeral, delete, reactions, users, conversations and views', async () => {
    emu.users.set('U1', { id: 'U1', name: 'alice', email: 'alice@example.com' });
    const u = await client.users.info({ user: 'U1' });
    expect(u.user).toMatchObject({ id: 'U1', name: 'alice', profile: { email: 'alice@example.com' } });

    const eph = await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });
    expect(eph.message_ts).toBeTruthy();
    expect(emu.message('C1', eph.message_ts ?? '')).toMatchObject({ ephemeral: true, user: 'U1', text: 'only you' });

    const posted = await client.chat.postMessage({ channel: 'C1', text: 'hi' });
    await client.reactions.add({ channel: 'C1', timestamp: posted.ts ?? '', name: 'white_check_mark' });
    expect(emu.message('C1', posted.ts ?? '')?.reactions).toEqual(['white_check_mark']);
    await client.chat.delete({ channel: 'C1', ts: posted.ts ?? '' });
    expect(emu.message('C1', posted.ts ?? '')).toBeUndefined();

    const info = await client.conversations.info({ channel: 'C1' });
    expect(info.channel).toMatchObject({ id: 'C1', is_member: true });

    const opened = await client.views.open({
      trigger_id: '123.456',
      view: { type: 'modal', callback_id: 'cb', title: { type: 'plain_text', text: 'T' }, blocks: [] },
    });
    const viewId = opened.view?.id ?? '';
    expect(viewId).toMatch(/^V/);
    await client.views.update({
      view_id: viewId,
      view: { type: 'modal', callback_id: 'cb', title: { type: 'plain_text', text: 'T2' }, blocks: [] },
    });
    expect(emu.views.get(viewId)?.updates).toBe(1);
  });

  it('surfaces an injected 429 as a rate-limited error (rejectRateLimitedCalls) without changing state', async () => {
    const strict = new WebClient(TOKEN, { slackApiUrl: emu.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    emu.failNext('chat.postMessage', { status: 429, retryAfterSec: 7 });
    const err = await strict.chat.postMessage({ channel: 'C1', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebAPIRateLimitedError);
    expect((err as WebAPIRateLimitedError).code).toBe(ErrorCode.RateLimitedError);
    expect((err as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(emu.callsTo('chat.postMessage')[0]?.status).toBe(429);
    expect(emu.messages()).toHaveLength(0);
    // the fault was consumed: the next call goes through
    await strict.chat.postMessage({ channel: 'C1', text: 'x' });
    expect(emu.messages()).toHaveLength(1);
  });

  it('surfaces an injected 5xx as an HTTP error; "*" faults hit any method; count is honoured', async () => {
    emu.failNext('*', { status: 500 }, 2);
    const e1 = await client.auth.test().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(WebAPIHTTPError);
    expect((e1 as WebAPIHTTPError).statusCode).toBe(500);
    expect((e1 as WebAPIHTTPError).code).toBe(ErrorCode.HTTPError);
    const e2 = await client.chat.postMessage({ channel: 'C1', text: 'x' }).catch((e: unknown) => e);
    expect((e2 as WebAPIHTTPError).statusCode).toBe(500);
    expect(emu.messages()).toHaveLength(0);
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(emu.calls.map((c) => c.status)).toEqual([500, 500, 200]);
  });

  it('delays answers with a latency fault', async () => {
    emu.failNext('auth.test', { latencyMs: 300 });
    const started = Date.now();
    await client.auth.test();
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(emu.callsTo('auth.test')[0]?.status).toBe(200);
  });

  it('waitFor resolves on a later call and rejects with a dump on timeout', async () => {
    const waiting = emu.waitFor((e) => e.messages('C9').find((m) => m.updates >= 1));
    const posted = await client.chat.postMessage({ channel: 'C9', text: 'v1' });
    setTimeout(() => void client.chat.update({ channel: 'C9', ts: posted.ts ?? '', text: 'v2' }), 50);
    const msg = await waiting;
    expect(msg).toMatchObject({ text: 'v2', updates: 1 });

    await expect(emu.waitFor((e) => e.callsTo('never.called')[0], { timeoutMs: 100 })).rejects.toThrow(
      /not met within 100 ms[\s\S]*chat\.postMessage[\s\S]*C9/,
    );
  });

  it('records response_url posts', async () => {
    const res = await fetch(emu.responseUrl('cmd-1'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello', response_type: 'ephemeral' }),
    });
    expect(res.status).toBe(200);
    expect(emu.callsTo('response_url')[0]?.args).toEqual({ id: 'cmd-1', text: 'hello', response_type: 'ephemeral' });
  });

  it('accepts application/json bodies and form tokens', async () => {
    const r1 = await fetch(`${emu.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: 'C1', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(await r1.json()).toMatchObject({ ok: true, channel: 'C1' });
    const r2 = await fetch(`${emu.url}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${TOKEN}`,
    });
    expect(await r2.json()).toMatchObject({ ok: true });
    expect(emu.messages('C1')[0]).toMatchObject({ text: 'json', blocks: [{ type: 'divider' }] });
  });
});

describe('SlackSigner', () => {
  it('signs like Slack (independent HMAC vector)', () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
      '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const ts = 1531420618;
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    expect(signSlackRequest(secret, body, ts)).toEqual({
      'x-slack-signature': expected,
      'x-slack-request-timestamp': '1531420618',
    });
    // Slack's documented example signature for this exact input
    expect(expected).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
    const now = signSlackRequest(secret, body);
    expect(Math.abs(Number(now['x-slack-request-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
  });

  describe('against an HTTP endpoint', () => {
    const secret = 'shh';
    const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    let server: http.Server;
    let signer: SlackSigner;

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"ack"}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      signer = new SlackSigner({ secret, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: 'http://x/response/' });
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    const verify = (i: number): URLSearchParams => {
      const req = seen[i];
      if (!req) throw new Error(`no request ${i}`);
      expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
      const ts = String(req.headers['x-slack-request-timestamp']);
      const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${req.body}`).digest('hex')}`;
      expect(req.headers['x-slack-signature']).toBe(expected);
      return new URLSearchParams(req.body);
    };

    it('sends slash commands form-encoded and signed', async () => {
      const res = await signer.command('selftest run now', { userId: 'U9', channelId: 'C7' });
      expect(res).toMatchObject({ status: 200, json: { text: 'ack' }, responseUrl: 'http://x/response/cmd-1' });
      const form = verify(0);
      expect(Object.fromEntries(form)).toMatchObject({
        command: '/cws',
        text: 'selftest run now',
        user_id: 'U9',
        channel_id: 'C7',
        team_id: 'T0001',
        api_app_id: 'A0001',
        response_url: 'http://x/response/cmd-1',
      });
      expect(form.get('trigger_id')).toBeTruthy();
    });

    it('sends block_actions and view_submission as a payload field', async () => {
      await signer.action({ actionId: 'approve', value: 'run-1', messageTs: '1700000000.000100', channelId: 'C7' });
      const action = JSON.parse(verify(1).get('payload') ?? '{}') as Record<string, any>;
      expect(action).toMatchObject({
        type: 'block_actions',
        container: { message_ts: '1700000000.000100', channel_id: 'C7' },
        actions: [{ action_id: 'approve', value: 'run-1', type: 'button' }],
      });
      await signer.viewSubmission({ callbackId: 'cb', values: { b: { a: { type: 'plain_text_input', value: 'v' } } }, privateMetadata: 'pm' });
      const view = JSON.parse(verify(2).get('payload') ?? '{}') as Record<string, any>;
      expect(view).toMatchObject({
        type: 'view_submission',
        view: { callback_id: 'cb', private_metadata: 'pm', state: { values: { b: { a: { value: 'v' } } } } },
      });
    });

    it('raw() sends exactly the given headers', async () => {
      const res = await signer.raw('a=1', { 'x-slack-signature': 'v0=bad', 'x-slack-request-timestamp': '1' });
      expect(res.status).toBe(200);
      expect(seen[3]?.headers['x-slack-signature']).toBe('v0=bad');
      expect(seen[3]?.body).toBe('a=1');
    });
  });
});

describe('SlackSigner + SlackEmulator against a real Bolt app', () => {
  const secret = 'bolt-secret';
  let emu: SlackEmulator;
  let app: App;
  let signer: SlackSigner;

  beforeAll(async () => {
    emu = await SlackEmulator.start({ token: TOKEN, scopes: ALL_SCOPES });
    app = new App({
      token: TOKEN,
      signingSecret: secret,
      clientOptions: { slackApiUrl: emu.url, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    app.command('/cws', async ({ ack, respond, say, command }) => {
      await ack();
      await respond({ text: `got: ${command.text}` });
      await say({ text: 'posted', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: command.text } }] });
    });
    app.action('approve', async ({ ack, body, respond }) => {
      await ack();
      const value = body.type === 'block_actions' && body.actions[0]?.type === 'button' ? body.actions[0].value : '?';
      await respond({ text: `approved ${value}` });
    });
    app.view('cb', async ({ ack, view }) => {
      await ack({ response_action: 'errors', errors: { b: `bad ${view.state.values.b?.a?.value}` } });
    });
    const server = (await app.start(0)) as http.Server;
    const { port } = server.address() as AddressInfo;
    signer = new SlackSigner({ secret, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: emu.responseUrl('') });
  });
  afterAll(async () => {
    await app.stop();
    await emu.close();
  });

  it('delivers a signed slash command; respond() and say() reach the emulator', async () => {
    const res = await signer.command('run a & b=c');
    expect(res.status).toBe(200);
    const reply = await emu.waitFor((e) => e.callsTo('response_url')[0]);
    expect(reply.args).toMatchObject({ id: 'cmd-1', text: 'got: run a & b=c' });
    const msg = await emu.waitFor((e) => e.messages('C0001')[0]);
    expect(msg).toMatchObject({ text: 'posted', user: 'UBOT' });
  });

  it('delivers block_actions and view_submission payloads', async () => {
    expect((await signer.action({ actionId: 'approve', value: 'v1' })).status).toBe(200);
    const reply = await emu.waitFor((e) => e.callsTo('response_url').find((c) => c.args.id === 'action-2'));
    expect(reply.args.text).toBe('approved v1');
    const sub = await signer.viewSubmission({ callbackId: 'cb', values: { b: { a: { type: 'plain_text_input', value: 'x' } } } });
    expect(JSON.parse(sub.body)).toEqual({ response_action: 'errors', errors: { b: 'bad x' } });
  });

  it('is rejected by Bolt when the signature is wrong or stale', async () => {
    const body = 'command=%2Fcws&text=x';
    const now = Math.floor(Date.now() / 1000);
    expect((await signer.raw(body, { ...signSlackRequest('wrong', body, now) })).status).toBe(401);
    expect((await signer.raw(body, { ...signSlackRequest(secret, body, now - 600) })).status).toBe(401);
  });
});

describe.skipIf(process.env.REDIS_URL !== undefined)('private redis', () => {
  let redis: PrivateRedis;
  let client: Redis | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('starts, survives SIGKILL thanks to appendonly, and restarts on the same port', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: true });
    client.on('error', () => {
      // expected while the server is down
    });
    await client.connect();
    await client.set('k', 'before-kill');
    await client.rpush('list', 'a', 'b');

    await redis.kill();
    await expect(client.set('x', '1')).rejects.toThrow();

    await redis.restart();
    const fresh = new Redis(redis.url);
    try {
      expect(await fresh.get('k')).toBe('before-kill');
      expect(await fresh.lrange('list', 0, -1)).toEqual(['a', 'b']);
      expect(await fresh.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    } finally {
      fresh.disconnect();
    }
    // the old client reconnects by itself
    await expect(client.get('k')).resolves.toBe('before-kill');
  }, 30_000);
});
