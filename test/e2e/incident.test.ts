/**
 * Incident mirroring (issue 17, point 1): every job and change on a cluster shows in its incident
 * channel as ONE message per job, posted when it starts and edited to its final state, with
 * `cws_incident_update` metadata; `/cws incident` links a channel for the duration of an incident;
 * the linker is told when the bot is not in that channel. The emulator's Block Kit and rate-limit
 * rules are on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import type { SlackMessage } from '../../src/sandbox/slack-api.ts';
import { ciliumFleet, click, closeSimulated, type Harness, RAW_ID, shownText, simulatedClusters, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-incident-'));
const sims: Record<string, Simulator> = {};
let h: Harness;

// Agent 7.39.1 with Cilium 1.9 (the known race): the report offers "Disable network detections".
const raceFleet = (name: string) => ciliumFleet(name, { agent: '7.39.1', cilium: '1.9.5', count: 3, pref: 1 });

const CONFIGURED = 'CINCCONF';

beforeAll(async () => {
  for (const name of ['inc-a', 'inc-b']) sims[name] = await startSimulator({ fleet: parseFleet(raceFleet(name), name) });
  const yaml =
    'clusters:\n' +
    (await simulatedClusters(dir, sims, (name) => `access: { remediate: [UINCFIX1] }${name === 'inc-a' ? `, incidentChannel: ${CONFIGURED}` : ''}`));
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 60_000);

afterAll(() => closeSimulated(h, sims, dir));

const mirrors = (channel: string, jobId?: string) =>
  h.emu.messages(channel).filter((m) => m.metadata?.event_type === 'cws_incident_update' && (jobId === undefined || m.metadata.event_payload.jobId === jobId));
const finalMirror = (channel: string, jobId: string) =>
  h.emu.waitFor(() => mirrors(channel, jobId).find((m) => m.metadata!.event_payload.state !== 'running'), { timeoutMs: 30_000 });
/** chat.postMessage calls that reached a channel (200), and the chat.update calls of one message. */
const posts = (channel: string) => h.emu.callsTo('chat.postMessage').filter((c) => c.args.channel === channel && c.status === 200);
const edits = (m: SlackMessage) => h.emu.callsTo('chat.update').filter((c) => c.args.channel === m.channel && c.args.ts === m.ts && c.status === 200);

async function netcheck(cluster: string, channel: string) {
  await h.signer.command(`netcheck ${cluster}`, { channelId: channel, userId: 'UINCFIX1' });
  return h.emu.waitFor((e) => e.messages(channel).find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
}

describe('a cluster with an incident channel', () => {
  it('mirrors a netcheck and a remediation: one message per job, posted at start and edited to its final state', async () => {
    const report = await netcheck('inc-a', 'CINCWORK');
    const jobId = String(report.metadata!.event_payload.jobId);
    const m = await finalMirror(CONFIGURED, jobId);
    expect(m.metadata!.event_payload).toMatchObject({ jobId, cluster: 'inc-a', kind: 'netcheck', state: 'failed', by: 'UINCFIX1' });
    expect(String(m.metadata!.event_payload.verdict)).toMatch(/broken/);
    expect(String(m.metadata!.event_payload.link)).toMatch(/^https?:\/\//);
    expect(m.text).toMatch(/Netcheck on inc-a/);
    expect(JSON.stringify(m.blocks)).toContain('<#CINCWORK>');
    // Posted once (while running), then edited in place.
    const posted = posts(CONFIGURED).filter((c) => (c.args.metadata as { event_payload?: { jobId?: string } } | undefined)?.event_payload?.jobId === jobId);
    expect(posted).toHaveLength(1);
    expect((posted[0]!.args.metadata as { event_payload: { state: string } }).event_payload.state).toBe('running');
    expect(edits(m).length).toBeGreaterThan(0);
    expect(mirrors(CONFIGURED, jobId)).toHaveLength(1);

    await click(h, report, 'Disable network detections', 'UINCFIX1');
    const done = await h.emu.waitFor(
      (e) => e.messages('CINCWORK').find((x) => x.thread_ts === report.ts && x.metadata?.event_type === 'cws_remediation_result'),
      { timeoutMs: 30_000 },
    );
    const rmId = String(done.metadata!.event_payload.jobId);
    const rm = await finalMirror(CONFIGURED, rmId);
    expect(rm.metadata!.event_payload).toMatchObject({ jobId: rmId, kind: 'remediate', state: 'ok', by: 'UINCFIX1' });
    // Who, what, before → after.
    expect(String(rm.metadata!.event_payload.verdict)).toMatch(
      /Disable network detections: applied — system-probe DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: unset → false/,
    );
    expect(mirrors(CONFIGURED, rmId)).toHaveLength(1);
    // Exactly one message per job in the incident channel, nothing else (no full result, no per-agent lines).
    expect(h.emu.messages(CONFIGURED)).toHaveLength(2);
    expect(edits(rm).length).toBeGreaterThan(0);
    for (const x of h.emu.messages(CONFIGURED)) expect(shownText(x)).not.toMatch(RAW_ID);
  });
});

describe('/cws incident', () => {
  it('links a channel for the duration of an incident, mirrors into it, and `off` ends it', async () => {
    const r = await h.signer.command('incident <#CINCLINK|war-room> inc-b', { channelId: 'CINCWRK2', userId: 'UINCFIX1' });
    expect(r.body).toMatch(/mirrored to <#CINCLINK>/);
    await h.emu.waitFor(() => h.emu.messages('CINCLINK').find((m) => /linked this channel to `inc-b`/.test(JSON.stringify(m.blocks))));

    const report = await netcheck('inc-b', 'CINCWRK2');
    const jobId = String(report.metadata!.event_payload.jobId);
    const m = await finalMirror('CINCLINK', jobId);
    expect(m.metadata!.event_payload).toMatchObject({ kind: 'netcheck', state: 'failed', cluster: 'inc-b' });
    expect(mirrors('CINCLINK')).toHaveLength(1);
    for (const x of h.emu.messages('CINCLINK')) expect(shownText(x)).not.toMatch(RAW_ID);

    const off = await h.signer.command('incident off inc-b', { channelId: 'CINCWRK2', userId: 'UINCFIX1' });
    expect(off.body).toMatch(/no longer mirrors `inc-b`/);
    const again = await h.signer.command('netcheck inc-b', { channelId: 'CINCWRK3', userId: 'UINCFIX1' });
    expect(again.status).toBe(200);
    await h.emu.waitFor((e) => e.messages('CINCWRK3').find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(mirrors('CINCLINK')).toHaveLength(1);

    // Audited, with who linked what.
    const audit = await h.bot.services.audit.recent(50);
    expect(audit.find((a) => a.command === 'incident <#CINCLINK> inc-b')).toMatchObject({ user: 'UINCFIX1', outcome: 'ok', detail: 'linked CINCLINK' });
    expect(audit.find((a) => a.command === 'incident off inc-b')).toMatchObject({ outcome: 'ok', detail: 'unlinked CINCLINK' });
  });

  it('refuses what is not a channel', async () => {
    const r = await h.signer.command('incident war-room inc-b', { channelId: 'CINCWRK2', userId: 'UINCFIX1' });
    expect(r.body).toMatch(/is not a channel/);
  });

  it('tells the person who linked it how to invite the bot when it is not in the channel', async () => {
    h.emu.setMember('CINCNOPE', false);
    const r = await h.signer.command('incident <#CINCNOPE|secret> inc-b', { channelId: 'CINCWRK4', userId: 'UINCFIX1' });
    await h.emu.waitFor((e) =>
      e.callsTo('response_url').find((c) => c.args.id === r.responseUrl.split('/').pop() && /\/invite @cws/.test(String(c.args.text))),
    );
    // A job on the cluster: it cannot be mirrored, and the linker hears of it privately (once), not the channel.
    await netcheck('inc-b', 'CINCWRK4');
    await h.emu.waitFor((e) =>
      e.callsTo('chat.postEphemeral').find((c) => c.args.channel === 'CINCWRK4' && c.args.user === 'UINCFIX1' && /\/invite @cws/.test(String(c.args.text))),
    );
    expect(h.emu.messages('CINCNOPE')).toHaveLength(0);
    await h.signer.command('incident off inc-b', { channelId: 'CINCWRK4', userId: 'UINCFIX1' });
  });
});
