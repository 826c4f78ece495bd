/**
 * End to end, Kubernetes: signed `/cws selftest` → bot → BullMQ parent job → one child per
 * agent → @kubernetes/client-node exec over WebSocket against the API simulator → Slack.
 * 20-node fleet with mixed outcomes (test/fixtures/fleets/sim-a.yaml).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesClusterConfig, parseClustersFile } from '../../src/config/clusters.ts';
import { loadFleet } from '../../src/sim/fleet.ts';
import { FLARE_EMAIL_VIEW } from '../../src/core/slack/blocks/flare-inputs.ts';
import { KubernetesTarget } from '../../workers/targets/kubernetes.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

interface Row {
  node: string;
  pod: string;
  status: string;
  failedTests: string[];
  message: string;
}

let sim: Simulator;
let h: Harness;
const dir = mkdtempSync(join(tmpdir(), 'cws-k8s-e2e-'));
let n = 0;
const ch = () => `CK8S${String(++n).padStart(5, '0')}`;

beforeAll(async () => {
  sim = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sim-a.yaml')) });
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  h = await startHarness({
    clustersYaml: `
clusters:
  sim-a:
    kind: kubernetes
    kubeconfig: ${kubeconfig}
    context: ${sim.contextName}
    namespace: datadog
    selftest: { timeoutMs: 2000 }
    access: { remediate: [UFIXER01] }
`,
    minIntervalMs: 200,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = (m: { metadata?: { event_payload: Record<string, unknown> } }) => m.metadata!.event_payload.results as Row[];

describe('KubernetesTarget against the simulator', () => {
  it("lists agent pods with node, pod, phase, readiness and image; not-ready pods are marked, not exec'd", async () => {
    const cfg = parseClustersFile(`clusters:\n  t: { kind: kubernetes, kubeconfig: ${join(dir, 'kubeconfig')}, context: ${sim.contextName} }\n`).clusters
      .t as KubernetesClusterConfig;
    const agents = await new KubernetesTarget(cfg).listAgents();
    expect(agents).toHaveLength(20);
    expect(agents.find((a) => a.node === 'node-1')).toMatchObject({
      phase: 'Running',
      ready: true,
      image: 'gcr.io/datadoghq/agent:7.50.3',
      pod: expect.stringMatching(/^datadog-agent-/),
    });
    expect(agents.find((a) => a.node === 'node-12')).toMatchObject({ ready: false, unavailable: expect.stringMatching(/not ready/) });
    expect(await new KubernetesTarget(cfg).listAgents({ node: 'node-3' })).toHaveLength(1);
  });
});

describe('/cws selftest on a Kubernetes fleet (simulator)', () => {
  let resultTs = '';
  let jobId = '';
  const c1 = ch();

  it('checks every agent pod and reports one verdict per node, failures first', async () => {
    await h.signer.command('selftest sim-a', { channelId: c1, userId: 'UTESTER1' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c1), { timeoutMs: 30_000 });
    resultTs = final.ts;
    const p = final.metadata!.event_payload;
    jobId = String(p.jobId);
    expect(p).toMatchObject({ cluster: 'sim-a', total: 20, ok: 15, failed: 5 });
    const by = Object.fromEntries(rows(final).map((r) => [r.node, r]));
    expect(Object.keys(by)).toHaveLength(20);
    expect(by['node-7']).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_chmod'] });
    expect(by['node-8']).toMatchObject({ status: 'error', message: expect.stringContaining('self-tests are disabled') });
    expect(by['node-9']).toMatchObject({ status: 'timeout', message: 'timed out after 2 s' });
    expect(by['node-10']).toMatchObject({ status: 'error', message: expect.stringContaining('code = Unavailable') });
    expect(by['node-12']).toMatchObject({ status: 'error', message: expect.stringMatching(/not ready|not running/) });
    expect(by['node-1']).toMatchObject({ status: 'ok', pod: expect.stringMatching(/^datadog-agent-[a-z0-9]{5}$/) });
    expect(
      rows(final)
        .slice(0, 5)
        .every((r) => r.status !== 'ok'),
    ).toBe(true);
    expect(final.text).toBe('Self-test sim-a: 15/20 agents OK');
    expect(h.emu.messages(c1)).toHaveLength(1);
  });

  it('showed progress in the same message while running', () => {
    const updates = h.emu.callsTo('chat.update').filter((c) => c.args.channel === c1 && c.args.ts === resultTs && c.status === 200);
    expect(updates.some((u) => /\d+\/20 agents checked/.test(String(u.args.text)))).toBe(true);
    expect(updates.filter((u) => u.args.metadata)).toHaveLength(1);
  });

  it('--node narrows to one node', async () => {
    const c = ch();
    await h.signer.command('selftest sim-a --node node-7', { channelId: c });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({ total: 1, ok: 0, failed: 1 });
    expect(rows(final)[0]).toMatchObject({ node: 'node-7', status: 'failed' });
  });

  it('Re-run failed runs only the failing nodes', async () => {
    await h.signer.action({ actionId: 'selftest.rerun_failed', value: jobId, userId: 'UTESTER1', channelId: c1, messageTs: resultTs });
    const second = await h.emu.waitFor((e) => e.messages(c1).find((m) => m.ts !== resultTs && m.metadata?.event_type === 'cws_selftest_result'), {
      timeoutMs: 30_000,
    });
    expect(second.metadata!.event_payload).toMatchObject({ total: 5, ok: 0, failed: 5 });
    expect(
      rows(second)
        .map((r) => r.node)
        .sort(),
    ).toEqual(['node-10', 'node-12', 'node-7', 'node-8', 'node-9']);
  });

  it('Restart agent: refused without access.remediate, done once for an allowed user, reported in the thread', async () => {
    const value = `${jobId}|node-7`;
    const podBefore = sim.state.listPods('datadog').find((p) => p.spec?.nodeName === 'node-7')!.metadata!.name!;

    await h.signer.action({ actionId: 'selftest.restart:0', value, userId: 'UTESTER1', channelId: c1, messageTs: resultTs });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /Not allowed.*access\.remediate/.test(String(c.args.text))));

    // A node that was not failing cannot be restarted from this result, even by a remediator.
    await h.signer.action({ actionId: 'selftest.restart:0', value: `${jobId}|node-1`, userId: 'UFIXER01', channelId: c1, messageTs: resultTs });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /was not failing/.test(String(c.args.text))));

    // Double click: two requests, one restart.
    await Promise.all([
      h.signer.action({ actionId: 'selftest.restart:0', value, userId: 'UFIXER01', channelId: c1, messageTs: resultTs }),
      h.signer.action({ actionId: 'selftest.restart:0', value, userId: 'UFIXER01', channelId: c1, messageTs: resultTs }),
    ]);
    const reply = await h.emu.waitFor((e) => e.messages(c1).find((m) => m.thread_ts === resultTs && m.metadata?.event_type === 'cws_remediation_result'), {
      timeoutMs: 40_000,
    });
    expect(reply.metadata!.event_payload).toMatchObject({
      cluster: 'sim-a',
      action: 'restart_agent',
      node: 'node-7',
      by: 'UFIXER01',
      status: 'restarted',
      before: { pod: podBefore },
    });
    const after = (reply.metadata!.event_payload.after as { pod: string }).pod;
    expect(after).toMatch(/^datadog-agent-[a-z0-9]{5}$/);
    expect(after).not.toBe(podBefore);
    expect(
      sim.state
        .listPods('datadog')
        .filter((p) => p.spec?.nodeName === 'node-7')
        .map((p) => p.metadata!.name),
    ).toEqual([after]);
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /already requested/.test(String(c.args.text))));
    // One restart in the thread (the re-run of the failed nodes above is a reply there too: issue 17).
    expect(h.emu.messages(c1).filter((m) => m.thread_ts === resultTs && m.metadata?.event_type === 'cws_remediation_result')).toHaveLength(1);
  });

  it('Flare from node starts the reviewed flare for that node: the email modal opens', async () => {
    await h.signer.action({ actionId: 'selftest.flare:0', value: `${jobId}|node-7`, userId: 'UTESTER1', channelId: c1, messageTs: resultTs });
    const view = await h.emu.waitFor((e) => [...e.views.values()].find((v) => JSON.stringify(v.view.blocks).includes('node-7')));
    expect(view.view).toMatchObject({ type: 'modal', callback_id: FLARE_EMAIL_VIEW });
  });
});
