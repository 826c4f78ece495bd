/**
 * `/cws netcheck` end to end: facts from the simulator's API objects and from `tc` run in the
 * system-probe container over exec, the seed's decision table, the report with its metadata.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-netcheck-'));
const sims: Simulator[] = [];
const simOf = (name: string) => sims.find((s) => s.contextName === name)!;
const spEnv = (name: string) =>
  simOf(name)
    .state.getDaemonSet('datadog', 'datadog-agent')!
    .spec!.template.spec!.containers.find((c: { name: string }) => c.name === 'system-probe')!.env ?? [];
let h: Harness;

const cilium = (version: string) =>
  `cni: { daemonSet: cilium, namespace: kube-system, image: "quay.io/cilium/cilium:v${version}", labels: { k8s-app: cilium } }`;
const tc = (pref: number) =>
  `  tc:\n    lxc9fc12c71903b: "filter protocol all pref ${pref} bpf chain 0 \\nfilter protocol all pref ${pref} bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited \\n"`;

// CWS is on, as the Helm chart sets it (DD_RUNTIME_SECURITY_CONFIG_ENABLED on both containers).
const agent = (image: string, spEnv = '', extra = '') =>
  `agent:\n  image: "${image}"\n${extra}  containers:\n    security-agent: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }\n    system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true"${spEnv} } }\n`;
const FLEETS: Record<string, string> = {
  'nc-race': `name: nc-race\n${agent('gcr.io/datadoghq/agent:7.39.1')}${cilium('1.9.5')}\nnodes:\n  count: 3\n${tc(1)}\n`,
  'nc-prio1': `name: nc-prio1\n${agent('gcr.io/datadoghq/agent:7.50.3', '', '  managedBy: helm\n')}${cilium('1.14.5')}\nnodes:\n  count: 3\n${tc(1)}\n`,
  'nc-prio3': `name: nc-prio3\n${agent('gcr.io/datadoghq/agent:7.50.3-jmx')}${cilium('1.14.5')}\nnodes:\n  count: 3\n${tc(3)}\n`,
  'nc-prio3-fixed': `name: nc-prio3-fixed\n${agent('gcr.io/datadoghq/agent:7.50.3', ', DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: "2"')}${cilium('1.14.5')}\nnodes:\n  count: 2\n${tc(3)}\n`,
  'nc-nocni': `name: nc-nocni\n${agent('gcr.io/datadoghq/agent:7.50.3')}nodes:\n  count: 2\n`,
  'nc-off': `name: nc-off\n${agent('gcr.io/datadoghq/agent:7.50.3', ', DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: "false"', '  managedBy: helm\n')}${cilium('1.9.5')}\nnodes:\n  count: 2\n${tc(1)}\n`,
};

beforeAll(async () => {
  let yaml = 'clusters:\n';
  for (const [name, fleet] of Object.entries(FLEETS)) {
    const sim = await startSimulator({ fleet: parseFleet(fleet, name) });
    sims.push(sim);
    const kc = join(dir, `${name}.kubeconfig`);
    await sim.writeKubeconfig(kc);
    yaml += `  ${name}: { kind: kubernetes, kubeconfig: ${kc}, context: ${sim.contextName}, access: { remediate: [UFIXER01] } }\n`;
  }
  yaml += '  nc-docker: { kind: docker, socket: /nonexistent.sock }\n';
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  for (const s of sims) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function netcheck(cluster: string, suffix = '') {
  const c = `CNC${cluster.replace(/[^a-z0-9]/g, '').toUpperCase()}${suffix}`;
  await h.signer.command(`netcheck ${cluster}`, { channelId: c, userId: 'UNETCHK1' });
  const m = await h.emu.waitFor((e) => e.messages(c).find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
  return {
    m,
    p: m.metadata!.event_payload as {
      verdict: string;
      findings: { code: string; severity: string }[];
      remediations: string[];
      agentVersion: string;
      cni: { vendor: string; version: string };
      suggestedPriority?: number;
    },
  };
}

describe('/cws netcheck on simulated clusters', () => {
  it('Cilium 1.9 with Agent 7.39.1: the known connectivity race, upgrade or disable network detections', async () => {
    const { m, p } = await netcheck('nc-race');
    expect(p).toMatchObject({ verdict: 'broken', agentVersion: '7.39.1', cni: { vendor: 'cilium', version: '1.9.5' } });
    expect(p.findings.map((f) => f.code)).toContain('cilium_race');
    expect(p.remediations).toEqual(expect.arrayContaining(['upgrade_agent', 'disable_network_detections']));
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('7.39.2 or later');
    expect(text).toContain('all 3 nodes: pref 1');
    expect(text).toContain('nsenter --net=/host/proc/1/ns/net tc filter show dev IFACE ingress');
  });

  it('a vendor classifier at priority 1: detections do not work inside containers', async () => {
    const { p } = await netcheck('nc-prio1');
    expect(p.verdict).toBe('broken');
    expect(p.findings.map((f) => f.code)).toContain('priority_conflict_1');
    expect(p.remediations).toContain('disable_network_detections');
  });

  it('a vendor at priority 3 with the default classifier_priority 10: set it to 2', async () => {
    const { m, p } = await netcheck('nc-prio3');
    expect(p).toMatchObject({ verdict: 'action_required', agentVersion: '7.50.3', suggestedPriority: 2 });
    expect(p.remediations).toContain('set_classifier_priority');
    expect(JSON.stringify(m.blocks)).toContain('DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY=2');
  });

  it('classifier_priority already below the vendor’s (from the DaemonSet env): fine', async () => {
    const { m, p } = await netcheck('nc-prio3-fixed');
    expect(p.verdict).toBe('ok');
    expect(JSON.stringify(m.blocks)).toMatch(/classifier_priority: 2 _\(set in the system-probe environment/);
  });

  it('network detections already disabled: says so and stops; notes the Helm manager', async () => {
    const { p } = await netcheck('nc-off');
    expect(p.verdict).toBe('ok');
    expect(p.findings.map((f) => f.code)).toContain('network_disabled');
    expect(p.remediations).toEqual([]);
  });

  it('refuses non-Kubernetes clusters with a clear message', async () => {
    const res = await h.signer.command('netcheck nc-docker', { channelId: 'CNCD', userId: 'UNETCHK1' });
    expect(res.json).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(/inspects Kubernetes clusters.*DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED=false/s),
    });
  });

  it('Set classifier_priority: refused without access.remediate, applied once with before/after, then Revert restores it', async () => {
    const { m, p } = await netcheck('nc-prio3');
    const c = m.channel;
    const buttons = (m.blocks as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? []);
    const set = buttons.find((b) => b.text.text === 'Set classifier_priority to 2')!;
    expect(set).toBeDefined();
    await h.signer.action({ actionId: set.action_id, value: set.value, userId: 'UNETCHK1', channelId: c, messageTs: m.ts });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((x) => /Not allowed.*access\.remediate/.test(String(x.args.text))));
    // A forged action that the report did not offer is refused too.
    await h.signer.action({
      actionId: set.action_id,
      value: set.value.replace('set_classifier_priority', 'disable_network_detections'),
      userId: 'UFIXER01',
      channelId: c,
      messageTs: m.ts,
    });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((x) => /did not offer this change/.test(String(x.args.text))));

    await Promise.all([1, 2].map(() => h.signer.action({ actionId: set.action_id, value: set.value, userId: 'UFIXER01', channelId: c, messageTs: m.ts })));
    const done = await h.emu.waitFor((e) => e.messages(c).find((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_remediation_result'), {
      timeoutMs: 30_000,
    });
    expect(done.metadata!.event_payload).toMatchObject({
      action: 'set_classifier_priority',
      by: 'UFIXER01',
      status: 'applied',
      before: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: null } },
      after: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '2' } },
      rollout: { complete: true },
    });
    expect(spEnv('nc-prio3')).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY', value: '2' });
    expect(spEnv('nc-prio3')).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((x) => /already requested/.test(String(x.args.text))));
    expect(h.emu.messages(c).filter((x) => x.thread_ts === m.ts)).toHaveLength(1);

    // The netcheck now says OK.
    const again = await netcheck('nc-prio3', 'B');
    void p;
    expect(again.p.verdict).toBe('ok');

    const revert = (done.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((b) => b.action_id === 'remediation.revert')!;
    await h.signer.action({
      actionId: revert.action_id,
      value: revert.value,
      userId: 'UFIXER01',
      channelId: c,
      messageTs: done.ts,
      message: { type: 'message', ts: done.ts, thread_ts: m.ts, text: done.text, blocks: done.blocks },
    });
    const reverted = await h.emu.waitFor((e) => e.messages(c).find((x) => x.thread_ts === m.ts && x.metadata?.event_payload.action === 'revert'), {
      timeoutMs: 30_000,
    });
    expect(reverted.metadata!.event_payload).toMatchObject({
      status: 'applied',
      after: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: null } },
    });
    expect(spEnv('nc-prio3').some((e: { name: string }) => e.name === 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY')).toBe(false);
  });

  it('a Helm-managed DaemonSet: the report says Helm will revert a patch, shows the values, offers "Patch anyway"', async () => {
    const { m } = await netcheck('nc-prio1');
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('datadog.securityAgent.runtime.network.enabled: false');
    expect(text).toContain('managed by Helm');
    expect(text).toContain('Patch anyway: Disable network detections');
    const button = (m.blocks as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((b) => b.text.text === 'Patch anyway: Disable network detections')!;
    await h.signer.action({ actionId: button.action_id, value: button.value, userId: 'UFIXER01', channelId: m.channel, messageTs: m.ts });
    const done = await h.emu.waitFor((e) => e.messages(m.channel).find((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_remediation_result'), {
      timeoutMs: 30_000,
    });
    expect(done.metadata!.event_payload).toMatchObject({
      action: 'disable_network_detections',
      after: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'false' } },
    });
    expect(spEnv('nc-prio1')).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' });
  });

  it('no recognisable CNI DaemonSet in kube-system: unknown, never guessed', async () => {
    const { p } = await netcheck('nc-nocni');
    expect(p.verdict).toBe('unknown');
    expect(p.findings.map((f) => f.code)).toContain('unknown_cni');
    expect(p.remediations).toEqual([]);
  });

  it('Disable CWS patches both system-probe and security-agent', async () => {
    const { m } = await netcheck('nc-race', 'X');
    const button = (m.blocks as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((b) => b.text.text === 'Disable CWS')!;
    await h.signer.action({ actionId: button.action_id, value: button.value, userId: 'UFIXER01', channelId: m.channel, messageTs: m.ts });
    const done = await h.emu.waitFor((e) => e.messages(m.channel).find((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_remediation_result'), {
      timeoutMs: 30_000,
    });
    expect(done.metadata!.event_payload).toMatchObject({
      action: 'disable_cws',
      before: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' }, 'security-agent': { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' } },
      after: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' }, 'security-agent': { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' } },
    });
    const containers = simOf('nc-race').state.getDaemonSet('datadog', 'datadog-agent')!.spec!.template.spec!.containers;
    for (const name of ['system-probe', 'security-agent'])
      expect(containers.find((c: { name: string }) => c.name === name)!.env).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'false' });
  });
});
