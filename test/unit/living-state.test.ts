/**
 * The bot's side of living messages (src/bot/living.ts) over an in-memory tracker: a follow-up's
 * start never overwrites its end (a quick job may end before its start is written), the result's
 * messages are amended (never the ephemeral ones), a stale click finds what happened, and the
 * one details reply of a thread is posted once then edited.
 */
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { alreadyDone, followUpsOf, noteFollowUp, rememberResult, showDetails } from '../../src/bot/living.ts';
import type { Notifier } from '../../src/bot/notifier.ts';
import type { JobTracker } from '../../src/bot/state/tracker.ts';
import type { ChatMessage } from '../../src/core/slack/message.ts';

const NC = 'nc-00000000-0000-4000-8000-000000000001';
const RM = 'rm-00000000-0000-4000-8000-000000000002';

function world() {
  const live = new Map<string, unknown>();
  const followUps = new Map<string, Map<string, string>>();
  const replies = new Map<string, string>();
  const checked = new Map<string, number>();
  const tracker = {
    saveLive: async (id: string, m: unknown) => void live.set(id, JSON.parse(JSON.stringify(m))),
    getLive: async (id: string) => live.get(id),
    saveFollowUp: async (id: string, f: string, entry: unknown, o: { ifAbsent?: boolean } = {}) => {
      const h = followUps.get(id) ?? new Map<string, string>();
      followUps.set(id, h);
      if (!o.ifAbsent || !h.has(f)) h.set(f, JSON.stringify(entry));
    },
    getFollowUps: async (id: string) => [...(followUps.get(id)?.values() ?? [])].map((v) => JSON.parse(v) as unknown),
    saveLastChecked: async (id: string, ms: number) => void checked.set(id, ms),
    getLastChecked: async (id: string) => checked.get(id),
    messages: async () => [
      { channel: 'C1', ts: '1.1' },
      { channel: 'C2', ts: 'ephemeral:U1' },
    ],
    getThreadReply: async (c: string, root: string) => replies.get(`${c}:${root}`),
    saveThreadReply: async (c: string, root: string, ts: string) => void replies.set(`${c}:${root}`, ts),
  } as unknown as JobTracker;
  const updates: { channel: string; ts: string; message: ChatMessage; opts: Record<string, unknown> }[] = [];
  const posts: { channel: string; message: ChatMessage; extra: Record<string, unknown> }[] = [];
  const notifier = {
    update: async (channel: string, ts: string, message: ChatMessage, opts: Record<string, unknown>) => (updates.push({ channel, ts, message, opts }), 'sent'),
    post: async (channel: string, message: ChatMessage, extra: Record<string, unknown>) => (
      posts.push({ channel, message, extra }),
      { channel, ts: `9.${posts.length}` }
    ),
  } as unknown as Notifier;
  const logger = { warn: () => {} } as unknown as Logger;
  return { d: { tracker, notifier, logger }, updates, posts };
}

const report: ChatMessage = {
  text: 'Netcheck prod: broken',
  blocks: [
    { type: 'section', block_id: 'verdict', text: { type: 'mrkdwn', text: ':red_circle: *Broken*' } },
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'netcheck.remediate:0',
          text: { type: 'plain_text', text: 'Disable network detections' },
          value: `${NC}|disable_network_detections`,
        },
      ],
    },
    { type: 'context', block_id: 'footer', elements: [{ type: 'mrkdwn', text: 'job nc-00000000' }] },
  ],
  metadata: { event_type: 'cws_netcheck_result', event_payload: { jobId: NC } },
};

describe('follow-ups of a result', () => {
  it('an end written before its start stays the end; the result is amended where it shows, ephemeral copies left alone', async () => {
    const w = world();
    await rememberResult(w.d.tracker, NC, report);
    const base = { jobId: RM, action: 'disable_network_detections' as const, by: 'UALICE' };
    await noteFollowUp(w.d, NC, { ...base, startedAt: 2_000, endedAt: 2_000, state: 'done' });
    await noteFollowUp(w.d, NC, { ...base, startedAt: 1_000, state: 'running' });
    expect(await followUpsOf(w.d.tracker, NC)).toEqual([{ ...base, startedAt: 2_000, endedAt: 2_000, state: 'done' }]);
    expect(w.updates.map((u) => `${u.channel}/${u.ts}`)).toEqual(['C1/1.1', 'C1/1.1']);
    expect(w.updates.every((u) => u.opts.amend === true)).toBe(true);
    const last = JSON.stringify(w.updates.at(-1)!.message.blocks);
    expect(last).not.toContain('netcheck.remediate:0');
    expect(last).toContain('Network detections disabled by <@UALICE>');
    expect(w.updates.at(-1)!.message.metadata).toEqual(report.metadata);
  });

  it('a start then its end: the end keeps when it started and who started it', async () => {
    const w = world();
    await rememberResult(w.d.tracker, NC, report);
    const base = { jobId: RM, action: 'disable_network_detections' as const };
    await noteFollowUp(w.d, NC, { ...base, by: 'UALICE', startedAt: 1_000, state: 'running' });
    await noteFollowUp(w.d, NC, { ...base, by: 'UAPPROVER', startedAt: 5_000, endedAt: 5_000, state: 'done' });
    expect(await followUpsOf(w.d.tracker, NC)).toEqual([{ ...base, by: 'UALICE', startedAt: 1_000, endedAt: 5_000, state: 'done' }]);
  });

  it('a stale click finds what was done (a failed one does not block a new try)', async () => {
    const w = world();
    await noteFollowUp(w.d, NC, { jobId: 'a', action: 'disable_cws', by: 'U1', startedAt: 1, state: 'failed' });
    expect(await alreadyDone(w.d.tracker, NC, (f) => f.action === 'disable_cws')).toBeUndefined();
    await noteFollowUp(w.d, NC, { jobId: 'b', action: 'disable_cws', by: 'U2', startedAt: 2, state: 'running' });
    expect(await alreadyDone(w.d.tracker, NC, (f) => f.action === 'disable_cws')).toMatchObject({ jobId: 'b', by: 'U2' });
  });

  it('a result stored later shows the follow-ups already recorded (rendered again, e.g. by /cws status)', async () => {
    const w = world();
    await noteFollowUp(w.d, NC, { jobId: RM, action: 'disable_network_detections', by: 'UALICE', startedAt: 1, endedAt: 2, state: 'done' });
    const shown = await rememberResult(w.d.tracker, NC, report);
    expect(JSON.stringify(shown.blocks)).toContain('Network detections disabled by <@UALICE>');
  });
});

describe('the details reply of a thread', () => {
  it('is posted once in the thread, then edited by the next result there', async () => {
    const w = world();
    await showDetails(w.d, { channel: 'C1', rootTs: '1.1', jobId: 'st-1' }, { text: 'first list' });
    await showDetails(w.d, { channel: 'C1', rootTs: '1.1', jobId: 'st-2' }, { text: 'second list' });
    expect(w.posts).toEqual([{ channel: 'C1', message: { text: 'first list' }, extra: { thread_ts: '1.1' } }]);
    expect(w.updates).toMatchObject([{ channel: 'C1', ts: '9.1', message: { text: 'second list' }, opts: { amend: true } }]);
  });
});
