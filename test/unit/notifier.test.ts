import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from 'pino';
import type { AuditLog } from '../../src/bot/state/audit.ts';
import type { JobProducer } from '../../src/bot/state/producer.ts';
import type { JobTracker } from '../../src/bot/state/tracker.ts';
import { JobMessages } from '../../src/bot/job-messages.ts';
import { JobUpdates } from '../../src/bot/job-updates.ts';
import { type ChatApi, Notifier, plainFallback, refusalOf } from '../../src/bot/notifier.ts';

function fakeApi() {
  const calls: { method: string; args: Record<string, unknown> }[] = [];
  const failures: unknown[] = [];
  const api: ChatApi = {
    chat: {
      postMessage: async (args) => {
        calls.push({ method: 'postMessage', args });
        const f = failures.shift();
        if (f) throw f;
        return { ok: true, ts: `1.${calls.length}`, channel: args.channel as string };
      },
      update: async (args) => {
        calls.push({ method: 'update', args });
        const f = failures.shift();
        if (f) throw f;
        return { ok: true };
      },
      postEphemeral: async (args) => {
        calls.push({ method: 'postEphemeral', args });
        return { ok: true };
      },
    },
  };
  return { api, calls, failures };
}

const rateLimited = (retryAfter: number) => Object.assign(new Error('rate limited'), { code: 'slack_webapi_rate_limited_error', retryAfter });
const http5xx = (statusCode: number) => Object.assign(new Error('http'), { code: 'slack_webapi_http_error', statusCode });
const platform = (error: string, messages?: string[]) =>
  Object.assign(new Error(error), {
    code: 'slack_webapi_platform_error',
    data: { ok: false, error, ...(messages ? { response_metadata: { messages } } : {}) },
  });

/** A fake ChatApi whose answer to each call is decided by `answer` (throw to fail it). */
function scriptedApi(answer: (method: string, args: Record<string, unknown>, n: number) => void = () => {}) {
  const calls: { method: string; args: Record<string, unknown>; at: number }[] = [];
  let seq = 0;
  const run = (method: string, args: Record<string, unknown>) => {
    calls.push({ method, args, at: Date.now() });
    answer(method, args, calls.filter((c) => c.method === method).length);
  };
  const api: ChatApi = {
    chat: {
      postMessage: async (args) => (run('postMessage', args), { ok: true, ts: `2.${++seq}`, channel: args.channel as string }),
      update: async (args) => (run('update', args), { ok: true }),
      postEphemeral: async (args) => (run('postEphemeral', args), { ok: true }),
    },
  };
  return { api, calls, updates: () => calls.filter((c) => c.method === 'update') };
}

function captureLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  const logger = { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { logger, lines };
}

describe('Notifier', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('coalesces intermediate updates to at most one per interval per message', async () => {
    const { api, calls } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 1000 });
    const { ts } = await n.post('C1', { text: 'queued' });
    for (let i = 1; i <= 50; i++) void n.update('C1', ts, { text: `progress ${i}` });
    await vi.advanceTimersByTimeAsync(999);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    const updates = calls.filter((c) => c.method === 'update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.args.text).toBe('progress 50');
    expect(n.stats.coalesced).toBe(49);
  });

  it('sends the final update after the interval and ignores later intermediate ones', async () => {
    const { api, calls } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 1000 });
    const { ts } = await n.post('C1', { text: 'queued' });
    void n.update('C1', ts, { text: 'progress' });
    const final = n.update('C1', ts, { text: 'done', metadata: { event_type: 'x', event_payload: {} } }, { final: true });
    void n.update('C1', ts, { text: 'late progress' });
    await vi.advanceTimersByTimeAsync(1000);
    await final;
    await vi.advanceTimersByTimeAsync(5000);
    const updates = calls.filter((c) => c.method === 'update');
    expect(updates.map((u) => u.args.text)).toEqual(['done']);
    expect(updates[0]!.args.metadata).toEqual({ event_type: 'x', event_payload: {} });
  });

  it('sends the final edit a short spacing after the last progress edit, not a whole interval', async () => {
    const { api, calls } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 1000, finalMinIntervalMs: 200 });
    const { ts } = await n.post('C1', { text: 'queued' });
    await vi.advanceTimersByTimeAsync(1000);
    void n.update('C1', ts, { text: 'progress' });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(50);
    void n.update('C1', ts, { text: 'more progress' });
    await vi.advanceTimersByTimeAsync(50);
    void n.update('C1', ts, { text: 'done' }, { final: true });
    await vi.advanceTimersByTimeAsync(99);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const updates = calls.filter((c) => c.method === 'update');
    expect(updates.map((u) => u.args.text)).toEqual(['progress', 'done']);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(2);
  });

  it('spaces edits of the same message by the interval, not edits of different messages', async () => {
    const { api, calls } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 1000 });
    const a = await n.post('C1', { text: 'a' });
    const b = await n.post('C1', { text: 'b' });
    await vi.advanceTimersByTimeAsync(1000);
    void n.update('C1', a.ts, { text: 'a1' });
    void n.update('C1', b.ts, { text: 'b1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(2);
    void n.update('C1', a.ts, { text: 'a2' });
    await vi.advanceTimersByTimeAsync(500);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(3);
  });

  it('waits out 429 Retry-After and then sends the newest content', async () => {
    const { api, calls, failures } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 0 });
    const { ts } = await n.post('C1', { text: 'q' });
    failures.push(rateLimited(3));
    const p = n.update('C1', ts, { text: 'final' }, { final: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2999);
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(2);
    expect(n.stats.rateLimited).toBe(1);
  });

  it('a post that failed ambiguously (5xx) is retried only after findPosted says it did not land', async () => {
    const { api, calls, failures } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 0, baseBackoffMs: 100 });
    let looked = 0;
    failures.push(http5xx(503), http5xx(500));
    const posted = n.post('C1', { text: 'x' }, {}, { findPosted: async () => void looked++ });
    await vi.advanceTimersByTimeAsync(100 + 200);
    await expect(posted).resolves.toMatchObject({ channel: 'C1' });
    expect(calls.filter((c) => c.method === 'postMessage')).toHaveLength(3);
    expect(looked).toBe(2);

    // It had landed: that message is the answer, nothing is posted again.
    failures.push(http5xx(500));
    const found = n.post('C2', { text: 'x' }, {}, { findPosted: async () => ({ channel: 'C2', ts: '9.9' }) });
    await vi.advanceTimersByTimeAsync(100);
    await expect(found).resolves.toMatchObject({ channel: 'C2', ts: '9.9' });
    expect(calls.filter((c) => c.method === 'postMessage' && c.args.channel === 'C2')).toHaveLength(1);

    // Without a way to tell, a post is never retried blindly; nor when Slack cannot be asked.
    failures.push(http5xx(500));
    await expect(n.post('C3', { text: 'x' })).rejects.toMatchObject({ statusCode: 500 });
    failures.push(http5xx(500));
    const unknown = n.post('C4', { text: 'x' }, {}, { findPosted: async () => Promise.reject(new Error('missing_scope')) });
    const settled = expect(unknown).rejects.toMatchObject({ statusCode: 500 });
    await vi.advanceTimersByTimeAsync(100);
    await settled;
    expect(calls.filter((c) => c.method === 'postMessage' && (c.args.channel === 'C3' || c.args.channel === 'C4'))).toHaveLength(2);

    failures.push(platform('channel_not_found'));
    await expect(n.post('C9', { text: 'x' })).rejects.toThrow('channel_not_found');
  });

  it('reopens a message whose final edit failed, so it can be retried', async () => {
    const { api, calls, failures } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 0 });
    const { ts } = await n.post('C1', { text: 'q' });
    failures.push(platform('message_not_found'));
    const first = n.update('C1', ts, { text: 'final' }, { final: true });
    const settled = expect(first).rejects.toThrow('message_not_found');
    await vi.advanceTimersByTimeAsync(0);
    await settled;
    const second = n.update('C1', ts, { text: 'final' }, { final: true });
    await vi.advanceTimersByTimeAsync(0);
    await second;
    expect(calls.filter((c) => c.method === 'update')).toHaveLength(2);
  });

  describe('one budget for the workspace', () => {
    const small = { 'chat.update': { capacity: 4, refillPerSec: 1 }, 'chat.postMessage': { capacity: 3, refillPerSec: 1 } };

    it('all messages share one chat.update bucket: beyond its burst, edits go at its rate', async () => {
      const { api, updates } = scriptedApi();
      const n = new Notifier(api, { minIntervalMs: 0, finalMinIntervalMs: 0, budgets: small, maxFinalReserve: 0 });
      for (let i = 0; i < 8; i++) void n.update('C1', `1.${i}`, { text: `p${i}` });
      await vi.advanceTimersByTimeAsync(0);
      expect(updates()).toHaveLength(4);
      await vi.advanceTimersByTimeAsync(3999);
      expect(updates()).toHaveLength(7);
      await vi.advanceTimersByTimeAsync(1);
      expect(updates()).toHaveLength(8);
    });

    it('final results go first, and progress edits leave one token per message still awaiting its final', async () => {
      const { api, updates } = scriptedApi();
      const n = new Notifier(api, { minIntervalMs: 1000, budgets: small });
      const msgs = [];
      for (let i = 0; i < 3; i++) msgs.push((await n.post(`C${i}`, { text: 'queued' })).ts);
      expect(n.openMessages()).toBe(3);
      await vi.advanceTimersByTimeAsync(1000);
      // Each message wants a progress edit: only one goes (4 tokens, 3 kept for the finals).
      msgs.forEach((ts, i) => void n.update(`C${i}`, ts, { text: `progress ${i}` }));
      await vi.advanceTimersByTimeAsync(0);
      expect(updates().map((u) => u.args.text)).toEqual(['progress 0']);
      // The three finals arrive: they take the reserve at once, before the waiting progress edits.
      const finals = msgs.map((ts, i) => n.update(`C${i}`, ts, { text: `done ${i}` }, { final: true }));
      await vi.advanceTimersByTimeAsync(200);
      await Promise.all(finals);
      // Message 0 was edited a moment ago, so its final keeps the short spacing (200 ms) after it.
      expect(updates().map((u) => u.args.text)).toEqual(['progress 0', 'done 1', 'done 2', 'done 0']);
      expect(n.openMessages()).toBe(0);
      // The superseded progress edits are never sent.
      await vi.advanceTimersByTimeAsync(10_000);
      expect(updates()).toHaveLength(4);
    });

    it('coalesces progress while the bucket is empty: the latest state of each message is sent', async () => {
      const { api, updates } = scriptedApi();
      const n = new Notifier(api, { minIntervalMs: 0, budgets: { 'chat.update': { capacity: 1, refillPerSec: 1 } }, maxFinalReserve: 0 });
      void n.update('C1', '1.1', { text: 'a1' });
      for (let i = 1; i <= 5; i++) {
        void n.update('C1', '1.2', { text: `b${i}` });
        await vi.advanceTimersByTimeAsync(150);
      }
      await vi.advanceTimersByTimeAsync(1000);
      expect(updates().map((u) => u.args.text)).toEqual(['a1', 'b5']);
    });

    it('a 429 on chat.update pauses only chat.update, for Retry-After, and then sends the newest content', async () => {
      const { api, calls, updates } = scriptedApi((method, _args, nth) => {
        if (method === 'update' && nth === 1) throw rateLimited(2);
      });
      const n = new Notifier(api, { minIntervalMs: 0, budgets: small, maxFinalReserve: 0 });
      void n.update('C1', '1.1', { text: 'progress 1' });
      await vi.advanceTimersByTimeAsync(0);
      expect(updates()).toHaveLength(1);
      void n.update('C1', '1.1', { text: 'progress 2' });
      const other = n.update('C2', '1.2', { text: 'other' });
      // chat.postMessage and chat.postEphemeral are not held up by it.
      await n.post('C3', { text: 'hello' });
      await n.postEphemeral('C3', 'U1', { text: 'psst' });
      await vi.advanceTimersByTimeAsync(1999);
      expect(updates()).toHaveLength(1);
      expect(calls.map((c) => c.method)).toEqual(['update', 'postMessage', 'postEphemeral']);
      await vi.advanceTimersByTimeAsync(1);
      expect(updates()).toHaveLength(2); // the one call Retry-After promises, at 2 s sharp
      await vi.advanceTimersByTimeAsync(1250); // then the bucket's learned rate (0.8/s)
      await other;
      expect(
        updates()
          .slice(1)
          .map((u) => u.args.text)
          .sort(),
      ).toEqual(['other', 'progress 2']);
      expect(n.stats.rateLimited).toBe(1);
      expect(n.pacer.bucket('chat.update').learnedFactor).toBeLessThan(1);
    });

    it('chat.postMessage is paced per channel: a busy channel does not slow another', async () => {
      const { api, calls } = scriptedApi();
      const n = new Notifier(api, { budgets: small });
      const busy = Array.from({ length: 5 }, (_, i) => n.post('CBUSY', { text: `m${i}` }));
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toHaveLength(3);
      await n.post('CQUIET', { text: 'q' });
      expect(calls).toHaveLength(4);
      await vi.advanceTimersByTimeAsync(2000);
      await Promise.all(busy);
      expect(calls.filter((c) => c.args.channel === 'CBUSY').map((c) => c.at - calls[0]!.at)).toEqual([0, 0, 0, 1000, 2000]);
    });
  });

  describe('nothing is lost silently', () => {
    const pointer = '[ERROR] `action_id` "selftest_flare" already exists [json-pointer:/blocks/9/elements/2/action_id]';
    const result = {
      text: 'Self-test prod: 58/60 agents OK',
      blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'secret-looking detail' } }],
      metadata: { event_type: 'cws_selftest_result', event_payload: { ok: 58 } },
    };
    const howToGet = 'The full result is in the job record: job 42.';

    it('logs a refusal at warn with its json-pointers, not the content', async () => {
      const { logger, lines } = captureLogger();
      const { api } = scriptedApi((method) => {
        if (method === 'update') throw platform('invalid_blocks', [pointer]);
      });
      const n = new Notifier(api, { minIntervalMs: 0, logger });
      const p = n.update('C1', '1.1', result, { final: true });
      const settled = expect(p).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
      await vi.advanceTimersByTimeAsync(0);
      await settled;
      const warn = lines.find((l) => l.level === 'warn')!;
      expect(warn.obj).toEqual({ method: 'chat.update', error: 'invalid_blocks', pointers: [pointer], channel: 'C1', ts: '1.1' });
      expect(JSON.stringify(lines)).not.toContain('secret-looking');
      expect(n.stats.refused).toBe(1);
      expect(refusalOf(await p.catch((e: unknown) => e))).toEqual({ error: 'invalid_blocks', pointers: [pointer] });
    });

    it('a refused final edit is replaced by a plain fallback: its text, what was not shown, where the rest is; metadata kept', async () => {
      const { api, updates } = scriptedApi((method, args) => {
        if (method === 'update' && args.blocks) throw platform('invalid_blocks', [pointer]);
      });
      const n = new Notifier(api, { minIntervalMs: 0 });
      const p = n.update('C1', '1.1', result, { final: true, fallback: { howToGet } });
      await vi.advanceTimersByTimeAsync(500);
      await expect(p).resolves.toBe('fallback');
      const sent = updates()[1]!.args;
      expect(sent.blocks).toBeUndefined();
      expect(sent.metadata).toEqual(result.metadata);
      expect(sent.text).toMatch(/^Self-test prod: 58\/60 agents OK\n/);
      expect(sent.text).toContain('`invalid_blocks`');
      expect(sent.text).toContain('details and buttons');
      expect(sent.text).toContain(howToGet);
      expect(n.stats.fallbacks).toBe(1);
      // The message is closed: later progress does not overwrite the fallback.
      void n.update('C1', '1.1', { text: 'late progress' });
      await vi.advanceTimersByTimeAsync(2000);
      expect(updates()).toHaveLength(2);
    });

    it('drops the metadata from the fallback when the metadata was the cause', () => {
      const fb = plainFallback(result, { error: 'invalid_metadata_format' }, { howToGet });
      expect(fb.metadata).toBeUndefined();
      expect(fb.blocks).toBeUndefined();
      expect(fb.text).toContain('metadata');
      expect(plainFallback(result, { error: 'msg_too_long' }, { howToGet }).metadata).toEqual(result.metadata);
      expect(plainFallback({ text: 'x'.repeat(5000) }, { error: 'msg_too_long' }, { howToGet }).text.length).toBeLessThan(3300);
    });

    it('a refused post falls back too, and a refused fallback is reported, not retried forever', async () => {
      const { api, calls } = scriptedApi((method, args) => {
        if (method === 'postMessage' && args.blocks) throw platform('msg_blocks_too_long');
        if (method === 'update') throw platform('invalid_metadata_format');
      });
      const n = new Notifier(api, { minIntervalMs: 0 });
      const posted = await n.post('C1', result, {}, { final: true, fallback: { howToGet } });
      expect(posted.delivery).toBe('fallback');
      expect(calls.map((c) => c.method)).toEqual(['postMessage', 'postMessage']);
      expect(calls[1]!.args.blocks).toBeUndefined();

      const p = n.update('C1', '1.9', result, { final: true, fallback: { howToGet } });
      const settled = expect(p).rejects.toThrow('invalid_metadata_format');
      await vi.advanceTimersByTimeAsync(1000);
      await settled;
      expect(calls.filter((c) => c.method === 'update')).toHaveLength(2); // the edit, then its fallback
      await vi.advanceTimersByTimeAsync(10_000);
      expect(calls.filter((c) => c.method === 'update')).toHaveLength(2);
    });

    it('message_not_found / channel errors reach the caller (they decide: post anew, or log)', async () => {
      for (const code of ['message_not_found', 'cant_update_message', 'not_in_channel', 'is_archived']) {
        const { api, updates } = scriptedApi(() => {
          throw platform(code);
        });
        const n = new Notifier(api, { minIntervalMs: 0 });
        const p = n.update('C1', '1.1', result, { final: true, fallback: { howToGet } });
        const settled = expect(p).rejects.toMatchObject({ data: { error: code } });
        await vi.advanceTimersByTimeAsync(0);
        await settled;
        expect(updates()).toHaveLength(1); // no fallback for these: it would fail the same way
        expect(n.openMessages()).toBe(0); // and the message no longer holds budget for a final edit
      }
    });
  });
});

describe('JobUpdates: the final result is never lost silently', () => {
  const record = { jobId: 'rs-7', kind: 'restart-agent' as const, cluster: 'prod', node: 'node-1', requestedBy: 'U1', channel: 'C1' };
  const returnvalue = { kind: 'restart-agent', cluster: 'prod', node: 'node-1', before: { pod: 'agent-a' }, after: { pod: 'agent-b' }, status: 'restarted' };

  /** In-memory stand-ins for Redis (tracker), BullMQ (producer) and the audit log, shared by "replicas". */
  function world() {
    const claims = new Set<string>();
    const messages = [{ channel: 'C1', ts: '1.1' }];
    const audits: unknown[] = [];
    let open = true;
    const tracker = {
      getRecord: async () => record,
      messages: async () => [...messages],
      wanted: async () => ['C1'],
      want: async () => {},
      claimFinal: async (_j: string, ts: string) => (claims.has(ts) ? false : (claims.add(ts), true)),
      releaseFinal: async (_j: string, ts: string) => void claims.delete(ts),
      addMessage: async (_j: string, m: { channel: string; ts: string }) => void messages.push(m),
      close: async () => {
        const was = open;
        open = false;
        return was;
      },
    } as unknown as JobTracker;
    const producer = { queue: () => ({ getJobState: async () => 'completed' }), getJob: async () => ({ returnvalue }) } as unknown as JobProducer;
    const audit = { append: async (e: unknown) => void audits.push(e) } as unknown as AuditLog;
    const replica = (api: ChatApi) => {
      const { logger, lines } = captureLogger();
      const notifier = new Notifier(api, { minIntervalMs: 0, baseBackoffMs: 1, maxRetries: 1, logger });
      const history = { conversations: { history: async () => ({ messages: [] }), replies: async () => ({ messages: [] }) } };
      const updates = new JobUpdates({
        connection: {},
        clusters: ['prod'],
        producer,
        tracker,
        notifier,
        audit,
        logger,
        messages: new JobMessages({ tracker, notifier, history, logger }),
      });
      return { updates, lines };
    };
    return { claims, messages, audits, replica, isOpen: () => open };
  }

  it('a deleted message: the result is posted anew in its channel, once across replicas, and tracked', async () => {
    const w = world();
    const slack = scriptedApi((method) => {
      if (method === 'update') throw platform('message_not_found');
    });
    const a = w.replica(slack.api);
    const b = w.replica(slack.api);
    await Promise.all([a.updates.finish('rs-7'), b.updates.finish('rs-7'), a.updates.finish('rs-7')]);
    await b.updates.finish('rs-7'); // a later reconcile
    const posts = slack.calls.filter((c) => c.method === 'postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.args.channel).toBe('C1');
    expect(String(posts[0]!.args.text)).toMatch(/node-1/);
    expect(w.messages).toEqual([
      { channel: 'C1', ts: '1.1' },
      { channel: 'C1', ts: '2.1' },
    ]);
    expect(w.claims.has('2.1')).toBe(true); // the new message is not edited again
    expect(slack.updates()).toHaveLength(1);
    expect(w.isOpen()).toBe(false);
    expect(w.audits).toHaveLength(1);
    expect([...a.lines, ...b.lines].find((l) => l.msg.includes('posted the result anew'))!.obj).toMatchObject({
      jobId: 'rs-7',
      error: 'message_not_found',
      newTs: '2.1',
    });
  });

  it('cant_update_message is handled the same way', async () => {
    const w = world();
    const slack = scriptedApi((method) => {
      if (method === 'update') throw platform('cant_update_message');
    });
    await w.replica(slack.api).updates.finish('rs-7');
    expect(slack.calls.map((c) => c.method)).toEqual(['update', 'postMessage']);
  });

  it('refused blocks: a plain fallback with the job ID takes the message’s place, and the job closes', async () => {
    const w = world();
    const slack = scriptedApi((method, args) => {
      if (method === 'update' && args.blocks)
        throw platform('invalid_blocks', ['[ERROR] `action_id` "x" already exists [json-pointer:/blocks/1/elements/1/action_id]']);
    });
    const r = w.replica(slack.api);
    await r.updates.finish('rs-7');
    const [refused, fallback] = slack.updates();
    expect(refused!.args.blocks).toBeDefined();
    expect(fallback!.args.blocks).toBeUndefined();
    expect(String(fallback!.args.text)).toContain('The full result is in the job record: `/cws status rs-7`.');
    expect(String(fallback!.args.text)).toContain('`invalid_blocks`');
    expect(r.lines.find((l) => l.level === 'warn')!.obj).toMatchObject({
      error: 'invalid_blocks',
      pointers: [expect.stringContaining('json-pointer:/blocks/1/elements/1/action_id')],
    });
    expect(w.isOpen()).toBe(false);
  });

  it('not_in_channel / is_archived: nothing more can be posted there; logged with the job ID, not retried forever', async () => {
    for (const code of ['not_in_channel', 'channel_not_found', 'is_archived']) {
      const w = world();
      const slack = scriptedApi(() => {
        throw platform(code);
      });
      const r = w.replica(slack.api);
      await r.updates.finish('rs-7');
      await r.updates.finish('rs-7');
      expect(slack.calls).toHaveLength(1);
      expect(r.lines.find((l) => l.msg.includes('cannot be shown in Slack'))!.obj).toMatchObject({ jobId: 'rs-7', channel: 'C1', error: code });
      expect(w.isOpen()).toBe(false);
    }
  });

  it('a deleted message in a channel the bot has since left: logged, not retried', async () => {
    const w = world();
    const slack = scriptedApi((method) => {
      throw platform(method === 'update' ? 'message_not_found' : 'not_in_channel');
    });
    const r = w.replica(slack.api);
    await r.updates.finish('rs-7');
    await r.updates.finish('rs-7');
    expect(slack.calls.map((c) => c.method)).toEqual(['update', 'postMessage']);
    expect(r.lines.find((l) => l.msg.includes('cannot be shown in Slack'))!.obj).toMatchObject({ jobId: 'rs-7', error: 'not_in_channel' });
  });

  it('a transient failure releases the claim: a later pass posts the result', async () => {
    const w = world();
    let down = true;
    const slack = scriptedApi((method) => {
      if (down && method === 'update') throw http5xx(503);
    });
    const r = w.replica(slack.api);
    await r.updates.finish('rs-7');
    expect(w.isOpen()).toBe(true);
    expect(w.claims.has('1.1')).toBe(false);
    down = false;
    await r.updates.finish('rs-7');
    expect(w.isOpen()).toBe(false);
    expect(slack.updates().length).toBe(3); // 1 + 1 retry, then the later pass
  });
});

describe('JobUpdates: a parent whose child vanished from Redis (lostChildren)', () => {
  const record = { jobId: 'st-1', kind: 'selftest' as const, cluster: 'prod', requestedBy: 'U1', channel: 'C1' };
  const CHILD = 'bull:{cws.prod}:st-1.b0';

  /** A waiting-children parent with one child, whose key is gone; `listedAgain` is the second SSCAN's answer. */
  function updatesWith(listedAgain: string[]) {
    const scans = [[CHILD], listedAgain];
    const job = {
      id: 'st-1',
      getDependenciesCount: async () => ({ unprocessed: 1, processed: 0 }),
      getDependencies: async () => ({ unprocessed: scans.shift() ?? [], nextUnprocessedCursor: 0 }),
      remove: async () => {},
    };
    const producer = {
      queue: () => ({ getJobState: async () => 'waiting-children', backend: { client: Promise.resolve({ hexists: async () => 0 }) } }),
      getJob: async () => job,
    } as unknown as JobProducer;
    const tracker = {
      getRecord: async () => record,
      messages: async () => [{ channel: 'C1', ts: '1.1' }],
      wanted: async () => ['C1'],
      claimFinal: async () => true,
      isFinal: async () => false,
      getLive: async () => undefined,
      close: async () => true,
    } as unknown as JobTracker;
    const { logger } = captureLogger();
    const slack = scriptedApi();
    const notifier = new Notifier(slack.api, { minIntervalMs: 0, baseBackoffMs: 1, maxRetries: 1, logger });
    const history = { conversations: { history: async () => ({ messages: [] }), replies: async () => ({ messages: [] }) } };
    const audit = { append: async () => {} } as unknown as AuditLog;
    const updates = new JobUpdates({
      connection: {},
      clusters: ['prod'],
      producer,
      tracker,
      notifier,
      audit,
      logger,
      messages: new JobMessages({ tracker, notifier, history, logger }),
    });
    return { updates, slack };
  }

  it('a child that finished between the listing and the key check (gone, no longer listed) is not lost: the parent still waits', async () => {
    const { updates, slack } = updatesWith([]);
    expect(await updates.finish('st-1')).toBe(false);
    expect(slack.calls).toHaveLength(0);
  });

  it('a child gone and still listed is lost: the self-test ends saying so', async () => {
    const { updates, slack } = updatesWith([CHILD]);
    expect(await updates.finish('st-1')).toBe(true);
    expect(String(slack.updates()[0]?.args.text)).toMatch(/1 of its 1 parts vanished from Redis/);
  });
});
