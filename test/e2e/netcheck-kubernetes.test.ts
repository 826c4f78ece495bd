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
let h: Harness;

const cilium = (version: string) => `cni: { daemonSet: cilium, namespace: kube-system, image: "quay.io/cilium/cilium:v${version}", labels: { k8s-app: cilium } }`;
const tc = (pref: number) => `  tc:\n    lxc9fc12c71903b: "filter protocol all pref ${pref} bpf chain 0 \\nfilter protocol all pref ${pref} bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited \\n"`;

// CWS is on, as the Helm chart sets it (DD_RUNTIME_SECURITY_CONFIG_ENABLED on both containers).
const agent = (image: string, spEnv = '', extra = '') =>
  `agent:\n  image: "${image}"\n${extra}  containers:\n    security-agent: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }\n    system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true"${spEnv} } }\n`;
const FLEETS: Record<string, string> = {
  'nc-race': `name: nc-race\n${agent('gcr.io/datadoghq/agent:7.39.1')}${cilium('1.9.5')}\nnodes:\n  count: 3\n${tc(1)}\n`,
  'nc-prio1': `name: nc-prio1\n${agent('gcr.io/datadoghq/agent:7.50.3')}${cilium('1.14.5')}\nnodes:\n  count: 3\n${tc(1)}\n`,
  'nc-prio3': `name: nc-prio3\n${agent('gcr.io/datadoghq/agent:7.50.3-jmx')}${cilium('1.14.5')}\nnodes:\n  count: 3\n${tc(3)}\n`,
  'nc-prio3-fixed': `name: nc-prio3-fixed\n${agent('gcr.io/datadoghq/agent:7.50.3', ', DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: "2"')}${cilium('1.14.5')}\nnodes:\n  count: 2\n${tc(3)}\n`,
  'nc-off': `name: nc-off\n${agent('gcr.io/datadoghq/agent:7.50.3', ', DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: "false"', '  managedBy: helm\n')}${cilium('1.9.5')}\nnodes:\n  count: 2\n${tc(1)}\n`,
};

beforeAll(async () => {
  let yaml = 'clusters:\n';
  for (const [name, fleet] of Object.entries(FLEETS)) {
    const sim = await startSimulator({ fleet: parseFleet(fleet, name) });
    sims.push(sim);
    const kc = join(dir, `${name}.kubeconfig`);
    await sim.writeKubeconfig(kc);
    yaml += `  ${name}: { kind: kubernetes, kubeconfig: ${kc}, context: ${sim.contextName} }\n`;
  }
  yaml += '  nc-docker: { kind: docker, socket: /nonexistent.sock }\n';
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  for (const s of sims) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function netcheck(cluster: string) {
  const c = `CNC${cluster.replace(/[^a-z0-9]/g, '').toUpperCase()}`;
  await h.signer.command(`netcheck ${cluster}`, { channelId: c, userId: 'UNETCHK1' });
  const m = await h.emu.waitFor((e) => e.messages(c).find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
  return { m, p: m.metadata!.event_payload as { verdict: string; findings: { code: string; severity: string }[]; remediations: string[]; agentVersion: string; cni: { vendor: string; version: string }; suggestedPriority?: number } };
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
    expect(JSON.stringify(m.blocks)).toMatch(/classifier_priority: 2 _\(env:system-probe/);
  });

  it('network detections already disabled: says so and stops; notes the Helm manager', async () => {
    const { p } = await netcheck('nc-off');
    expect(p.verdict).toBe('ok');
    expect(p.findings.map((f) => f.code)).toContain('network_disabled');
    expect(p.remediations).toEqual([]);
  });

  it('refuses non-Kubernetes clusters with a clear message', async () => {
    const res = await h.signer.command('netcheck nc-docker', { channelId: 'CNCD', userId: 'UNETCHK1' });
    expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/inspects Kubernetes clusters/) });
  });
});
