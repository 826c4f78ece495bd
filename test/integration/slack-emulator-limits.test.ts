/**
 * The Slack emulator refuses what Slack refuses, driven by the real @slack/web-api WebClient:
 * Block Kit refusals with response_metadata, rate limits (429 + Retry-After) on an injected
 * clock, channel and message errors.
 */
import { type WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimitConfig } from '../../src/sandbox/rate-limits.ts';
import { BOT_SCOPES, SlackEmulator } from '../../src/sandbox/slack-api.ts';

const TOKEN = 'xoxb-limits';
const ERR = (what: string, ptr: string) => `[ERROR] ${what} [json-pointer:${ptr}]`;

let emu: SlackEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

/** An emulator with its rate limits on a clock the test moves. */
async function start(rateLimits: false | Partial<RateLimitConfig> = {}) {
  const clock = { now: 0 };
  emu = await SlackEmulator.start({
    token: TOKEN,
    scopes: [...BOT_SCOPES, 'reactions:write', 'channels:read'],
    rateLimits: rateLimits === false ? false : { now: () => clock.now, ...rateLimits },
  });
  const client = new WebClient(TOKEN, { slackApiUrl: emu.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  return { emu, client, clock };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
}

async function platformError(p: Promise<unknown>): Promise<WebAPIPlatformError['data']> {
  const err = await failure(p);
  expect((err as WebAPIPlatformError).code).toBe('slack_webapi_platform_error');
  return (err as WebAPIPlatformError).data;
}

async function retryAfter(p: Promise<unknown>): Promise<number> {
  const err = await failure(p);
  expect(err).toBeInstanceOf(WebAPIRateLimitedError);
  return (err as WebAPIRateLimitedError).retryAfter;
}

const button = (action_id: string, value: string) => ({ type: 'button', action_id, value, text: { type: 'plain_text', text: value } });
const twoFlares = [{ type: 'actions', block_id: 'selftest_node_actions', elements: [button('selftest_flare', 'node-7'), button('selftest_flare', 'node-8')] }];
const DUPLICATE = ERR('`action_id` "selftest_flare" already exists', '/blocks/0/elements/1/action_id');

describe('Block Kit refusals, as @slack/web-api sees them', () => {
  it('chat.postMessage / chat.update / chat.postEphemeral answer invalid_blocks with the json-pointers, and change nothing', async () => {
    const { emu, client } = await start();
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'result', blocks: twoFlares }))).toEqual({
      ok: false,
      error: 'invalid_blocks',
      response_metadata: { messages: [DUPLICATE] },
    });
    expect(emu.messages()).toHaveLength(0);

    const posted = await client.chat.postMessage({ channel: 'C1', text: 'queued' });
    const update = await platformError(client.chat.update({ channel: 'C1', ts: posted.ts!, text: 'result', blocks: twoFlares }));
    expect(update).toMatchObject({ error: 'invalid_blocks', response_metadata: { messages: [DUPLICATE] } });
    expect(emu.message('C1', posted.ts!)).toMatchObject({ text: 'queued', updates: 0 });

    expect(
      await platformError(
        client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'x', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: '*h*' } } as never] }),
      ),
    ).toMatchObject({
      error: 'invalid_blocks',
      response_metadata: { messages: [ERR('unsupported type: mrkdwn', '/blocks/0/text/type')] },
    });
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_001) }))).toMatchObject({ ok: false, error: 'msg_too_long' });
    const big = Array.from({ length: 5 }, () => ({ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(2500) } }));
    expect((await platformError(client.chat.postMessage({ channel: 'C1', text: 'big', blocks: big }))).error).toBe('msg_blocks_too_long');
    expect((await platformError(client.chat.postMessage({ channel: 'C1', text: 'm', metadata: { event_type: 'e' } as never }))).error).toBe(
      'invalid_metadata_format',
    );
    expect(emu.messages()).toHaveLength(1);
    // Refusals are answers: HTTP 200.
    expect(emu.calls.every((c) => c.status === 200)).toBe(true);
  });

  it('views.open / views.update / views.push answer invalid_arguments with /view pointers; push stacks at most 3', async () => {
    const { emu, client } = await start();
    const view = (title: string, extra: Record<string, unknown> = {}) => ({
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: title },
      blocks: [],
      ...extra,
    });
    const tooLong = await platformError(client.views.open({ trigger_id: 't1', view: view('A title of more than 24 characters') }));
    expect(tooLong).toEqual({
      ok: false,
      error: 'invalid_arguments',
      response_metadata: { messages: [ERR('failed to match all allowed schemas', '/view'), ERR('must be less than 25 characters', '/view/title/text')] },
    });
    expect(emu.views.size).toBe(0);

    const opened = await client.views.open({ trigger_id: 't2', view: view('Flare') });
    const id = opened.view!.id!;
    const bad = await platformError(client.views.update({ view_id: id, view: view('Flare', { private_metadata: 'p'.repeat(3001) }) }));
    expect(bad.response_metadata?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/view'),
      ERR('must be less than 3001 characters', '/view/private_metadata'),
    ]);
    expect(emu.views.get(id)?.updates).toBe(0);

    const pushedBad = await platformError(
      client.views.push({ trigger_id: 't3', view: view('Step 2', { blocks: [{ type: 'actions', elements: [button('a', '1'), button('a', '2')] }] }) }),
    );
    expect(pushedBad.response_metadata?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/view'),
      ERR('`action_id` "a" already exists', '/view/blocks/0/elements/1/action_id'),
    ]);
    await client.views.push({ trigger_id: 't4', view: view('Step 2') });
    await client.views.push({ trigger_id: 't5', view: view('Step 3') });
    expect(emu.views.size).toBe(3);
    expect((await platformError(client.views.push({ trigger_id: 't6', view: view('Step 4') }))).error).toBe('push_limit_reached');
  });

  it("a response_url post is refused with the message's code; a slash command ack body with invalid_command_response", async () => {
    const { emu } = await start();
    const context = { channel: 'C1', user: 'U1' };
    const url = emu.registerResponseUrl(context);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'r', blocks: twoFlares }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ ok: false, error: 'invalid_blocks', response_metadata: { messages: [DUPLICATE] } });

    expect(emu.applyResponse(context, { text: 'ack', blocks: twoFlares })).toBe('invalid_command_response');
    expect(emu.respond(context, { text: 'ack', blocks: twoFlares })).toEqual({ error: 'invalid_command_response', messages: [DUPLICATE] });
    expect(emu.applyResponse(context, { text: 'r', blocks: twoFlares }, 'response_url')).toBe('invalid_blocks');
    expect(emu.applyResponse(context, {})).toBe('invalid_command_response');
    expect(emu.messages()).toHaveLength(0);
    expect(emu.applyResponse(context, { text: 'fine' })).toBeUndefined();
    expect(emu.messages()).toHaveLength(1);
  });
});

describe('rate limits, on by default', () => {
  it('chat.update (tier 3): a burst of 20, then 429 with Retry-After from the refill, no state change; refilled at 50/min', async () => {
    const { emu, client, clock } = await start();
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'v0' });
    const ts = posted.ts!;
    for (let i = 1; i <= 20; i++) await client.chat.update({ channel: 'C1', ts, text: `v${i}` });
    // One token comes back every 1.2 s: Slack says "retry after 2 s".
    expect(await retryAfter(client.chat.update({ channel: 'C1', ts, text: 'v21' }))).toBe(2);
    expect(emu.message('C1', ts)).toMatchObject({ text: 'v20', updates: 20 });
    expect(emu.callsTo('chat.update').at(-1)).toMatchObject({ status: 429, args: { text: 'v21' } });
    expect(emu.rateLimited()).toBe(1);
    // The refused call spent nothing: 1.2 s later exactly one more goes through.
    clock.now += 1_200;
    await client.chat.update({ channel: 'C1', ts, text: 'v21' });
    expect(await retryAfter(client.chat.update({ channel: 'C1', ts, text: 'v22' }))).toBe(2);
    clock.now += 60_000;
    for (let i = 22; i < 42; i++) await client.chat.update({ channel: 'C1', ts, text: `v${i}` });
    expect(emu.message('C1', ts)?.updates).toBe(41);
    expect(emu.rateLimited()).toBe(2);
  });

  it('answers 429 as Slack does on the wire: Retry-After in whole seconds, {ok:false, error:"ratelimited"}', async () => {
    const { emu, client } = await start({ methods: { 'users.info': { capacity: 1, refillPerSec: 0.25 } } });
    emu.users.set('U1', { id: 'U1', name: 'alice' });
    await client.users.info({ user: 'U1' });
    const res = await fetch(`${emu.url}users.info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=U1',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('4');
    expect(await res.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('chat.postMessage: about 1/s per channel with a burst of 5; channels are independent', async () => {
    const { emu, client, clock } = await start();
    for (let i = 0; i < 5; i++) await client.chat.postMessage({ channel: 'C1', text: `c1-${i}` });
    expect(await retryAfter(client.chat.postMessage({ channel: 'C1', text: 'c1-5' }))).toBe(1);
    for (let i = 0; i < 5; i++) await client.chat.postMessage({ channel: 'C2', text: `c2-${i}` });
    expect(emu.messages('C1')).toHaveLength(5);
    expect(emu.messages('C2')).toHaveLength(5);
    clock.now += 1_000;
    await client.chat.postMessage({ channel: 'C1', text: 'c1-5' });
    expect(await retryAfter(client.chat.postMessage({ channel: 'C1', text: 'c1-6' }))).toBe(1);
    expect(emu.messages('C1')).toHaveLength(6);
  });

  it('chat.postMessage also has a workspace-wide budget (here a small one given by the test)', async () => {
    const { emu, client } = await start({ methods: { 'chat.postMessage': { capacity: 3, refillPerSec: 0.5 } } });
    for (const c of ['C1', 'C2', 'C3']) await client.chat.postMessage({ channel: c, text: c });
    expect(await retryAfter(client.chat.postMessage({ channel: 'C4', text: 'C4' }))).toBe(2);
    expect(emu.messages()).toHaveLength(3);
  });

  it('tier 2 (usergroups.users.list) and tier 4 (users.info, chat.postEphemeral, views.open): bursts of 10 and 40', async () => {
    const { emu, client } = await start();
    emu.usergroups.set('S1', ['U1']);
    emu.users.set('U1', { id: 'U1', name: 'alice' });
    for (let i = 0; i < 10; i++) await client.usergroups.users.list({ usergroup: 'S1' });
    expect(await retryAfter(client.usergroups.users.list({ usergroup: 'S1' }))).toBe(3);
    for (let i = 0; i < 40; i++) await client.users.info({ user: 'U1' });
    expect(await retryAfter(client.users.info({ user: 'U1' }))).toBe(1);
    // Each method has its own budget.
    await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });
    expect(emu.limiter?.available('users.info')).toBeLessThan(1);
    expect(emu.limiter?.available('chat.postEphemeral')).toBe(39);
  });

  it('injected faults are not rate limiting; reset() refills the budgets; rateLimits: false turns them off', async () => {
    const first = await start();
    first.emu.failNext('chat.update', { status: 429, retryAfterSec: 3 });
    const posted = await first.client.chat.postMessage({ channel: 'C1', text: 'v0' });
    expect(await retryAfter(first.client.chat.update({ channel: 'C1', ts: posted.ts!, text: 'v1' }))).toBe(3);
    expect(first.emu.rateLimited()).toBe(0);
    for (let i = 0; i < 6; i++) await first.client.chat.postMessage({ channel: 'C9', text: `${i}` }).catch(() => undefined);
    expect(first.emu.rateLimited()).toBe(1);
    first.emu.reset();
    expect(first.emu.rateLimited()).toBe(0);
    await first.client.chat.postMessage({ channel: 'C9', text: 'again' });
    await first.emu.close();

    const { emu, client } = await start(false);
    const msg = await client.chat.postMessage({ channel: 'C1', text: 'v0' });
    for (let i = 0; i < 60; i++) await client.chat.update({ channel: 'C1', ts: msg.ts!, text: `v${i}` });
    for (let i = 0; i < 10; i++) await client.chat.postMessage({ channel: 'C1', text: `${i}` });
    expect(emu.rateLimited()).toBe(0);
    expect(emu.limiter).toBeUndefined();
  });
});

describe('channel and message errors', () => {
  it('channel_not_found: empty, not a channel id, or deleted', async () => {
    const { emu, client } = await start(false);
    const posted = await client.chat.postMessage({ channel: 'C2', text: 'before' });
    for (const channel of ['', 'general', '#general', 'c1', 'U1']) {
      expect((await platformError(client.chat.postMessage({ channel, text: 'x' }))).error).toBe('channel_not_found');
    }
    emu.deleteChannel('C2');
    expect((await platformError(client.chat.postMessage({ channel: 'C2', text: 'x' }))).error).toBe('channel_not_found');
    expect((await platformError(client.chat.update({ channel: 'C2', ts: posted.ts!, text: 'x' }))).error).toBe('channel_not_found');
    expect((await platformError(client.conversations.info({ channel: 'C2' }))).error).toBe('channel_not_found');
    expect((await platformError(client.reactions.add({ channel: 'C2', timestamp: posted.ts!, name: 'eyes' }))).error).toBe('channel_not_found');
  });

  it('is_archived: an archived channel takes no posts, edits or reactions', async () => {
    const { emu, client } = await start(false);
    const posted = await client.chat.postMessage({ channel: 'C3', text: 'before' });
    emu.archiveChannel('C3');
    expect((await platformError(client.chat.postMessage({ channel: 'C3', text: 'x' }))).error).toBe('is_archived');
    expect((await platformError(client.chat.postEphemeral({ channel: 'C3', user: 'U1', text: 'x' }))).error).toBe('is_archived');
    expect((await platformError(client.chat.update({ channel: 'C3', ts: posted.ts!, text: 'x' }))).error).toBe('is_archived');
    expect((await platformError(client.reactions.add({ channel: 'C3', timestamp: posted.ts!, name: 'eyes' }))).error).toBe('is_archived');
    expect((await client.conversations.info({ channel: 'C3' })).channel).toMatchObject({ id: 'C3', is_archived: true });
  });

  it('not_in_channel: setMember(channel, false), and back', async () => {
    const { emu, client } = await start(false);
    expect((await platformError(client.chat.postMessage({ channel: 'CNOTMEMBER', text: 'x' }))).error).toBe('not_in_channel');
    emu.setMember('C4', false);
    expect((await platformError(client.chat.postMessage({ channel: 'C4', text: 'x' }))).error).toBe('not_in_channel');
    expect((await client.conversations.info({ channel: 'C4' })).channel).toMatchObject({ is_member: false, is_archived: false });
    emu.setMember('C4', true);
    await client.chat.postMessage({ channel: 'C4', text: 'x' });
    expect((await client.conversations.info({ channel: 'C4' })).channel).toMatchObject({ is_member: true });
  });

  it('message_not_found; cant_update_message / cant_delete_message for a message the bot did not post', async () => {
    const { emu, client } = await start(false);
    expect((await platformError(client.chat.update({ channel: 'C1', ts: '1700000000.999999', text: 'x' }))).error).toBe('message_not_found');
    expect((await platformError(client.chat.delete({ channel: 'C1', ts: '1700000000.999999' }))).error).toBe('message_not_found');
    const theirs = emu.postAsUser('C1', 'U1', 'a person wrote this');
    expect((await platformError(client.chat.update({ channel: 'C1', ts: theirs.ts, text: 'x' }))).error).toBe('cant_update_message');
    expect((await platformError(client.chat.delete({ channel: 'C1', ts: theirs.ts }))).error).toBe('cant_delete_message');
    expect(emu.message('C1', theirs.ts)).toMatchObject({ user: 'U1', text: 'a person wrote this', updates: 0 });
    // The bot may react to anyone's message.
    await client.reactions.add({ channel: 'C1', timestamp: theirs.ts, name: 'eyes' });
    expect(emu.message('C1', theirs.ts)?.reactions).toEqual(['eyes']);
  });

  it('not_authed and invalid_auth', async () => {
    const { emu } = await start(false);
    const none = await fetch(`${emu.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'channel=C1&text=x',
    });
    expect(await none.json()).toEqual({ ok: false, error: 'not_authed' });
    const wrong = new WebClient('xoxb-wrong', { slackApiUrl: emu.url, retryConfig: { retries: 0 } });
    expect((await platformError(wrong.chat.postMessage({ channel: 'C1', text: 'x' }))).error).toBe('invalid_auth');
  });
});

describe('scopes', () => {
  it("a method the token has no scope for answers missing_scope, as Slack does; BOT_SCOPES are the manifest's", async () => {
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8')) as { oauth_config: { scopes: { bot: string[] } } };
    expect([...BOT_SCOPES].sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
    const narrow = await SlackEmulator.start({ token: TOKEN, rateLimits: false });
    try {
      const web = new WebClient(TOKEN, { slackApiUrl: narrow.url, retryConfig: { retries: 0 } });
      await expect(web.conversations.info({ channel: 'C0SCOPE1' })).rejects.toMatchObject({
        data: { ok: false, error: 'missing_scope', needed: 'channels:read' },
      });
      await expect(web.reactions.add({ channel: 'C0SCOPE1', timestamp: '1.1', name: 'x' })).rejects.toMatchObject({
        data: { error: 'missing_scope', needed: 'reactions:write' },
      });
      expect((await web.conversations.history({ channel: 'G0SCOPE1' })).ok).toBe(true); // groups:history is the bot's
      const chatOnly = await SlackEmulator.start({ token: TOKEN, rateLimits: false, scopes: ['chat:write'] });
      try {
        const w = new WebClient(TOKEN, { slackApiUrl: chatOnly.url, retryConfig: { retries: 0 } });
        await expect(w.conversations.history({ channel: 'C0SCOPE1' })).rejects.toMatchObject({
          data: { error: 'missing_scope', needed: 'channels:history', provided: 'chat:write' },
        });
        expect((await w.chat.postMessage({ channel: 'C0SCOPE1', text: 'hi' })).ok).toBe(true);
      } finally {
        await chatOnly.close();
      }
    } finally {
      await narrow.close();
    }
  });
});
