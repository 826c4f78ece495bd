/**
 * Redis goes away: the slash command is still acked within Slack's 3 s with an ephemeral
 * message that says what failed and what to do; once Redis is back, commands work again
 * and nothing queued before the outage is lost (appendonly).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-outage-'));
copyFileSync(join(import.meta.dirname, '../support/fake-agent/security-agent'), join(dir, 'security-agent'));
writeFileSync(join(dir, 'selftest-mode'), 'ok\n');

const suite = process.env.REDIS_URL ? describe.skip : describe;
if (process.env.REDIS_URL) console.warn('[redis-outage] skipped: REDIS_URL is set, so the test cannot kill its Redis');

suite('Redis outage', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clustersYaml: `clusters:\n  outage-a: { kind: host, binary: ${dir}/security-agent }\n`, minIntervalMs: 100 });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('acks with an actionable message while Redis is down, and recovers after', async () => {
    await h.redis.kill();
    const res = await h.signer.command('selftest outage-a', { channelId: 'COUT1' });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    expect(res.json).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(/Could not queue the self-test on `?outage-a`?.*Nothing was started/s),
    });
    expect(h.emu.messages('COUT1')).toHaveLength(0);

    await h.redis.restart();
    await h.bot.redisReady(); // the connections come back by themselves
    const again = await h.signer.command('selftest outage-a', { channelId: 'COUT2' });
    expect(again.json).toBeUndefined(); // an empty ack: the answer goes to the channel
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'COUT2'), { timeoutMs: 20_000 });
    expect(final?.metadata?.event_payload).toMatchObject({ ok: 1, total: 1 });
  });
});
