/**
 * Holding work does not block doing work (issue 15): flares waiting for review hold no job slot,
 * so with more open reviews than the worker has slots a self-test still runs at once; open
 * flares are bounded per user and per cluster, refused ephemerally past the limit; and open
 * reviews open no Redis connections of their own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-flare-cap-'));
let sim: Simulator;
let h: Harness;

const reviewOf = (c: string) => (e: Harness['emu']) =>
  e.messages(c).find((m) => m.metadata?.event_type === 'cws_flare_result' && m.metadata.event_payload.stage === 'review');

beforeAll(async () => {
  sim = await startSimulator({ fleet: parseFleet('name: cap\nnodes:\n  count: 8\n', 'capacity fleet') });
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  h = await startHarness({
    // 2 work slots; up to 6 open flares on the cluster, 5 per user.
    clustersYaml: `clusters:\n  cap: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, concurrency: 2, flare: { maxOpen: 6, maxOpenPerUser: 5 } }\n`,
    minIntervalMs: 100,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function clients(): Promise<number> {
  const r = new Redis(h.redis.url);
  const list = String(await r.client('LIST'));
  r.disconnect();
  return list.trim().split('\n').length - 1; // not counting this one
}

describe('open flare reviews', () => {
  it('hold no job slot and no connection: 6 reviews open on 2 work slots, and a self-test still runs', async () => {
    const before = await clients();
    const open: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const c = `CCAP${i}`;
      await h.signer.command(`flare cap --node node-${i} 100${i} --email ops@example.com`, { channelId: c, userId: i <= 5 ? 'UCAPA001' : 'UCAPB001' });
      await h.emu.waitFor(reviewOf(c), { timeoutMs: 45_000 });
      open.push(c);
    }
    // Reviews polled on the worker's shared client: no connection per review.
    expect(await clients()).toBeLessThanOrEqual(before + 1);

    await h.signer.command('selftest cap', { channelId: 'CCAPST', userId: 'UCAPC001' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CCAPST'), { timeoutMs: 45_000 });
    expect(final.metadata!.event_payload).toMatchObject({ total: 8, ok: 8 });

    // Past the limits: refused ephemerally, nothing started.
    const mine = await h.signer.command('flare cap --node node-7 1007 --email ops@example.com', { channelId: 'CCAPX', userId: 'UCAPA001' });
    expect(mine.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/You already have 5 flares open on cap/) });
    const theirs = await h.signer.command('flare cap --node node-8 1008 --email ops@example.com', { channelId: 'CCAPX', userId: 'UCAPD001' });
    expect(theirs.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/cap already has 6 flares open/) });
    expect(h.emu.messages('CCAPX').filter((m) => !m.ephemeral)).toHaveLength(0);

    // Cancelling one frees its place.
    const first = h.emu.messages('CCAP1').find((m) => m.metadata?.event_type === 'cws_flare_result')!;
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(first.metadata!.event_payload.jobId),
      userId: 'UCAPA001',
      channelId: 'CCAP1',
      messageTs: first.ts,
    });
    await h.emu.waitFor((e) => e.messages('CCAP1').find((m) => m.metadata?.event_payload.stage === 'cancelled'), { timeoutMs: 45_000 });
    const again = await h.signer.command('flare cap --node node-8 1009 --email ops@example.com', { channelId: 'CCAPY', userId: 'UCAPD001' });
    expect(again.json).toBeUndefined();
    await h.emu.waitFor(reviewOf('CCAPY'), { timeoutMs: 45_000 });
  }, 240_000);
});
