import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ChatApi, Notifier } from '../../src/slack/notifier.ts';

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
const platform = (error: string) => Object.assign(new Error(error), { code: 'slack_webapi_platform_error', data: { ok: false, error } });

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

  it('retries 5xx with backoff, gives up on platform errors', async () => {
    const { api, calls, failures } = fakeApi();
    const n = new Notifier(api, { minIntervalMs: 0, baseBackoffMs: 100 });
    failures.push(http5xx(503), http5xx(500));
    const posted = n.post('C1', { text: 'x' });
    await vi.advanceTimersByTimeAsync(100 + 200);
    await expect(posted).resolves.toMatchObject({ channel: 'C1' });
    expect(calls.filter((c) => c.method === 'postMessage')).toHaveLength(3);

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
});
