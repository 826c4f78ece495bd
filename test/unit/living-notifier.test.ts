/**
 * The notifier's `amend` (issue 17, living messages): a message that took its final edit drops
 * later progress edits, but an amendment (a button replaced by its outcome) is still sent, and
 * itself closes the message again.
 */
import { describe, expect, it } from 'vitest';
import { type ChatApi, Notifier } from '../../src/bot/notifier.ts';

function api() {
  const updates: Record<string, unknown>[] = [];
  const chat: ChatApi = {
    chat: {
      postMessage: async (args) => ({ ok: true, ts: '1.1', channel: args.channel as string }),
      update: async (args) => (updates.push(args), { ok: true }),
      postEphemeral: async () => ({ ok: true }),
    },
  };
  return { chat, updates };
}

describe('amending a final message', () => {
  it('is sent after the final edit, where a progress edit is dropped; later progress is dropped again', async () => {
    const { chat, updates } = api();
    const n = new Notifier(chat, { minIntervalMs: 10, finalMinIntervalMs: 1 });
    await n.update('C1', '1.1', { text: 'final' }, { final: true });
    await n.update('C1', '1.1', { text: 'late progress' });
    await n.update('C1', '1.1', { text: 'amended' }, { amend: true });
    await n.update('C1', '1.1', { text: 'later progress' });
    expect(updates.map((u) => u.text)).toEqual(['final', 'amended']);
  });

  it('replaces a final edit still waiting (the amendment is built from it), and is sent once', async () => {
    const { chat, updates } = api();
    const n = new Notifier(chat, { minIntervalMs: 10, finalMinIntervalMs: 1 });
    const a = n.update('C1', '1.1', { text: 'final' }, { final: true });
    const b = n.update('C1', '1.1', { text: 'final, amended' }, { amend: true });
    await Promise.all([a, b]);
    expect(updates.map((u) => u.text)).toEqual(['final, amended']);
  });
});
