/**
 * End to end: Slack refuses the final edit of a self-test because its message was deleted
 * (chat.delete before the result): the bot posts the result anew in that channel, once, and
 * tracks the new message — later reconciles neither edit nor post it again.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_TOKEN, finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const FAKE = join(import.meta.dirname, '../support/fake-agent/security-agent');
let dir: string;
let h: Harness;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cws-refusals-'));
  copyFileSync(FAKE, join(dir, 'security-agent'));
  writeFileSync(join(dir, 'selftest-mode'), 'slow\n'); // OK after 1.5 s: time to delete the message
  h = await startHarness({ clustersYaml: `clusters:\n  host-slow: { kind: host, binary: ${join(dir, 'security-agent')} }\n`, minIntervalMs: 200 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function slack(method: string, args: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(`${h.emu.url}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(args),
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('a final result Slack refuses to edit in', () => {
  it('is posted anew, once, when its message was deleted before the result', async () => {
    const ch = 'CDELETED1';
    await h.signer.command('selftest host-slow', { channelId: ch, userId: 'UTESTER1' });
    const queued = await h.emu.waitFor((e) => e.messages(ch)[0]);
    expect(await slack('chat.delete', { channel: ch, ts: queued.ts })).toMatchObject({ ok: true });

    const final = await h.emu.waitFor((e) => finalSelftest(e, ch), { timeoutMs: 15_000 });
    expect(final.ts).not.toBe(queued.ts);
    expect(final.text).toBe('Self-test host-slow: 1/1 agents OK');
    const refused = h.emu.callsTo('chat.update').filter((c) => c.args.channel === ch && c.args.ts === queued.ts && c.args.metadata !== undefined);
    expect(refused.length).toBeGreaterThanOrEqual(1); // the final edit was tried, and refused

    const jobId = String(final.metadata!.event_payload.jobId);
    // Tracked right after it is posted (and claimed, so no pass edits it as a progress message).
    let tracked = await h.bot.services.tracker.messages(jobId);
    for (let i = 0; i < 100 && tracked.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      tracked = await h.bot.services.tracker.messages(jobId);
    }
    expect(tracked.map((m) => m.ts)).toEqual([queued.ts, final.ts]);
    expect(await h.bot.services.tracker.isFinal(jobId, final.ts)).toBe(true);

    // Reconciles (this replica or another) do not post it again, nor edit the new message.
    const callsBefore = h.emu.calls.length;
    await h.bot.reconcile();
    await h.bot.services.results.finish(jobId);
    await new Promise((r) => setTimeout(r, 500));
    const later = h.emu.calls.slice(callsBefore).filter((c) => c.method.startsWith('chat.') && c.args.channel === ch);
    expect(later).toEqual([]);
    expect(h.emu.messages(ch).filter((m) => m.metadata?.event_type === 'cws_selftest_result')).toHaveLength(1);
  });
});
