/**
 * The sandbox server's protocol and its Slack side, without a browser or the real bot: a
 * stand-in app checks the signature of what the sandbox sends and answers what each test
 * needs, so payload shapes, ack bodies, response_url, views and the HTTP edge cases are
 * pinned down one by one (the browser test drives the real bot end to end).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClient } from '../../src/sandbox/client.ts';
import { type SandboxServer, startSandboxServer } from '../../src/sandbox/server.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';

const SECRET = 'sandbox-test-secret';
const TOKEN = 'xoxb-sandbox-test';
const CHANNEL = 'C0SANDBOX';
const ME = { id: 'U0SANDBOX', name: 'you' };
/** The second person the page may act as (its user switcher). */
const OTHER = { id: 'U0APPROVER', name: 'alex' };
/** A channel of its own for those tests (Slack's 1 post a second per channel). */
const SECOND = 'C0SECOND';

interface Received {
  form: URLSearchParams;
  payload?: Record<string, any>;
  /** An Events API envelope (JSON), as Slack posts events. */
  envelope?: Record<string, any>;
}
type Answer = { status?: number; body?: unknown; delayMs?: number };

let emu: SlackEmulator;
let sandbox: SandboxServer;
let app: http.Server;
let received: Received[] = [];
let answer: (r: Received) => Answer = () => ({});

/** A stand-in for the bot: verifies Slack's signature exactly as Bolt does, then answers. */
function startApp(): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const ts = String(req.headers['x-slack-request-timestamp']);
    const expected = Buffer.from(`v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${raw}`).digest('hex')}`);
    const got = Buffer.from(String(req.headers['x-slack-signature']));
    const type = req.headers['content-type'];
    if ((type !== 'application/x-www-form-urlencoded' && type !== 'application/json') || got.length !== expected.length || !timingSafeEqual(got, expected)) {
      res.writeHead(401).end();
      return;
    }
    const form = new URLSearchParams(type === 'application/json' ? '' : raw);
    const r: Received =
      type === 'application/json'
        ? { form, envelope: JSON.parse(raw) }
        : { form, ...(form.has('payload') ? { payload: JSON.parse(form.get('payload')!) } : {}) };
    received.push(r);
    const a = answer(r);
    if (a.delayMs) await new Promise((resolve) => setTimeout(resolve, a.delayMs));
    if (a.body === undefined) res.writeHead(a.status ?? 200).end();
    else
      res
        .writeHead(a.status ?? 200, { 'content-type': typeof a.body === 'string' ? 'text/plain' : 'application/json' })
        .end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  emu = await SlackEmulator.start({ token: TOKEN, clock: 'wall', strictTriggers: true });
  emu.users.set(ME.id, { ...ME });
  emu.users.set(OTHER.id, { ...OTHER });
  emu.channels.set(CHANNEL, 'cws-sandbox');
  app = await startApp();
  const signer = new SlackSigner({ secret: SECRET, url: `http://127.0.0.1:${(app.address() as AddressInfo).port}/slack/events` });
  const client = new SandboxClient({ emu, signer, user: ME, logger: pino({ level: 'silent' }), ackTimeoutMs: 500 });
  const other = new SandboxClient({ emu, signer, user: OTHER, logger: pino({ level: 'silent' }), ackTimeoutMs: 500 });
  sandbox = await startSandboxServer({ client, others: [other], emu, logger: pino({ level: 'silent' }), port: 0, maxBodyBytes: 8192 });
});

afterAll(async () => {
  await sandbox?.close();
  await emu?.close();
  await new Promise((resolve) => app?.close(resolve));
});

afterEach(() => {
  received = [];
  answer = () => ({});
});

const url = (path: string) => new URL(path, sandbox.url).toString();
const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(url(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
};
const state = async (user?: string) =>
  (await (await fetch(url(user ? `/api/state?user=${user}` : '/api/state'))).json()) as {
    channels: unknown[];
    me: unknown;
    users: unknown[];
    messages: { channel: string; ts: string; html: string }[];
    views: { id: string; html: string }[];
    home: { html: string };
  };

/** An SSE stream of the page, as `user` (default: the sandbox's person); `until` reads it up to a pattern. */
async function events(user?: string) {
  const ctl = new AbortController();
  const res = await fetch(url(user ? `/api/events?user=${user}` : '/api/events'), { signal: ctl.signal });
  const reader = res.body!.getReader();
  let text = '';
  return {
    get text() {
      return text;
    },
    async until(re: RegExp) {
      while (!re.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    },
    close: () => ctl.abort(),
  };
}

/** What the bot would post with its token. */
async function api(method: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(`${emu.url}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return (await res.json()) as Record<string, any>;
}

describe('page and HTTP edge cases', () => {
  it('serves the page with a strict CSP, and only the page', async () => {
    const index = await fetch(url('/'));
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="app.js">');
    expect((await fetch(url('/app.js'))).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(url('/style.css'))).headers.get('content-type')).toMatch(/css/);
    expect((await fetch(url('/../package.json'))).status).toBe(404);
    expect((await fetch(url('/api/nope'))).status).toBe(404);
    expect((await fetch(url('/api/state'), { method: 'POST' })).status).toBe(405);
  });

  it('says what is wrong with a request, never with a stack trace', async () => {
    const bad = await post('/api/command', '{"channel":');
    expect(bad).toEqual({ status: 400, json: { ok: false, error: 'the body is not valid JSON' } });
    expect(await post('/api/command', { channel: 'nope', text: 'help' })).toMatchObject({
      status: 400,
      json: { ok: false, error: expect.stringMatching(/^invalid request: channel: /) },
    });
    expect(
      await post('/api/action', { channel: CHANNEL, action: { type: 'button', action_id: 'a', block_id: 'b', position: { block: 0, element: 0 } } }),
    ).toMatchObject({ status: 400, json: { error: expect.stringContaining('give view_id, or channel and ts') } });
    // A click names the element by its position; ids alone (an older page) are refused, plainly.
    expect(await post('/api/action', { channel: CHANNEL, ts: '1.000001', action: { type: 'button', action_id: 'a', block_id: 'b' } })).toMatchObject({
      status: 400,
      json: { ok: false, error: expect.stringMatching(/^invalid request: action\.position: /) },
    });
    expect(
      (
        await post('/api/action', {
          channel: CHANNEL,
          ts: '1.000001',
          action: { type: 'button', action_id: 'a', block_id: 'b', position: { block: 0, element: 25 } },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await post('/api/action', {
          channel: CHANNEL,
          ts: '1.000001',
          action: { type: 'button', action_id: 'a', block_id: 'b', position: { block: -1, element: 'accessory' } },
        })
      ).status,
    ).toBe(400);
    expect((await post('/api/command', { channel: CHANNEL, text: 'x'.repeat(9000) })).status).toBe(413);
    expect((await post('/api/command', '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('/api/command', {}, { origin: 'http://evil.example' })).status).toBe(403);
    // fetch will not set Host: a DNS-rebound page would reach us with its own name in it.
    const rebound = await new Promise<number>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port: sandbox.port, path: '/api/state', headers: { host: `evil.example:${sandbox.port}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject),
    );
    expect(rebound).toBe(421);
    expect(received).toEqual([]);
  });

  it('an unknown channel is refused before anything reaches the bot', async () => {
    expect(await post('/api/command', { channel: 'C0OTHER', text: 'help' })).toMatchObject({
      json: { ok: false, error: expect.stringContaining('no channel C0OTHER') },
    });
    expect(received).toEqual([]);
  });
});

describe('slash commands', () => {
  it('sends a signed command as Slack does; the ack body shows as an ephemeral message to me', async () => {
    answer = () => ({ body: { response_type: 'ephemeral', text: 'usage: /cws help' } });
    expect(await post('/api/command', { channel: CHANNEL, text: 'bogus' })).toEqual({ status: 200, json: { ok: true } });
    const f = received[0]!.form;
    expect(Object.fromEntries(f)).toMatchObject({
      command: '/cws',
      text: 'bogus',
      user_id: ME.id,
      user_name: 'you',
      channel_id: CHANNEL,
      channel_name: 'cws-sandbox',
      team_id: 'T0001',
    });
    expect(f.get('response_url')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/response\//);
    expect(f.get('trigger_id')).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    const shown = (await state()).messages.at(-1)!;
    expect(shown).toMatchObject({ channel: CHANNEL });
    expect(shown.html).toContain('usage: /cws help');
    expect(shown.html).toContain('Only visible to you');
  });

  it("a command longer than Slack's 4000 characters reaches the bot as typed, so its grammar answers with the usage", async () => {
    const text = `selftest ${'a'.repeat(5000)}`;
    answer = (r) => ({ body: { response_type: 'ephemeral', text: `Usage: /cws selftest <cluster> (got ${r.form.get('text')!.length} characters)` } });
    const res = await post('/api/command', { channel: CHANNEL, text });
    expect(res).toEqual({ status: 200, json: { ok: true } });
    expect(received[0]!.form.get('text')).toBe(text);
    expect((await state()).messages.at(-1)!.html).toContain('Usage: /cws selftest &lt;cluster&gt; (got 5009 characters)');
    expect(JSON.stringify(res.json)).not.toMatch(/too big|<=/i);
  });

  it('a plain-text ack is a message too; an empty ack shows nothing', async () => {
    const before = (await state()).messages.length;
    answer = () => ({ body: 'plain words' });
    await post('/api/command', { channel: CHANNEL, text: 'x' });
    answer = () => ({});
    await post('/api/command', { channel: CHANNEL, text: 'y' });
    const after = (await state()).messages;
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)!.html).toContain('plain words');
  });

  it('the response_url posts ephemeral (default) or in_channel messages, 5 times at most', async () => {
    await post('/api/command', { channel: CHANNEL, text: 'later' });
    const responseUrl = received[0]!.form.get('response_url')!;
    const send = async (body: unknown) =>
      (await fetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect(await send({ text: 'only you see this' })).toBe(200);
    expect(await send({ response_type: 'in_channel', text: 'everyone sees this' })).toBe(200);
    const [eph, pub] = emu.messages(CHANNEL).slice(-2);
    expect(eph).toMatchObject({ ephemeral: true, user: ME.id, text: 'only you see this' });
    expect(pub).toMatchObject({ user: 'UBOT', text: 'everyone sees this' });
    expect(pub!.ephemeral).toBeUndefined();
    expect(await send({})).toBe(400); // no_text, as chat.postMessage would say
    for (let i = 0; i < 2; i++) expect(await send({ text: `n${i}` })).toBe(200);
    expect(await send({ text: 'sixth' })).toBe(404);
  });

  it("a bot that does not answer within the ack timeout gets Slack's operation_timeout", async () => {
    answer = () => ({ delayMs: 1000 });
    expect(await post('/api/command', { channel: CHANNEL, text: 'slow' })).toMatchObject({
      status: 502,
      json: { ok: false, error: expect.stringContaining('operation_timeout') },
    });
    answer = () => ({ status: 500 });
    expect(await post('/api/command', { channel: CHANNEL, text: 'broken' })).toMatchObject({
      status: 502,
      json: { ok: false, error: expect.stringContaining('HTTP 500') },
    });
  });
});

describe('messages, actions and events', () => {
  const blocks = [
    { type: 'section', text: { type: 'mrkdwn', text: 'Run it? <@U0SANDBOX>' } },
    {
      type: 'actions',
      block_id: 'acts',
      elements: [
        { type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' }, value: 'job-1', style: 'primary' },
        {
          type: 'static_select',
          action_id: 'pick',
          placeholder: { type: 'plain_text', text: 'Pick' },
          options: [{ text: { type: 'plain_text', text: 'Node A' }, value: 'a' }],
        },
      ],
    },
  ];
  const GO = { block: 1, element: 0 };
  const PICK = { block: 1, element: 1 };

  it('streams what the bot posts, edits and deletes', async () => {
    const ctl = new AbortController();
    const res = await fetch(url('/api/events'), { signal: ctl.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    const posted = await api('chat.postMessage', { channel: CHANNEL, text: 'hello', blocks });
    await until(/event: message\ndata: .*"ts":"\d+\.\d+".*\n\n/);
    expect(text).toContain('@you'); // <@U0SANDBOX> shown with the user's name, as Slack does
    await api('chat.update', { channel: CHANNEL, ts: posted.ts, text: 'edited' });
    await until(/\(edited\)/);
    await api('chat.delete', { channel: CHANNEL, ts: posted.ts });
    await until(/event: message_deleted\ndata: \{"channel":"C0SANDBOX","ts":"[\d.]+"\}/);
    await api('chat.postEphemeral', { channel: CHANNEL, user: 'USOMEONE', text: 'not for me' });
    await api('chat.postMessage', { channel: 'C0INCIDENTS', text: 'elsewhere' });
    await until(/elsewhere/);
    expect(text).not.toContain('not for me');
    ctl.abort();
    expect((await state()).channels).toEqual([
      { id: CHANNEL, name: 'cws-sandbox' },
      { id: 'C0INCIDENTS', name: 'C0INCIDENTS' },
    ]);
  });

  it('a click sends block_actions built from the stored message, not from what the page claims', async () => {
    const posted = await api('chat.postMessage', { channel: CHANNEL, text: 'pick', blocks });
    const res = await post('/api/action', {
      channel: CHANNEL,
      ts: posted.ts,
      action: { type: 'button', action_id: 'go', block_id: 'acts', position: GO, value: 'forged' },
    });
    expect(res).toEqual({ status: 200, json: { ok: true } });
    const p = received[0]!.payload!;
    expect(p).toMatchObject({
      type: 'block_actions',
      user: { id: ME.id, name: 'you' },
      container: { type: 'message', message_ts: posted.ts, channel_id: CHANNEL, is_ephemeral: false },
      channel: { id: CHANNEL, name: 'cws-sandbox' },
      message: { ts: posted.ts, text: 'pick', blocks: [{ block_id: 'block_0' }, { block_id: 'acts' }] },
    });
    // Exactly what Slack sends for a button of an actions block.
    expect(p.actions).toEqual([
      {
        type: 'button',
        block_id: 'acts',
        action_id: 'go',
        text: { type: 'plain_text', text: 'Go', emoji: true },
        value: 'job-1',
        style: 'primary',
        action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
      },
    ]);
    expect(p.response_url).toMatch(/\/response\//);
    expect(p.trigger_id).toBeTruthy();

    // replace_original through the action's response_url edits that message in place.
    await fetch(p.response_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'done' }),
    });
    expect(emu.message(CHANNEL, posted.ts)).toMatchObject({ text: 'done', updates: 1 });
    expect(emu.message(CHANNEL, posted.ts)!.blocks).toBeUndefined();
  });

  it('a menu pick carries the option and its state; options and elements not offered are refused', async () => {
    const posted = await api('chat.postMessage', { channel: CHANNEL, text: 'pick', blocks });
    const pick = (value: string) =>
      post('/api/action', {
        channel: CHANNEL,
        ts: posted.ts,
        action: { type: 'static_select', action_id: 'pick', block_id: 'acts', position: PICK, selected_option: { value } },
      });
    expect((await pick('a')).json).toEqual({ ok: true });
    expect(received[0]!.payload).toMatchObject({
      actions: [{ type: 'static_select', selected_option: { value: 'a', text: { text: 'Node A' } } }],
      state: { values: { acts: { pick: { type: 'static_select', selected_option: { value: 'a' } } } } },
    });
    expect((await pick('zzz')).json).toMatchObject({ ok: false, error: expect.stringContaining('not in the menu') });
    expect(
      (await post('/api/action', { channel: CHANNEL, ts: posted.ts, action: { type: 'button', action_id: 'nope', block_id: 'acts', position: GO } })).status,
    ).toBe(409);
    expect(
      (await post('/api/action', { channel: CHANNEL, ts: '1.000001', action: { type: 'button', action_id: 'go', block_id: 'acts', position: GO } })).status,
    ).toBe(409);
    expect(received).toHaveLength(1);
  });

  /** The `data-action` of every interactive element of a rendered message or view, in page order. */
  const pageActions = (html: string) =>
    [...html.matchAll(/\sdata-action="([^"]*)"/g)].map(
      (m) =>
        JSON.parse(
          m[1]!
            .replace(/&quot;/g, '"')
            .replace(/&#39;/g, "'")
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&amp;/g, '&'),
        ) as Record<string, unknown>,
    );
  const restartBlocks = (nodes: string[]) => [
    {
      type: 'section',
      block_id: 'summary',
      text: { type: 'mrkdwn', text: `${nodes.length} agents failed` },
      accessory: { type: 'button', action_id: 'selftest.rerun_failed', text: { type: 'plain_text', text: 'Re-run failed' }, value: 'st-1' },
    },
    {
      type: 'actions',
      block_id: 'fixes',
      elements: nodes.map((n, i) => ({
        type: 'button',
        action_id: `selftest.restart:${n}`,
        text: { type: 'plain_text', text: `Restart agent on ${n}` },
        value: `st-1|${n}`,
        ...(i === 1 ? { style: 'danger' } : {}),
      })),
    },
  ];

  it('two buttons of one block: the page names each by its position, and the click sends that element', async () => {
    const posted = await api('chat.postMessage', { channel: CHANNEL, text: 'selftest', blocks: restartBlocks(['node-7', 'node-8']) });
    expect(posted.ok).toBe(true);
    const html = (await state()).messages.find((m) => m.ts === posted.ts)!.html;
    const shown = pageActions(html);
    expect(shown).toEqual([
      { type: 'button', action_id: 'selftest.rerun_failed', block_id: 'summary', position: { block: 0, element: 'accessory' } },
      { type: 'button', action_id: 'selftest.restart:node-7', block_id: 'fixes', position: { block: 1, element: 0 } },
      { type: 'button', action_id: 'selftest.restart:node-8', block_id: 'fixes', position: { block: 1, element: 1 } },
    ]);

    // What the page posts for "Restart agent on node-8": its data-action as is.
    expect((await post('/api/action', { channel: CHANNEL, ts: posted.ts, action: shown[2] })).json).toEqual({ ok: true });
    const p = received[0]!.payload!;
    expect(p.actions).toEqual([
      {
        type: 'button',
        block_id: 'fixes',
        action_id: 'selftest.restart:node-8',
        text: { type: 'plain_text', text: 'Restart agent on node-8', emoji: true },
        value: 'st-1|node-8',
        style: 'danger',
        action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
      },
    ]);
    expect(p.container).toEqual({ type: 'message', message_ts: posted.ts, channel_id: CHANNEL, is_ephemeral: false });
    expect(p.message).toMatchObject({ ts: posted.ts });
    expect(Number(p.actions[0].action_ts)).toBeGreaterThanOrEqual(Number(posted.ts));

    // The first of the block, and the section's accessory, each send their own.
    await post('/api/action', { channel: CHANNEL, ts: posted.ts, action: shown[1] });
    await post('/api/action', { channel: CHANNEL, ts: posted.ts, action: shown[0] });
    expect(received.slice(1).map((r) => [r.payload!.actions[0].action_id, r.payload!.actions[0].value, r.payload!.actions[0].block_id])).toEqual([
      ['selftest.restart:node-7', 'st-1|node-7', 'fixes'],
      ['selftest.rerun_failed', 'st-1', 'summary'],
    ]);
    expect(received[1]!.payload!.actions[0].style).toBeUndefined();
  });

  it('a click from a stale page (the element at that position changed) is refused with a plain message, and nothing reaches the bot', async () => {
    const posted = await api('chat.postMessage', { channel: CHANNEL, text: 'selftest', blocks: restartBlocks(['node-7', 'node-8']) });
    const shown = pageActions((await state()).messages.find((m) => m.ts === posted.ts)!.html);
    // The bot edits the message: node-8's button moves first, node-7's second.
    expect((await api('chat.update', { channel: CHANNEL, ts: posted.ts, text: 'selftest', blocks: restartBlocks(['node-8', 'node-7']) })).ok).toBe(true);
    const refused = await post('/api/action', { channel: CHANNEL, ts: posted.ts, action: shown[2] });
    expect(refused).toMatchObject({
      status: 409,
      json: {
        ok: false,
        error: expect.stringMatching(
          /^That button is no longer there: the message changed since the page showed it \(element 1 of block 1 is now "selftest\.restart:node-7", not "selftest\.restart:node-8"\)\. Nothing was sent\.$/,
        ),
      },
    });
    const at = (position: unknown, extra: Record<string, unknown> = {}) =>
      post('/api/action', { channel: CHANNEL, ts: posted.ts, action: { ...shown[2], position, ...extra } });
    for (const [res, reason] of [
      [await at({ block: 1, element: 2 }), 'element 2 of block 1 is not there'],
      [await at({ block: 7, element: 0 }), 'there is no block 7'],
      [await at({ block: 0, element: 0 }), 'block 0 is now "summary", not "fixes"'],
      [await at({ block: 1, element: 'accessory' }), 'block 1 is not a section'],
      [await at({ block: 1, element: 0 }, { type: 'overflow' }), 'element 0 of block 1 is a button, not an overflow'],
    ] as const) {
      expect(res.status).toBe(409);
      expect(res.json.error).toContain(reason);
      expect(res.json.error).not.toMatch(/\n\s+at /);
    }
    expect(received).toEqual([]);
    // The page, refreshed, shows the new positions: clicking node-8 now sends node-8.
    const fresh = pageActions((await state()).messages.find((m) => m.ts === posted.ts)!.html);
    expect((await post('/api/action', { channel: CHANNEL, ts: posted.ts, action: fresh[1] })).json).toEqual({ ok: true });
    expect(received[0]!.payload!.actions[0]).toMatchObject({ action_id: 'selftest.restart:node-8', value: 'st-1|node-8' });
  });

  it('an action on an ephemeral message: no message in the payload; delete_original removes it', async () => {
    const eph = await api('chat.postEphemeral', { channel: CHANNEL, user: ME.id, text: 'menu', blocks });
    await post('/api/action', { channel: CHANNEL, ts: eph.message_ts, action: { type: 'button', action_id: 'go', block_id: 'acts', position: GO } });
    const p = received[0]!.payload!;
    expect(p.container).toMatchObject({ is_ephemeral: true, message_ts: eph.message_ts });
    expect(p.message).toBeUndefined();
    await fetch(p.response_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete_original: true }) });
    expect(emu.message(CHANNEL, eph.message_ts)).toBeUndefined();
  });
});

describe('modals', () => {
  const modal = (extra: Record<string, unknown> = {}) => ({
    type: 'modal',
    callback_id: 'ask_email',
    private_metadata: 'req-1',
    title: { type: 'plain_text', text: 'Email' },
    submit: { type: 'plain_text', text: 'Go' },
    blocks: [{ type: 'input', block_id: 'email', label: { type: 'plain_text', text: 'Email' }, element: { type: 'email_text_input', action_id: 'value' } }],
    ...extra,
  });

  /** A command whose trigger_id the bot uses to open `view`, as the flare command does. */
  async function openModal(view: Record<string, unknown>): Promise<string> {
    await post('/api/command', { channel: CHANNEL, text: 'flare' });
    const opened = await api('views.open', { trigger_id: received.at(-1)!.form.get('trigger_id'), view });
    expect(opened.ok).toBe(true);
    return opened.view.id as string;
  }

  it('views.open needs a fresh trigger_id, once', async () => {
    expect((await api('views.open', { trigger_id: '1.2.made-up', view: modal() })).error).toBe('invalid_trigger_id');
    await post('/api/command', { channel: CHANNEL, text: 'flare' });
    const trigger = received.at(-1)!.form.get('trigger_id');
    expect((await api('views.open', { trigger_id: trigger, view: modal() })).ok).toBe(true);
    expect((await api('views.open', { trigger_id: trigger, view: modal() })).error).toBe('trigger_exchanged');
    for (const id of [...emu.views.keys()]) emu.closeView(id);
  });

  it('submit: errors stay on the form; update replaces it; an empty answer closes it', async () => {
    const id = await openModal(modal());
    expect((await state()).views.map((v) => v.id)).toEqual([id]);
    const values = { email: { value: { type: 'email_text_input', value: 'nope' } } };
    answer = () => ({ body: { response_action: 'errors', errors: { email: 'Enter an email address' } } });
    expect(await post('/api/view/submit', { view_id: id, values })).toEqual({
      status: 200,
      json: { ok: false, error: 'The form has errors.', errors: { email: 'Enter an email address' } },
    });
    expect(received.at(-1)!.payload).toMatchObject({
      type: 'view_submission',
      user: { id: ME.id },
      view: { id, callback_id: 'ask_email', private_metadata: 'req-1', state: { values } },
    });

    answer = () => ({ body: { response_action: 'update', view: modal({ title: { type: 'plain_text', text: 'Step 2' } }) } });
    expect((await post('/api/view/submit', { view_id: id, values })).json).toEqual({ ok: true });
    expect((await state()).views[0]!.html).toContain('Step 2');

    answer = () => ({});
    expect((await post('/api/view/submit', { view_id: id, values })).json).toEqual({ ok: true });
    expect((await state()).views).toEqual([]);
    expect((await post('/api/view/submit', { view_id: id, values })).status).toBe(409);
  });

  it('a button of a modal: the element at its position, with the view as container', async () => {
    const id = await openModal(
      modal({
        blocks: [
          { type: 'input', block_id: 'email', label: { type: 'plain_text', text: 'Email' }, element: { type: 'email_text_input', action_id: 'value' } },
          {
            type: 'actions',
            block_id: 'which',
            elements: [
              { type: 'button', action_id: 'use_mine', text: { type: 'plain_text', text: 'Mine' }, value: 'me' },
              { type: 'button', action_id: 'use_team', text: { type: 'plain_text', text: 'Team :busts_in_silhouette:', emoji: false }, value: 'team' },
            ],
          },
        ],
      }),
    );
    const res = await post('/api/action', {
      channel: '',
      view_id: id,
      action: { type: 'button', action_id: 'use_team', block_id: 'which', position: { block: 1, element: 1 } },
    });
    expect(res.json).toEqual({ ok: true });
    const p = received.at(-1)!.payload!;
    expect(p.container).toEqual({ type: 'view', view_id: id });
    expect(p.view).toMatchObject({ id, callback_id: 'ask_email' });
    expect(p.actions).toEqual([
      {
        type: 'button',
        block_id: 'which',
        action_id: 'use_team',
        text: { type: 'plain_text', text: 'Team :busts_in_silhouette:', emoji: false },
        value: 'team',
        action_ts: expect.any(String),
      },
    ]);
    expect(
      (
        await post('/api/action', {
          channel: '',
          view_id: id,
          action: { type: 'button', action_id: 'use_team', block_id: 'which', position: { block: 1, element: 0 } },
        })
      ).json,
    ).toMatchObject({ ok: false, error: expect.stringContaining('the view changed') });
    emu.closeView(id);
  });

  it('close: the bot hears view_closed only when the view asked for it', async () => {
    const quiet = await openModal(modal());
    expect((await post('/api/view/close', { view_id: quiet })).json).toEqual({ ok: true });
    expect(received.filter((r) => r.payload?.type === 'view_closed')).toEqual([]);
    const loud = await openModal(modal({ notify_on_close: true }));
    expect((await post('/api/view/close', { view_id: loud })).json).toEqual({ ok: true });
    expect(received.at(-1)!.payload).toMatchObject({ type: 'view_closed', view: { id: loud, callback_id: 'ask_email' }, is_cleared: false });
    expect(emu.views.size).toBe(0);
  });
});

describe('acting as another person, and the App Home', () => {
  beforeAll(() => {
    emu.channels.set(SECOND, 'cws-second');
  });

  it('the state says who the page acts as and whom it may act as; each sees only their own ephemeral messages', async () => {
    expect((await state()).me).toEqual(ME);
    const theirs = await state(OTHER.id);
    expect(theirs.me).toEqual(OTHER);
    expect(theirs.users).toEqual([ME, OTHER]);
    await api('chat.postEphemeral', { channel: SECOND, user: OTHER.id, text: 'only for alex' });
    await api('chat.postEphemeral', { channel: SECOND, user: ME.id, text: 'only for you' });
    const mine = (await state()).messages.map((m) => m.html).join();
    const alex = (await state(OTHER.id)).messages.map((m) => m.html).join();
    expect(mine).toContain('only for you');
    expect(mine).not.toContain('only for alex');
    expect(alex).toContain('only for alex');
    expect(alex).not.toContain('only for you');
  });

  it('a command and a click as the other person are signed as that person', async () => {
    answer = () => ({});
    expect(await post('/api/command', { channel: SECOND, text: 'jobs', user: OTHER.id })).toEqual({ status: 200, json: { ok: true } });
    expect(Object.fromEntries(received.at(-1)!.form)).toMatchObject({ user_id: OTHER.id, user_name: 'alex', text: 'jobs' });
    const posted = await api('chat.postMessage', {
      channel: SECOND,
      text: 'approve?',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'ok', text: { type: 'plain_text', text: 'Approve' }, value: 'ap-1' }] }],
    });
    const click = { channel: SECOND, ts: posted.ts, action: { type: 'button', action_id: 'ok', block_id: 'block_0', position: { block: 0, element: 0 } } };
    expect((await post('/api/action', { ...click, user: OTHER.id })).json).toEqual({ ok: true });
    expect(received.at(-1)!.payload!.user).toMatchObject({ id: OTHER.id, username: 'alex' });
    // Without `user`: the sandbox's own person, as before.
    expect((await post('/api/action', click)).json).toEqual({ ok: true });
    expect(received.at(-1)!.payload!.user).toMatchObject({ id: ME.id });
  });

  it('channel mentions show the channel’s name, as Slack shows them', async () => {
    const feed = await events(OTHER.id);
    await api('chat.postMessage', {
      channel: SECOND,
      text: 'see <#C0SECOND> and <#C0NOTKNOWN>',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'see <#C0SECOND> and <#C0NOTKNOWN>' } }],
    });
    await feed.until(/see /);
    feed.close();
    const shown = (await state(OTHER.id)).messages.at(-1)!.html;
    expect(shown).toContain('#cws-second');
    expect(shown).toContain('#C0NOTKNOWN');
  });

  it('a person the sandbox does not act as is refused before anything reaches the bot', async () => {
    expect(await post('/api/command', { channel: SECOND, text: 'help', user: 'U0STRANGER' })).toEqual({
      status: 400,
      json: { ok: false, error: 'invalid request: user: not a user the sandbox can act as' },
    });
    expect((await post('/api/command', { channel: SECOND, text: 'help', user: 'nope' })).json.error).toMatch(/^invalid request: user: must be a user ID/);
    expect((await fetch(url('/api/state?user=U0STRANGER'))).status).toBe(400);
    expect((await fetch(url('/api/events?user=U0STRANGER'))).status).toBe(400);
    expect(received).toEqual([]);
  });

  it('opening the Home sends a signed app_home_opened event (JSON) for that person, with the Home they have', async () => {
    expect((await post('/api/home/open', { user: OTHER.id })).json).toEqual({ ok: true });
    const first = received.at(-1)!.envelope!;
    expect(first).toMatchObject({ type: 'event_callback', team_id: 'T0001', api_app_id: 'A0001', event_id: expect.stringMatching(/^Ev/) });
    expect(first.event).toEqual({
      type: 'app_home_opened',
      user: OTHER.id,
      channel: 'D0APPROVER',
      tab: 'home',
      event_ts: expect.stringMatching(/^\d+\.\d{6}$/),
    });
    const home = { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Asked by <@U0SANDBOX>' } }] };
    expect((await api('views.publish', { user_id: OTHER.id, view: home })).ok).toBe(true);
    expect((await post('/api/home/open', { user: OTHER.id })).json).toEqual({ ok: true });
    expect(received.at(-1)!.envelope!.event.view).toMatchObject({ type: 'home', id: expect.stringMatching(/^V/), blocks: home.blocks });
  });

  it("the Home the bot publishes streams to that person's page only, rendered, and is in their state", async () => {
    const alex = await events(OTHER.id);
    const you = await events();
    const view = (text: string) => ({
      type: 'home',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'CWS' } },
        { type: 'section', text: { type: 'mrkdwn', text } },
      ],
    });
    expect((await api('views.publish', { user_id: OTHER.id, view: view('*Waiting for your approval* <@U0SANDBOX>') })).ok).toBe(true);
    await alex.until(/event: home\ndata: .*Waiting for your approval/);
    expect(alex.text).toContain('data-testid=\\"home-view\\"');
    expect(alex.text).toContain('@you'); // <@U0SANDBOX> shown by name, as in messages
    // A Slack-refused Home (a modal's title) is not published, and nothing streams.
    expect((await api('views.publish', { user_id: OTHER.id, view: { ...view('x'), title: { type: 'plain_text', text: 'T' } } })).ok).toBe(false);
    expect((await api('views.publish', { user_id: ME.id, view: view('for the sandbox person') })).ok).toBe(true);
    await you.until(/event: home\ndata: .*for the sandbox person/);
    expect(you.text).not.toContain('Waiting for your approval');
    await api('chat.postMessage', { channel: SECOND, text: 'marker' });
    await alex.until(/marker/);
    expect(alex.text).not.toContain('for the sandbox person');
    alex.close();
    you.close();
    expect((await state(OTHER.id)).home.html).toContain('<b>Waiting for your approval</b>');
    expect((await state()).home.html).toContain('for the sandbox person');
  });

  it('before the app publishes a Home, the state says so', async () => {
    emu.homeViews.delete(ME.id);
    expect((await state()).home.html).toContain('has not published a Home for you yet');
  });
});
