/**
 * The agent version from the pod's image decides whether `security-agent status` follows the
 * self-test (src/core/selftest/version.ts): the Kubernetes target reads it from the listing, and
 * the simulator's request log shows which exec sessions were opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type KubernetesClusterConfig, parseClustersFile } from '../../src/config/clusters.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, startHarness } from '../support/harness.ts';
import { runSelftestOnAgent } from '../../workers/jobs/selftest.ts';
import { chainScript } from '../../workers/targets/chain.ts';
import { KubernetesTarget } from '../../workers/targets/kubernetes.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-k8s-version-'));
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHAIN = `/bin/sh -c ${chainScript([
  ['security-agent', 'runtime', 'self-test'],
  ['security-agent', 'status'],
])}`;

async function fleetAt(image: string, shell = true, runtime: 'containerd' | 'cri-dockerd' = 'containerd') {
  const lines: string[] = [];
  sim = await startSimulator({
    runtime,
    fleet: parseFleet(
      `name: v\nagent: { image: "${image}", shell: ${shell} }\nnodes:\n  count: 3\n  overrides:\n    node-2: { selftest: { failedTests: [datadog_agent_cws_self_test_rule_open] } }\n`,
      'inline fleet',
    ),
    log: (l) => lines.push(l),
  });
  const kubeconfig = join(dir, `kubeconfig-${image.replace(/\W/g, '_')}`);
  await sim.writeKubeconfig(kubeconfig);
  const cfg = parseClustersFile(`clusters:\n  t: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName} }\n`).clusters
    .t as KubernetesClusterConfig;
  const target = new KubernetesTarget(cfg);
  const agents = await target.listAgents();
  const upgrades = (cmd: string) =>
    lines.filter((l) => / 101 /.test(l) && new URL(l.split(' ')[1]!, 'https://x').searchParams.getAll('command').join(' ') === cmd).length;
  return { target, agents, upgrades, kubeconfig };
}

describe('one exec session per agent where the version makes the verdict final', () => {
  it('a module-era agent (7.34.0): version from the image, OK taken as final, no status session', async () => {
    const { target, agents, upgrades } = await fleetAt('gcr.io/datadoghq/agent:7.34.0');
    expect(agents.map((a) => a.version)).toEqual([0, 1, 2].map(() => ({ major: 7, minor: 34, patch: 0 })));
    const results = await Promise.all(agents.map((a) => runSelftestOnAgent(target, a, undefined, 10_000)));
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(upgrades('security-agent runtime self-test')).toBe(3);
    expect(upgrades('security-agent status')).toBe(0);
  });

  it('a later agent (7.50.3): status read after every OK, in the same session through the image’s sh, and the failing test it lists is named', async () => {
    const { target, agents, upgrades } = await fleetAt('gcr.io/datadoghq/agent:7.50.3');
    const results = await Promise.all(agents.map((a) => runSelftestOnAgent(target, a, undefined, 10_000)));
    expect(results.find((r) => r.node === 'node-2')).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_open'] });
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(2);
    expect(upgrades(CHAIN)).toBe(3);
    expect(upgrades('security-agent runtime self-test')).toBe(0);
    expect(upgrades('security-agent status')).toBe(0);
  });

  it('without reading status (readStatus false) one plain session each', async () => {
    const { target, agents, upgrades } = await fleetAt('gcr.io/datadoghq/agent:7.50.3');
    const results = await Promise.all(agents.map((a) => runSelftestOnAgent(target, a, undefined, 10_000, false)));
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(upgrades('security-agent runtime self-test')).toBe(3);
    expect(upgrades(CHAIN)).toBe(0);
  });

  it('an image without a version (latest) is treated as the newest', async () => {
    const { target, agents, upgrades } = await fleetAt('gcr.io/datadoghq/agent:latest');
    expect(agents.every((a) => a.version === undefined)).toBe(true);
    await Promise.all(agents.map((a) => runSelftestOnAgent(target, a, undefined, 10_000)));
    expect(upgrades(CHAIN)).toBe(3);
  });

  it.each(['containerd', 'cri-dockerd'] as const)(
    'an image without a shell (%s): one session finds out, every agent falls back to two plain sessions, and the verdicts are the same',
    async (runtime) => {
      const { target, agents, upgrades } = await fleetAt('registry.example/agent-distroless:7.50.3', false, runtime);
      const results = await Promise.all(agents.map((a) => runSelftestOnAgent(target, a, undefined, 10_000)));
      expect(results.find((r) => r.node === 'node-2')).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_open'] });
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(2);
      expect(upgrades(CHAIN)).toBe(1);
      expect(upgrades('security-agent runtime self-test')).toBe(3);
      expect(upgrades('security-agent status')).toBe(3);
      // and the next fan-out does not ask again
      await Promise.all(agents.map((a) => runSelftestOnAgent(target, a, undefined, 10_000)));
      expect(upgrades(CHAIN)).toBe(1);
    },
  );
});

describe('a cluster’s selftest.shell, end to end from the slash command', () => {
  it('true (default): one session per agent; false: self-test and status in two plain sessions, same verdicts', async () => {
    const { upgrades, kubeconfig } = await fleetAt('gcr.io/datadoghq/agent:7.50.3');
    const cluster = (name: string, shell?: boolean) =>
      `  ${name}: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim!.contextName}${shell === undefined ? '' : `, selftest: { shell: ${shell} }`} }\n`;
    const h = await startHarness({ clustersYaml: `clusters:\n${cluster('chained')}${cluster('plain', false)}`, minIntervalMs: 200 });
    try {
      const verdicts = async (name: string, channelId: string) => {
        await h.signer.command(`selftest ${name}`, { channelId });
        const final = await h.emu.waitFor((e) => finalSelftest(e, channelId), { timeoutMs: 30_000 });
        const rows = final.metadata!.event_payload.results as { node: string; status: string; failedTests: string[] }[];
        return rows.map((r) => [r.node, r.status, r.failedTests]).sort();
      };
      const chained = await verdicts('chained', 'CSHELL01');
      expect(upgrades(CHAIN)).toBe(3);
      expect(upgrades('security-agent status')).toBe(0);
      const plain = await verdicts('plain', 'CSHELL02');
      expect(upgrades(CHAIN)).toBe(3);
      expect(upgrades('security-agent runtime self-test')).toBe(3);
      expect(upgrades('security-agent status')).toBe(3);
      expect(plain).toEqual(chained);
      expect(chained).toContainEqual(['node-2', 'failed', ['datadog_agent_cws_self_test_rule_open']]);
    } finally {
      await h.close();
    }
  });
});
