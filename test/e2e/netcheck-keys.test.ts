/**
 * `/cws netcheck` with today's keys (issue 19, point 2), end to end: signed command → bot → worker →
 * simulator → Slack emulator. The simulator models the agent's own tc classifiers at the priority its
 * system-probe resolves with the agent's precedence (src/sim/host-net.ts agentNetworkConfig, sources
 * there): from 7.44 the deprecated `runtime_security_config.network.*` key in system-probe.yaml first,
 * then DD_EVENT_MONITORING_CONFIG_NETWORK_*, then DD_RUNTIME_SECURITY_CONFIG_NETWORK_*, then
 * `event_monitoring_config.network.*` in the file; before 7.44 only the runtime_security_config names,
 * env over file. The worker reads the same facts from the DaemonSet and the ConfigMap
 * (src/core/netcheck/config.ts). Each case asserts the verdict (which follows what the simulated agent
 * attached) and the value and origin the report gives; the remediation cases click "Set
 * classifier_priority", check which env var was patched, and run the netcheck again on the new pods:
 * only a patch of the variable the agent version reads turns the verdict OK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { execCollect } from '../sim/support.ts';
import { originWords } from '../../src/core/slack/blocks/netcheck.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-netcheck-keys-'));
const sims = new Map<string, Simulator>();
let h: Harness;

const EM = 'DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY';
const RS = 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY';
const oldKey = (n: number) => `runtime_security_config:\n  network:\n    classifier_priority: ${n}\n`;
const newKey = (n: number) => `event_monitoring_config:\n  network:\n    classifier_priority: ${n}\n`;

interface Case {
  version?: string;
  env?: Record<string, string>;
  /** system-probe.yaml, as the Helm chart mounts it from its ConfigMap. */
  file?: string;
  directSend?: boolean;
}

/** Cilium 1.14 with its classifier at pref 3 on the pod veth: CWS must sit below 3 to see container traffic. */
function fleet(name: string, c: Case): string {
  const env = { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true', ...c.env };
  const envYaml = Object.entries(env)
    .map(([k, v]) => `${k}: "${v}"`)
    .join(', ');
  const file = c.file === undefined ? '' : `  systemProbeYaml: ${JSON.stringify(`system_probe_config:\n  enabled: true\n${c.file}`)}\n`;
  return [
    `name: ${name}`,
    'agent:',
    `  image: "gcr.io/datadoghq/agent:${c.version ?? '7.50.3'}"`,
    file.trimEnd(),
    c.directSend ? '  directSend: true' : '',
    '  containers:',
    '    security-agent: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }',
    `    system-probe: { env: { ${envYaml} } }`,
    'cni: { daemonSet: cilium, namespace: kube-system, image: "quay.io/cilium/cilium:v1.14.5", labels: { k8s-app: cilium } }',
    'nodes:',
    '  count: 2',
    '  tc:',
    '    lxc9fc12c71903b: "filter protocol all pref 3 bpf chain 0 \\nfilter protocol all pref 3 bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited \\n"',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

const CASES: Record<string, Case> = {
  // env, one family at a time and both in both orders
  'nk-em': { env: { [EM]: '2' } },
  'nk-rs': { env: { [RS]: '2' } },
  'nk-em2-rs5': { env: { [EM]: '2', [RS]: '5' } },
  'nk-em5-rs2': { env: { [EM]: '5', [RS]: '2' } },
  // the file, one key at a time and both in both orders
  'nk-file-new': { file: newKey(2) },
  'nk-file-old': { file: oldKey(2) },
  'nk-file-old5-new2': { file: oldKey(5) + newKey(2) },
  'nk-file-old2-new5': { file: oldKey(2) + newKey(5) },
  // env against the file
  'nk-em2-filenew5': { env: { [EM]: '2' }, file: newKey(5) },
  'nk-rs5-filenew2': { env: { [RS]: '5' }, file: newKey(2) },
  'nk-em2-fileold5': { env: { [EM]: '2' }, file: oldKey(5) },
  'nk-fileold2-em5': { env: { [EM]: '5' }, file: oldKey(2) },
  // an agent before the event_monitoring_config keys (7.43.1)
  'nk-legacy-em': { version: '7.43.1', env: { [EM]: '2' } },
  'nk-legacy-rs5-fileold2': { version: '7.43.1', env: { [RS]: '5' }, file: oldKey(2) },
  'nk-legacy-filenew2': { version: '7.43.1', file: newKey(2) },
  // the newer options
  'nk-handles-equal': {
    env: { DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_HANDLE: '5', DD_RUNTIME_SECURITY_CONFIG_NETWORK_RAW_CLASSIFIER_HANDLE: '5', [EM]: '2' },
  },
  'nk-handles-ok': {
    env: { DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_HANDLE: '5', DD_EVENT_MONITORING_CONFIG_NETWORK_RAW_CLASSIFIER_HANDLE: '6', [EM]: '2' },
    directSend: true,
  },
};

beforeAll(async () => {
  let yaml = 'clusters:\n';
  for (const [name, c] of Object.entries(CASES)) {
    const sim = await startSimulator({ fleet: parseFleet(fleet(name, c), name) });
    sim.state.setAgentClassifiers(true); // the agent's own classifiers, at the priority it resolves
    sims.set(name, sim);
    const kc = join(dir, `${name}.kubeconfig`);
    await sim.writeKubeconfig(kc);
    yaml += `  ${name}: { kind: kubernetes, kubeconfig: ${kc}, context: ${sim.contextName}, access: { remediate: [UFIXER01] } }\n`;
  }
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 120_000);

afterAll(async () => {
  await h?.close();
  for (const s of sims.values()) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

type Payload = { verdict: string; findings: { code: string; severity: string }[]; remediations: string[]; suggestedPriority?: number };

let runs = 0;
async function netcheck(cluster: string) {
  const c = `CNK${String(++runs).padStart(3, '0')}`;
  await h.signer.command(`netcheck ${cluster}`, { channelId: c, userId: 'UNETCHK1' });
  const m = await h.emu.waitFor((e) => e.messages(c).find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
  return { m, p: m.metadata!.event_payload as Payload, text: JSON.stringify(m.blocks) };
}

/** `tc filter show` on node-1's pod veth, in its agent pod's system-probe, over exec as the worker runs it. */
async function tcOnNode1(cluster: string): Promise<string> {
  const sim = sims.get(cluster)!;
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  const pod = sim.state.agentPod('node-1')!.metadata.name;
  const argv = ['nsenter', '--net=/host/proc/1/ns/net', 'tc', 'filter', 'show', 'dev', 'lxc9fc12c71903b', 'ingress'];
  return (await execCollect(kc, 'datadog', pod, 'system-probe', argv)).stdout;
}

/** What the simulated agent attached on node-1: its classifier's pref. */
async function attachedPref(cluster: string): Promise<number | undefined> {
  const m = /pref (\d+) bpf chain 0 handle 0x[0-9a-f]+ classifier_ingress_/.exec(await tcOnNode1(cluster));
  return m ? Number(m[1]) : undefined;
}

const spEnv = (cluster: string) =>
  sims
    .get(cluster)!
    .state.getDaemonSet('datadog', 'datadog-agent')!
    .spec!.template.spec!.containers.find((c: { name: string }) => c.name === 'system-probe')!.env ?? [];

/** Clicks "Set classifier_priority to N" as a remediator; returns the remediation result's payload. */
async function setPriority(m: { channel: string; ts: string; blocks?: unknown }) {
  const buttons = (m.blocks as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);
  const set = buttons.find((b) => /^Set classifier_priority to \d+$/.test(b.text.text));
  expect(set, 'a Set classifier_priority button').toBeDefined();
  await h.signer.action({ actionId: set!.action_id, value: set!.value, userId: 'UFIXER01', channelId: m.channel, messageTs: m.ts });
  const done = await h.emu.waitFor((e) => e.messages(m.channel).find((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_remediation_result'), {
    timeoutMs: 30_000,
  });
  return done.metadata!.event_payload as {
    status: string;
    before: Record<string, Record<string, string | null>>;
    after: Record<string, Record<string, string | null>>;
  };
}

describe('netcheck with the event_monitoring_config keys and the deprecated ones (7.50.3)', () => {
  it.each([
    ['nk-em', 'the new env name alone', 2, 'env:system-probe'],
    ['nk-rs', 'the deprecated env name alone', 2, 'env:system-probe'],
    ['nk-em2-rs5', 'both env names: DD_EVENT_MONITORING_CONFIG_* is bound first', 2, 'env:system-probe'],
    ['nk-file-new', 'event_monitoring_config.network.classifier_priority in system-probe.yaml alone', 2, 'configmap'],
    ['nk-file-old', 'the deprecated runtime_security_config key in system-probe.yaml alone', 2, 'configmap'],
    ['nk-file-old2-new5', 'both keys in the file: the deprecated one is read first', 2, 'configmap'],
    ['nk-em2-filenew5', 'env over the file’s new key', 2, 'env:system-probe'],
    ['nk-fileold2-em5', 'the file’s deprecated key over the env var', 2, 'configmap'],
  ])('%s (%s): the agent sits at 2, below Cilium’s 3: OK', async (cluster, _what, pref, origin) => {
    expect(await attachedPref(cluster)).toBe(pref);
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('ok');
    expect(p.remediations).toEqual([]);
    expect(text).toContain(`classifier_priority: ${pref} _(${originWords(origin)})_`); // in plain words (issue 17)
  });

  it('both env names, the deprecated one lower: the agent reads DD_EVENT_MONITORING_CONFIG_* (5), and the fix patches that one', async () => {
    const cluster = 'nk-em5-rs2';
    expect(await attachedPref(cluster)).toBe(5);
    const { m, p, text } = await netcheck(cluster);
    expect(p).toMatchObject({ verdict: 'action_required', suggestedPriority: 2 });
    expect(p.remediations).toContain('set_classifier_priority');
    expect(text).toContain('classifier_priority: 5 _(set in the system-probe environment)_');
    expect(p.findings.map((f) => f.code)).toContain('config_shadowed'); // RS=2 is not what the agent applies
    // The report names what the button sets, and the file key this agent version reads.
    expect(text).toContain(`env \`${EM}=2\` on system-probe`);
    expect(text).toContain('`event_monitoring_config.network.classifier_priority: 2` in system-probe.yaml');
    expect(text).toContain(`sets ${EM}=2 on system-probe`);
    const r = await setPriority(m);
    expect(r).toMatchObject({ status: 'applied', before: { 'system-probe': { [EM]: '5' } }, after: { 'system-probe': { [EM]: '2' } } });
    expect(r.after['system-probe']).not.toHaveProperty(RS);
    expect(await attachedPref(cluster)).toBe(2); // the new pods' system-probe applies it
    expect((await netcheck(cluster)).p.verdict).toBe('ok');
  });

  it('both keys in the file, the deprecated one higher: it wins over the new key and over any env patch, so no env fix is offered', async () => {
    const cluster = 'nk-file-old5-new2';
    expect(await attachedPref(cluster)).toBe(5);
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('action_required');
    expect(p.remediations).not.toContain('set_classifier_priority');
    expect(p.findings.map((f) => f.code)).toContain('remediation_needs_file');
    expect(text).toContain('classifier_priority: 5 _(set in system-probe.yaml (ConfigMap))_');
    expect(text).toContain('runtime_security_config.network.classifier_priority is set in system-probe.yaml');
  });

  it('the file’s deprecated key beats the new env name: the env var is shadowed and an env fix would not take', async () => {
    const cluster = 'nk-em2-fileold5';
    expect(await attachedPref(cluster)).toBe(5);
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('action_required');
    expect(p.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['config_shadowed', 'remediation_needs_file']));
    expect(p.remediations).not.toContain('set_classifier_priority');
    expect(text).toContain('classifier_priority: 5 _(set in system-probe.yaml (ConfigMap))_');
  });

  it('the deprecated env name over the file’s new key: the fix patches the deprecated env name the pod already sets', async () => {
    const cluster = 'nk-rs5-filenew2';
    expect(await attachedPref(cluster)).toBe(5);
    const { m, p, text } = await netcheck(cluster);
    expect(p).toMatchObject({ verdict: 'action_required', suggestedPriority: 2 });
    expect(text).toContain('classifier_priority: 5 _(set in the system-probe environment)_');
    const r = await setPriority(m);
    expect(r).toMatchObject({ status: 'applied', after: { 'system-probe': { [RS]: '2' } } });
    expect(spEnv(cluster)).toContainEqual({ name: RS, value: '2' });
    expect(await attachedPref(cluster)).toBe(2);
    expect((await netcheck(cluster)).p.verdict).toBe('ok');
  });
});

describe('netcheck on an agent before the event_monitoring_config keys (7.43.1)', () => {
  it('DD_EVENT_MONITORING_CONFIG_* is not read: the agent stays at its default 10; the fix patches DD_RUNTIME_SECURITY_CONFIG_*', async () => {
    const cluster = 'nk-legacy-em';
    expect(await attachedPref(cluster)).toBe(10);
    const { m, p, text } = await netcheck(cluster);
    expect(p).toMatchObject({ verdict: 'action_required', suggestedPriority: 2 });
    expect(text).toContain('classifier_priority: 10 _(default of agent 7.43.1)_');
    expect(text).toContain(`env \`${RS}=2\` on system-probe`);
    expect(text).toContain('`runtime_security_config.network.classifier_priority: 2` in system-probe.yaml');
    const r = await setPriority(m);
    expect(r).toMatchObject({ status: 'applied', after: { 'system-probe': { [RS]: '2' } } });
    expect(r.after['system-probe']).not.toHaveProperty(EM);
    expect(await attachedPref(cluster)).toBe(2);
    expect((await netcheck(cluster)).p.verdict).toBe('ok');
  });

  it('env over the file’s runtime_security_config key (the order before 7.44)', async () => {
    const cluster = 'nk-legacy-rs5-fileold2';
    expect(await attachedPref(cluster)).toBe(5);
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('action_required');
    expect(p.remediations).toContain('set_classifier_priority'); // env takes before 7.44
    expect(text).toContain('classifier_priority: 5 _(set in the system-probe environment)_');
  });

  it('event_monitoring_config in the file is not read either', async () => {
    const cluster = 'nk-legacy-filenew2';
    expect(await attachedPref(cluster)).toBe(10);
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('action_required');
    expect(text).toContain('classifier_priority: 10 _(default of agent 7.43.1)_');
  });
});

describe('netcheck and the newer network options', () => {
  it('classifier_handle equal to raw_classifier_handle (one set through each env name): the agent refuses it, nothing is attached, broken', async () => {
    const cluster = 'nk-handles-equal';
    expect(await attachedPref(cluster)).toBeUndefined(); // CWS did not start on these pods
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('broken');
    expect(p.findings.map((f) => f.code)).toContain('classifier_handles_refused');
    expect(text).toContain('classifier_handle: 5 _(set in the system-probe environment)_');
    expect(text).toContain('raw_classifier_handle: 5 _(set in the system-probe environment)_');
  });

  it('distinct handles and direct send from system-probe: accepted, the handle names the tc filter, OK', async () => {
    const cluster = 'nk-handles-ok';
    expect(await tcOnNode1(cluster)).toMatch(/pref 2 bpf chain 0 handle 0x5 classifier_ingress_/);
    const { p, text } = await netcheck(cluster);
    expect(p.verdict).toBe('ok');
    expect(text).toContain('direct_send_from_system_probe: true _(set in the system-probe environment)_');
  });
});
