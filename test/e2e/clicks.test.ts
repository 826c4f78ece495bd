/**
 * Each click acts on what was clicked (issue 14): a self-test with several failing nodes and a
 * netcheck offering several fixes reach the channel (the emulator refuses what Slack refuses),
 * and clicking the second or third button acts on exactly its node or fix, checked at the
 * Kubernetes simulator.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { buttonIn, ciliumFleet, ciliumTc, click, closeSimulated, finalSelftest, type Harness, simulatedClusters, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-clicks-'));
const sims: Record<string, Simulator> = {};
let h: Harness;

// Cilium's classifier at priority 1 on node-1 (broken: disable network detections, or CWS) and at
// priority 3 on node-2 (set classifier_priority to 2): the report offers all three fixes.
const threeFixes = (name: string) => ciliumFleet(name, { count: 2, pref: 1, more: `  overrides:\n    node-2: { tc: { lxc9fc12c71903b: ${ciliumTc(3)} } }\n` });

beforeAll(async () => {
  sims['sim-a'] = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sim-a.yaml')) });
  for (const name of ['fix-2', 'fix-3']) sims[name] = await startSimulator({ fleet: parseFleet(threeFixes(name), name) });
  const yaml = 'clusters:\n' + (await simulatedClusters(dir, sims, () => 'selftest: { timeoutMs: 2000 }, access: { remediate: [UFIXER01] }'));
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 200 });
}, 60_000);

afterAll(() => closeSimulated(h, sims, dir));

const podsOn = (node: string) =>
  sims['sim-a']!.state.listPods('datadog')
    .filter((p) => p.spec?.nodeName === node)
    .map((p) => p.metadata!.name!);
const envOf = (cluster: string, container: string) =>
  sims[cluster]!.state.getDaemonSet('datadog', 'datadog-agent')!.spec!.template.spec!.containers.find((c: { name: string }) => c.name === container)!.env ?? [];

describe('a self-test with several failing nodes', () => {
  it('reaches the channel, and "Restart agent on" the second and third failing nodes restarts exactly those', async () => {
    await h.signer.command('selftest sim-a', { channelId: 'CCLICK1', userId: 'UFIXER01' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CCLICK1'), { timeoutMs: 30_000 });
    expect(final.metadata!.event_payload).toMatchObject({ total: 20, failed: 5 });
    // No edit of this message was refused on the way.
    expect(h.emu.callsTo('chat.update').filter((c) => c.args.ts === final.ts && c.status === 200)).not.toHaveLength(0);

    const restarts = ['node-7', 'node-8', 'node-10'].map((n) => buttonIn(final, `Restart agent on ${n}`));
    expect(new Set(restarts.map((b) => b.actionId)).size).toBe(3);
    const before = Object.fromEntries(['node-7', 'node-8', 'node-10'].map((n) => [n, podsOn(n)]));

    await click(h, final, 'Restart agent on node-8', 'UFIXER01');
    const r8 = await h.emu.waitFor((e) => e.messages('CCLICK1').find((m) => m.thread_ts === final.ts && m.metadata?.event_payload.node === 'node-8'), {
      timeoutMs: 30_000,
    });
    expect(r8.metadata!.event_payload).toMatchObject({ action: 'restart_agent', status: 'restarted', before: { pod: before['node-8']![0] } });
    expect(podsOn('node-8')).not.toEqual(before['node-8']);
    expect(podsOn('node-7')).toEqual(before['node-7']);
    expect(podsOn('node-10')).toEqual(before['node-10']);

    await click(h, final, 'Restart agent on node-10', 'UFIXER01');
    await h.emu.waitFor((e) => e.messages('CCLICK1').find((m) => m.thread_ts === final.ts && m.metadata?.event_payload.node === 'node-10'), {
      timeoutMs: 30_000,
    });
    expect(podsOn('node-10')).not.toEqual(before['node-10']);
    expect(podsOn('node-7')).toEqual(before['node-7']);
  });
});

describe('a netcheck offering several fixes', () => {
  async function report(cluster: string) {
    const c = `CCLICK${cluster.replace(/[^0-9]/g, '')}N`;
    await h.signer.command(`netcheck ${cluster}`, { channelId: c, userId: 'UFIXER01' });
    return h.emu.waitFor((e) => e.messages(c).find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
  }
  const applied = (m: { channel: string; ts: string }) =>
    h.emu.waitFor((e) => e.messages(m.channel).find((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_remediation_result'), { timeoutMs: 30_000 });

  it('the second button disables network detections, and only that', async () => {
    const m = await report('fix-2');
    expect(m.metadata!.event_payload).toMatchObject({
      verdict: 'broken',
      remediations: expect.arrayContaining(['set_classifier_priority', 'disable_network_detections']),
    });
    const ids = ['Set classifier_priority to 2', 'Disable network detections', 'Disable CWS'].map((t) => buttonIn(m, t).actionId);
    expect(new Set(ids).size).toBe(3);
    await click(h, m, 'Disable network detections', 'UFIXER01');
    const done = await applied(m);
    expect(done.metadata!.event_payload).toMatchObject({ action: 'disable_network_detections', status: 'applied' });
    const sp = envOf('fix-2', 'system-probe');
    expect(sp).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' });
    expect(sp).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' });
    expect(sp.some((e: { name: string }) => e.name === 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY')).toBe(false);
  });

  it('the third button disables CWS, and only that', async () => {
    const m = await report('fix-3');
    await click(h, m, 'Disable CWS', 'UFIXER01');
    const done = await applied(m);
    expect(done.metadata!.event_payload).toMatchObject({ action: 'disable_cws', status: 'applied' });
    for (const c of ['system-probe', 'security-agent'])
      expect(envOf('fix-3', c)).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'false' });
    const sp = envOf('fix-3', 'system-probe');
    expect(
      sp.some(
        (e: { name: string }) => e.name === 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED' || e.name === 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY',
      ),
    ).toBe(false);
  });
});
