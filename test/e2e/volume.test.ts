/**
 * Volume is bounded (issue 15): commands per user and per cluster are limited per window, the
 * refusal is ephemeral, says when to retry, starts nothing and is audited.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_STREAM } from '../../src/bot/state/audit.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-volume-'));
let h: Harness;

beforeAll(async () => {
  copyFileSync(join(import.meta.dirname, '../support/fake-agent/security-agent'), join(dir, 'security-agent'));
  writeFileSync(join(dir, 'selftest-mode'), 'ok\n');
  h = await startHarness({
    clustersYaml: `
limits: { perUser: { commands: 3, windowSec: 60 }, perCluster: { commands: 5, windowSec: 60 } }
clusters:
  vol: { kind: host, binary: ${join(dir, 'security-agent')} }
  other: { kind: host, binary: ${join(dir, 'security-agent')} }
`,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const queued = () => h.emu.callsTo('chat.postMessage').filter((c) => c.status === 200).length;

describe('command limits', () => {
  it('a user past the per-user limit is told when to retry, ephemerally, and nothing starts', async () => {
    for (let i = 0; i < 3; i++) expect((await h.signer.command('selftest vol', { channelId: `CVOL${i}`, userId: 'UBUSY001' })).json).toBeUndefined();
    await h.emu.waitFor(() => queued() === 3 || undefined);
    const res = await h.signer.command('selftest vol', { channelId: 'CVOL9', userId: 'UBUSY001' });
    expect(res.json).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(/You have started 3 commands in the last 60 s.*Try again in \d+ s/s),
    });
    expect(h.emu.messages('CVOL9')).toHaveLength(0);
    // Another cluster counts against the same user.
    expect((await h.signer.command('netcheck other', { channelId: 'CVOL9', userId: 'UBUSY001' })).json).toMatchObject({
      text: expect.stringMatching(/Try again in/),
    });
    const r = new Redis(h.redis.url);
    const audit = await r.xrange(AUDIT_STREAM, '-', '+');
    r.disconnect();
    expect(audit.filter(([, f]) => f.includes('rate limited (user)')).length).toBe(2);
  });

  it('a cluster past its limit refuses everyone until its window ends', async () => {
    expect((await h.signer.command('selftest vol', { channelId: 'CVOLB1', userId: 'UOTHER01' })).json).toBeUndefined();
    expect((await h.signer.command('selftest vol', { channelId: 'CVOLB2', userId: 'UOTHER01' })).json).toBeUndefined();
    const res = await h.signer.command('selftest vol', { channelId: 'CVOLB3', userId: 'UOTHER02' });
    expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/vol has started 5 commands in the last 60 s/) });
    // Other clusters are not limited by it.
    expect((await h.signer.command('selftest other', { channelId: 'CVOLB4', userId: 'UOTHER02' })).json).toBeUndefined();
  });
});
