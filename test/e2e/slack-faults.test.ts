/**
 * Exactly one result per job whatever Slack does (issue 15): a storm of 429s, then 5xx, then
 * posts that Slack applies but answers 500 — every job ends with one message in its channel,
 * holding its final result, and nothing else. A `--node` naming a node without an agent is
 * answered privately, and a command joining a job already shown in the channel gets a link.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-faults-'));
let h: Harness;
let sim: Simulator;

function agent(mode: string): string {
  const d = mkdtempSync(join(dir, 'agent-'));
  copyFileSync(join(import.meta.dirname, '../support/fake-agent/security-agent'), join(d, 'security-agent'));
  writeFileSync(join(d, 'selftest-mode'), `${mode}\n`);
  return join(d, 'security-agent');
}

beforeAll(async () => {
  sim = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/small.yaml')) });
  const kc = join(dir, 'small.kubeconfig');
  await sim.writeKubeconfig(kc);
  h = await startHarness({
    clustersYaml: `
clusters:
  f-ok: { kind: host, binary: ${agent('ok')} }
  f-slow: { kind: host, binary: ${agent('slow')} }
  small: { kind: kubernetes, kubeconfig: ${kc}, context: small }
`,
    minIntervalMs: 200,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Slack failing while jobs run', () => {
  it('429 storm, then 5xx, then posts applied but answered 500: one message per job, with its result, nothing twice', async () => {
    h.emu.failNext('chat.postMessage', { status: 429, retryAfterSec: 1 }, 6);
    h.emu.failNext('chat.postMessage', { status: 500 }, 12);
    h.emu.failNext('chat.postMessage', { status: 500, afterApplying: true }, 3);
    h.emu.failNext('chat.update', { status: 503 }, 6);
    const channels = Array.from({ length: 7 }, (_, i) => `CFAULT${i}`);
    for (const c of channels) expect((await h.signer.command('selftest f-ok', { channelId: c, userId: `UFAULT0${c.slice(-1)}` })).status).toBe(200);
    for (const c of channels) await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 45_000 });
    for (const c of channels) {
      const msgs = h.emu.messages(c).filter((m) => !m.ephemeral);
      expect(msgs, c).toHaveLength(1);
      expect(msgs[0]!.metadata!.event_type).toBe('cws_selftest_result');
    }
    // Each applied-then-500 post was found again in the channel's history rather than sent twice.
    expect(h.emu.callsTo('conversations.history').length).toBeGreaterThan(0);
    expect(h.emu.callsTo('chat.postMessage').filter((c) => c.status === 500).length).toBe(15);
  }, 60_000);

  it('the last retry of a post lands although Slack answers 500: found again later, not posted twice', async () => {
    // 1 try + 4 retries (the harness notifier's default): the 5th is applied, then answered 500.
    h.emu.failNext('chat.postMessage', { status: 500 }, 4);
    h.emu.failNext('chat.postMessage', { status: 500, afterApplying: true }, 1);
    await h.signer.command('selftest f-ok', { channelId: 'CFAULTL', userId: 'UFAULTL1' });
    await h.emu.waitFor((e) => finalSelftest(e, 'CFAULTL'), { timeoutMs: 45_000 });
    expect(h.emu.messages('CFAULTL').filter((m) => !m.ephemeral)).toHaveLength(1);
  }, 60_000);

  it('--node naming a node without an agent is answered privately; the channel gets nothing', async () => {
    await h.signer.command('selftest small --node node-99', { channelId: 'CNODE99', userId: 'UNODE099' });
    const e = await h.emu.waitFor((x) => x.messages('CNODE99').find((m) => m.ephemeral && m.user === 'UNODE099'), { timeoutMs: 20_000 });
    expect(e.text).toMatch(/No agent on node node-99 in small/);
    expect(h.emu.messages('CNODE99').filter((m) => !m.ephemeral)).toHaveLength(0);
    // A node that has one gets its result in the channel, as before.
    await h.signer.command('selftest small --node node-2', { channelId: 'CNODE2', userId: 'UNODE099' });
    const final = await h.emu.waitFor((x) => finalSelftest(x, 'CNODE2'), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({ total: 1 });
    expect(h.emu.messages('CNODE2').filter((m) => !m.ephemeral)).toHaveLength(1);
  });

  it('a command joining a job already shown in this channel gets a link, privately, not a new message', async () => {
    await h.signer.command('selftest f-slow', { channelId: 'CJOIN1', userId: 'UJOIN001' });
    await h.emu.waitFor((e) => e.messages('CJOIN1').length === 1 || undefined);
    await h.signer.command('selftest f-slow', { channelId: 'CJOIN1', userId: 'UJOIN002' });
    const said = await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /already running/.test(String(c.args.text))));
    expect(String(said.args.text)).toMatch(/<https:\/\/test\.slack\.com\/archives\/CJOIN1\/p\d+\|its message>/);
    await h.emu.waitFor((e) => finalSelftest(e, 'CJOIN1'), { timeoutMs: 20_000 });
    expect(h.emu.messages('CJOIN1').filter((m) => !m.ephemeral)).toHaveLength(1);
  });
});
