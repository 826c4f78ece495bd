/**
 * The netcheck facts a worker gathers from an agent's system-probe container, asked through the
 * real @kubernetes/client-node Exec (and kubectl, where a 1.30+ one is found): the host's
 * interfaces, the tc filters on their clsact ingress hook, system-probe.yaml; the CNI DaemonSet;
 * and patches showing up in new pods.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemProbeLog } from '../../src/sim/flare-archive.ts';
import { agentNetworkConfig, renderProcNetDev, tcFilterLines } from '../../src/sim/host-net.ts';
import { parseFleet, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { execCollect, type ExecOutcome } from './support.ts';

const NS = 'datadog';
const CILIUM_9FC =
  'filter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited\n';
const CILIUM_2A1 =
  'filter protocol all pref 1 bpf chain 0 \nfilter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-lxc2a1b3c4d5e6f direct-action not_in_hw id 4940 tag 0b1c2d3e4f506172 jited \n';
const SYSTEM_PROBE_YAML = 'runtime_security_config:\n  enabled: true\n  network:\n    enabled: true\n';
const FLEET = `
name: sim-net
namespace: ${NS}
agent:
  image: gcr.io/datadoghq/agent:7.50.3
  systemProbeYaml: |
${SYSTEM_PROBE_YAML.replace(/^/gm, '    ').trimEnd()}
cni: { daemonSet: cilium, image: quay.io/cilium/cilium:v1.9.5, labels: { k8s-app: cilium } }
nodes:
  count: 3
  tc:
    lxc9fc12c71903b: ${JSON.stringify(CILIUM_9FC)}
    lxc2a1b3c4d5e6f: ${JSON.stringify(CILIUM_2A1)}
  overrides:
    node-2: { tc: { lxcabc: "" } }
`;
const HOST_NET = '--net=/host/proc/1/ns/net';
const tcShow = (dev: string, parent = 'ingress') => ['nsenter', HOST_NET, 'tc', 'filter', 'show', 'dev', dev, parent];

let sim: Simulator;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
const podOn = (node: string) => sim.state.agentPod(node)!.metadata.name;
const run = (node: string, argv: string[], container = 'system-probe'): Promise<ExecOutcome> => execCollect(kc, NS, podOn(node), container, argv);
const exitCode = (o: ExecOutcome) => (o.status?.status === 'Success' ? 0 : Number(o.status?.details?.causes?.[0]?.message));
/** The interface names of a /proc/net/dev text. */
const devNames = (text: string) =>
  text
    .split('\n')
    .slice(2)
    .filter(Boolean)
    .map((l) => l.split(':')[0]!.trim());

beforeAll(async () => {
  sim = await startSimulator({ fleet: parseFleet(FLEET, 'netfacts') });
  kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await sim?.close();
});

describe('the CNI and the agent pod, as listed', () => {
  it('lists the Cilium DaemonSet and its pods in kube-system with the image', async () => {
    const sets = await apps.listNamespacedDaemonSet({ namespace: 'kube-system' });
    expect(sets.items.map((d) => d.metadata!.name)).toEqual(['cilium']);
    const cilium = sets.items[0]!;
    expect(cilium.metadata!.labels).toEqual({ 'k8s-app': 'cilium' });
    expect(cilium.spec!.template.spec!.containers.map((c) => c.image)).toEqual(['quay.io/cilium/cilium:v1.9.5']);
    const pods = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' });
    expect(pods.items.map((p) => p.spec!.nodeName).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const p of pods.items) {
      expect(p.spec!.containers[0]!.image).toBe('quay.io/cilium/cilium:v1.9.5');
      expect(p.status!.containerStatuses![0]!.image).toBe('quay.io/cilium/cilium:v1.9.5');
    }
  });

  it('runs the agent pod as the Helm chart does: hostPID, the host /proc at /host/proc and the chart capabilities in system-probe', async () => {
    const pod = await core.readNamespacedPod({ namespace: NS, name: podOn('node-1') });
    expect(pod.spec!.hostPID).toBe(true);
    expect(pod.spec!.volumes).toEqual(
      expect.arrayContaining([
        { name: 'procdir', hostPath: { path: '/proc', type: '' } },
        { name: 'sysprobe-config', configMap: { name: 'datadog-agent-system-probe-config', defaultMode: 420 } },
      ]),
    );
    const sp = pod.spec!.containers.find((c) => c.name === 'system-probe')!;
    expect(sp.volumeMounts).toEqual(expect.arrayContaining([{ name: 'procdir', mountPath: '/host/proc', readOnly: true }]));
    expect(sp.securityContext!.capabilities!.add).toEqual(expect.arrayContaining(['SYS_ADMIN', 'SYS_PTRACE', 'NET_ADMIN']));
  });
});

describe('netcheck facts from system-probe', () => {
  it('cat /host/proc/1/net/dev: the host interfaces (lo, eth0, Cilium devices, the node tc keys) in /proc/net/dev layout', async () => {
    const r = await run('node-1', ['cat', '/host/proc/1/net/dev']);
    expect(r.stderr).toBe('');
    expect(r.status).toMatchObject({ status: 'Success' });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Inter-|   Receive                                                |  Transmit');
    expect(lines[1]).toBe(' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed');
    expect(lines[2]).toMatch(/^ {4}lo: +\d+ +\d+( +\d+){14}$/);
    expect(devNames(r.stdout)).toEqual(['lo', 'eth0', 'cilium_net', 'cilium_host', 'cilium_vxlan', 'lxc9fc12c71903b', 'lxc2a1b3c4d5e6f']);
    // an override's tc map replaces the node's interfaces
    expect(devNames((await run('node-2', ['cat', '/host/proc/1/net/dev'])).stdout)).toEqual([
      'lo',
      'eth0',
      'cilium_net',
      'cilium_host',
      'cilium_vxlan',
      'lxcabc',
    ]);
  });

  it('the container own netns (/proc/net/dev, /host/proc/self/net/dev): a pod has lo and eth0 only', async () => {
    expect(devNames((await run('node-1', ['cat', '/proc/net/dev'])).stdout)).toEqual(['lo', 'eth0']);
    expect(devNames((await run('node-1', ['cat', '/host/proc/self/net/dev'])).stdout)).toEqual(['lo', 'eth0']);
    // with hostPID, /proc/1 is the host's init too; nsenter'ed cat reads the host's namespace
    expect(devNames((await run('node-1', ['cat', '/proc/1/net/dev'])).stdout)).toContain('lxc9fc12c71903b');
    expect(devNames((await run('node-1', ['nsenter', HOST_NET, 'cat', '/proc/net/dev'])).stdout)).toContain('lxc9fc12c71903b');
  });

  it('nsenter --net=/host/proc/1/ns/net tc filter show dev IFACE ingress: the spec text, empty when none', async () => {
    const a = await run('node-1', tcShow('lxc9fc12c71903b'));
    expect(a).toMatchObject({ stdout: CILIUM_9FC, stderr: '', status: { status: 'Success' } });
    expect((await run('node-3', tcShow('lxc2a1b3c4d5e6f'))).stdout).toBe(CILIUM_2A1);
    // same pref filter: `pref 1` selects both lines; another pref nothing
    expect((await run('node-3', [...tcShow('lxc2a1b3c4d5e6f'), 'pref', '1'])).stdout).toBe(CILIUM_2A1);
    expect((await run('node-3', [...tcShow('lxc2a1b3c4d5e6f'), 'pref', '5'])).stdout).toBe('');
    // the override's interface has no filter; egress and other host devices neither
    for (const [node, argv] of [
      ['node-2', tcShow('lxcabc')],
      ['node-1', tcShow('lxc9fc12c71903b', 'egress')],
      ['node-1', tcShow('cilium_host')],
      ['node-1', tcShow('eth0')],
    ] as const) {
      const r = await run(node, [...argv]);
      expect(r, `${node} ${argv.join(' ')}`).toMatchObject({ stdout: '', stderr: '', status: { status: 'Success' } });
    }
    // the absolute paths name the same binaries
    expect((await run('node-1', ['/usr/bin/nsenter', HOST_NET, '/usr/sbin/tc', 'filter', 'show', 'dev', 'lxc9fc12c71903b', 'ingress'])).stdout).toBe(
      CILIUM_9FC,
    );
  });

  it('tc -j: the same filters as iproute2 JSON', async () => {
    const r = await run('node-3', ['nsenter', HOST_NET, 'tc', '-j', 'filter', 'show', 'dev', 'lxc2a1b3c4d5e6f', 'ingress']);
    expect(JSON.parse(r.stdout)).toEqual([
      { protocol: 'all', pref: 1, kind: 'bpf', chain: 0 },
      {
        protocol: 'all',
        pref: 1,
        kind: 'bpf',
        chain: 0,
        options: {
          handle: '0x1',
          bpf_name: 'cil_from_container-lxc2a1b3c4d5e6f',
          'direct-action': true,
          not_in_hw: true,
          prog: { id: 4940, tag: '0b1c2d3e4f506172', jited: true },
        },
      },
    ]);
  });

  it('an unknown device: Cannot find device "x" on stderr, exit 1', async () => {
    for (const [node, dev] of [
      ['node-1', 'nope0'],
      ['node-2', 'lxc9fc12c71903b'], // not on that node: its override replaced the interfaces
    ] as const) {
      const r = await run(node, tcShow(dev));
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`Cannot find device "${dev}"\n`);
      expect(r.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
      expect(exitCode(r)).toBe(1);
    }
  });

  it('tc without nsenter answers for the container own netns: no pod-facing device there', async () => {
    const r = await run('node-1', ['tc', 'filter', 'show', 'dev', 'lxc9fc12c71903b', 'ingress']);
    expect(r.stderr).toBe('Cannot find device "lxc9fc12c71903b"\n');
    expect(exitCode(r)).toBe(1);
    expect(await run('node-1', ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress'])).toMatchObject({ stdout: '', stderr: '', status: { status: 'Success' } });
  });

  it('cat /etc/datadog-agent/system-probe.yaml: the ConfigMap content, mounted', async () => {
    const r = await run('node-1', ['cat', '/etc/datadog-agent/system-probe.yaml']);
    expect(r).toMatchObject({ stdout: SYSTEM_PROBE_YAML, stderr: '', status: { status: 'Success' } });
  });

  it('nsenter and tc errors, as util-linux and iproute2 word them', async () => {
    const cases: [string[], string, number][] = [
      [['nsenter', '--net=/host/proc/1/ns/net', 'nosuch'], 'nsenter: failed to execute nosuch: No such file or directory\n', 127],
      [['nsenter', '--net=/nonexistent', 'tc'], 'nsenter: cannot open /nonexistent: No such file or directory\n', 1],
      [['nsenter', '--net=/etc/datadog-agent/system-probe.yaml', 'tc'], "nsenter: reassociate to namespace 'ns/net' failed: Invalid argument\n", 1],
      [['nsenter', '-n', 'tc'], 'nsenter: neither filename nor target pid supplied for ns/net\n', 1],
      [['nsenter', '--bogus'], "nsenter: unrecognized option '--bogus'\nTry 'nsenter --help' for more information.\n", 1],
      [['tc', 'filter', 'show', 'dev', 'eth0', 'bogus'], ' What is "bogus"? Try "tc filter help"\n', 255],
      [['tc', 'foo'], 'Object "foo" is unknown, try "tc help".\n', 255],
    ];
    for (const [argv, stderr, code] of cases) {
      const r = await run('node-1', argv);
      expect({ stderr: r.stderr, code: exitCode(r) }, argv.join(' ')).toEqual({ stderr, code });
    }
    // -t 1 -n: PID 1 of the container's PID namespace, the host's init with hostPID
    expect((await run('node-1', ['nsenter', '-t', '1', '-n', 'tc', 'filter', 'show', 'dev', 'lxc9fc12c71903b', 'ingress'])).stdout).toBe(CILIUM_9FC);
  });

  it('security-agent: no /host/proc mount, so nothing of the host is found there', async () => {
    const nsenter = await run('node-1', tcShow('lxc9fc12c71903b'), 'security-agent');
    expect(nsenter.stderr).toBe('nsenter: cannot open /host/proc/1/ns/net: No such file or directory\n');
    expect(exitCode(nsenter)).toBe(1);
    const cat = await run('node-1', ['cat', '/host/proc/1/net/dev'], 'security-agent');
    expect(cat.stderr).toBe('cat: /host/proc/1/net/dev: No such file or directory\n');
    expect(exitCode(cat)).toBe(1);
    const tc = await run('node-1', ['tc', 'filter', 'show', 'dev', 'lxc9fc12c71903b', 'ingress'], 'security-agent');
    expect(tc.stderr).toBe('Cannot find device "lxc9fc12c71903b"\n');
  });
});

describe('run-time changes', () => {
  it('state.setTc changes what tc shows on a node from then on', async () => {
    sim.state.setTc('node-3', { lxcnew: 'filter protocol all pref 3 bpf chain 0 handle 0x1 vendor_prog direct-action not_in_hw id 7 tag 00 jited\n' });
    expect(devNames((await run('node-3', ['cat', '/host/proc/1/net/dev'])).stdout)).toContain('lxcnew');
    expect((await run('node-3', tcShow('lxcnew'))).stdout).toMatch(/pref 3 .*vendor_prog/);
    expect((await run('node-3', tcShow('lxc2a1b3c4d5e6f'))).stderr).toBe('Cannot find device "lxc2a1b3c4d5e6f"\n');
  });

  it('a strategic-merge env patch of system-probe shows in the new pods; the modelled agent classifiers follow the priority', async () => {
    sim.state.setAgentClassifiers(true);
    try {
      const before = await run('node-1', tcShow('lxc9fc12c71903b'));
      // default classifier_priority 10: after Cilium's pref 1
      expect(before.stdout).toMatch(
        new RegExp(
          `^${CILIUM_9FC.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}filter protocol all pref 10 bpf chain 0 \nfilter protocol all pref 10 bpf chain 0 handle 0x1 classifier_ingress_security6_4026531840_\\d+ direct-action not_in_hw id \\d+ tag [0-9a-f]{16} jited \n$`,
        ),
      );
      const oldPods = (await core.listNamespacedPod({ namespace: NS })).items.map((p) => p.metadata!.name);

      const body = {
        spec: {
          template: { spec: { containers: [{ name: 'system-probe', env: [{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY', value: '3' }] }] } },
        },
      };
      await apps.patchNamespacedDaemonSet({ namespace: NS, name: 'datadog-agent', body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));

      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=agent' })).items;
      expect(pods).toHaveLength(3);
      for (const p of pods) {
        expect(oldPods).not.toContain(p.metadata!.name);
        const sp = p.spec!.containers.find((c) => c.name === 'system-probe')!;
        expect(sp.env).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY', value: '3' });
        expect(sp.volumeMounts).toContainEqual({ name: 'procdir', mountPath: '/host/proc', readOnly: true }); // the rest of the container is kept
      }
      const after = await run('node-1', tcShow('lxc9fc12c71903b'));
      expect(after.stdout.split('\n')[0]).toBe(CILIUM_9FC.trimEnd());
      expect(after.stdout).toMatch(/\nfilter protocol all pref 3 bpf chain 0 handle 0x1 classifier_ingress_security6_4026531840_\d+ /);
      expect((await run('node-1', tcShow('lxc9fc12c71903b', 'egress'))).stdout).toMatch(
        /^filter protocol all pref 3 bpf chain 0 \nfilter protocol all pref 3 .* classifier_egress_/,
      );
    } finally {
      sim.state.setAgentClassifiers(false);
    }
    expect((await run('node-1', tcShow('lxc9fc12c71903b'))).stdout).toBe(CILIUM_9FC);
  });

  it('a patch that drops SYS_ADMIN from system-probe: nsenter cannot enter the host namespace in the new pods', async () => {
    const body = { spec: { template: { spec: { containers: [{ name: 'system-probe', securityContext: { capabilities: { add: ['SYS_PTRACE'] } } }] } } } };
    await apps.patchNamespacedDaemonSet({ namespace: NS, name: 'datadog-agent', body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    const r = await run('node-1', tcShow('lxc9fc12c71903b'));
    expect(r.stderr).toBe("nsenter: reassociate to namespace 'ns/net' failed: Operation not permitted\n");
    expect(exitCode(r)).toBe(1);
  });
});

describe('without systemProbeYaml', () => {
  it('cat /etc/datadog-agent/system-probe.yaml: no such file, exit 1', async () => {
    const bare = await startSimulator({ fleet: parseFleet('name: bare\nnodes: { count: 1 }\n', 'bare') });
    try {
      const k = new KubeConfig();
      k.loadFromString(bare.kubeconfig);
      const r = await execCollect(k, NS, bare.state.agentPod('node-1')!.metadata.name, 'system-probe', ['cat', '/etc/datadog-agent/system-probe.yaml']);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('cat: /etc/datadog-agent/system-probe.yaml: No such file or directory\n');
      expect(exitCode(r)).toBe(1);
      // no CNI: the host has lo and eth0 only
      const dev = await execCollect(k, NS, bare.state.agentPod('node-1')!.metadata.name, 'system-probe', ['cat', '/host/proc/1/net/dev']);
      expect(devNames(dev.stdout)).toEqual(['lo', 'eth0']);
    } finally {
      await bare.close();
    }
  });
});

describe('host-net (pure)', () => {
  it('agentNetworkConfig: 0 → 50; before 7.39.2 priority 1; before 7.36 none; off when disabled', () => {
    const yaml = 'runtime_security_config:\n  network:\n    classifier_priority: 5\n';
    expect(agentNetworkConfig({}, undefined, '7.50.3')).toEqual({ attaches: true, priority: 10, handle: 0, warnings: [] });
    expect(agentNetworkConfig({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '0' }, undefined, '7.50.3').priority).toBe(50);
    expect(agentNetworkConfig({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '2' }, yaml, '7.39.1').priority).toBe(1);
    expect(agentNetworkConfig({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'false' }, undefined, '7.50.3').attaches).toBe(false);
    expect(agentNetworkConfig({ DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'false' }, undefined, '7.50.3').attaches).toBe(false);
    expect(agentNetworkConfig({}, 'runtime_security_config:\n  enabled: false\n', '7.50.3').attaches).toBe(false);
    expect(agentNetworkConfig({}, undefined, '7.35.0').attaches).toBe(false);
  });

  // The agent's precedence (host-net.ts agentNetworkConfig; DataDog/datadog-agent pkg/security/probe/config/config.go
  // getBool/getInt and pkg/config/setup/system_probe.go eventMonitorBindEnvAndSetDefault).
  const EM = 'DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY';
  const RS = 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY';
  const oldKey = (n: number) => `runtime_security_config:\n  network:\n    classifier_priority: ${n}\n`;
  const newKey = (n: number) => `event_monitoring_config:\n  network:\n    classifier_priority: ${n}\n`;
  const both = (o: number, n: number) => `${oldKey(o)}${newKey(n)}`;
  const prio = (env: Record<string, string>, yaml: string | undefined, version = '7.50.3') => agentNetworkConfig(env, yaml, version).priority;

  it.each([
    ['new env alone', { [EM]: '2' }, undefined, 2],
    ['old env alone', { [RS]: '2' }, undefined, 2],
    ['both env: the event_monitoring name is bound first', { [EM]: '2', [RS]: '5' }, undefined, 2],
    ['both env, the other way round', { [EM]: '5', [RS]: '2' }, undefined, 5],
    ['an empty env var does not count', { [EM]: '', [RS]: '2' }, undefined, 2],
    ['new key in the file alone', {}, newKey(2), 2],
    ['deprecated key in the file alone', {}, oldKey(2), 2],
    ['both keys in the file: the deprecated one wins', {}, both(5, 2), 5],
    ['both keys in the file, the other way round', {}, both(2, 5), 2],
    ['env over the file’s new key', { [EM]: '2' }, newKey(5), 2],
    ['old env over the file’s new key', { [RS]: '5' }, newKey(2), 5],
    ['the file’s deprecated key over every env var', { [EM]: '2', [RS]: '2' }, oldKey(5), 5],
    ['flat dotted keys are read as nested ones', {}, 'runtime_security_config.network.classifier_priority: 7\n', 7],
  ])('7.44+: %s', (_name, env, yaml, want) => {
    expect(prio(env, yaml)).toBe(want);
  });

  it.each([
    ['the new env name is not read', { [EM]: '2' }, undefined, 10],
    ['old env alone', { [RS]: '2' }, undefined, 2],
    ['env over the file', { [RS]: '5' }, oldKey(2), 5],
    ['the file’s event_monitoring_config key is not read', {}, newKey(2), 10],
    ['the file’s runtime_security_config key', {}, both(3, 2), 3],
  ])('before 7.44 (7.43.1): %s', (_name, env, yaml, want) => {
    expect(prio(env, yaml, '7.43.1')).toBe(want);
  });

  it('logs the deprecation of each deprecated key it applies, as system-probe does', () => {
    expect(agentNetworkConfig({ [EM]: '2' }, both(5, 3), '7.50.3').warnings).toEqual([
      'runtime_security_config.network.classifier_priority has been deprecated: please set event_monitoring_config.network.classifier_priority instead',
    ]);
    expect(agentNetworkConfig({}, newKey(3), '7.50.3').warnings).toEqual([]);
    expect(agentNetworkConfig({}, oldKey(3), '7.43.1').warnings).toEqual([]); // not deprecated before 7.44
  });

  it('the deprecation warnings are in system-probe’s log (as a flare shows it), one per deprecated key applied', () => {
    const input = {
      hostname: 'node-1',
      now: new Date(Date.UTC(2024, 4, 14, 9, 12, 33)),
      podName: 'p',
      podUid: 'u',
      podStartedAt: new Date(Date.UTC(2024, 4, 14, 8, 0, 0)),
      nodeIP: '10.0.0.10',
      kernelVersion: '5.15.0-1067-aws',
      agentVersion: '7.50.3',
      env: {},
      apiKey: 'k',
      appKey: 'a',
      systemProbeYaml: 'runtime_security_config:\n  network:\n    enabled: true\n    classifier_priority: 5\n',
      systemProbeEnv: { [EM]: '2' },
      statusText: '',
      secretIn: null,
    };
    const warns = systemProbeLog(input)
      .split('\n')
      .filter((l) => l.includes('| WARN |'));
    expect(warns).toHaveLength(2);
    expect(warns[0]).toMatch(
      /^2024-05-14 08:00:01 UTC \| SYS-PROBE \| WARN \| \(pkg\/security\/probe\/config\/config\.go:\d+ in getBool\) \| runtime_security_config\.network\.enabled has been deprecated: please set event_monitoring_config\.network\.enabled instead$/,
    );
    expect(warns[1]).toContain('in getInt) | runtime_security_config.network.classifier_priority has been deprecated');
    expect(systemProbeLog({ ...input, agentVersion: '7.43.1' })).not.toContain('| WARN |');
    expect(systemProbeLog({ ...input, systemProbeYaml: undefined })).not.toContain('| WARN |');
  });

  it('classifier handles: refused when equal and not 0 or when only one is set (raw packets on); the handle names the tc filter', () => {
    const h = (c: string, r: string, extra: Record<string, string> = {}) =>
      agentNetworkConfig(
        { DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_HANDLE: c, DD_EVENT_MONITORING_CONFIG_NETWORK_RAW_CLASSIFIER_HANDLE: r, ...extra },
        undefined,
        '7.50.3',
      );
    expect(h('5', '5')).toMatchObject({
      attaches: false,
      refused: "network.classifier_handle and network.raw_classifier_handle can't be equal and not null: got classifier_handle:5 raw_classifier_handle:5",
    });
    expect(h('5', '0')).toMatchObject({ attaches: false, refused: expect.stringMatching(/^none or both of network.classifier_handle/) });
    expect(h('5', '6')).toMatchObject({ attaches: true, handle: 5 });
    expect(h('5', '5', { DD_RUNTIME_SECURITY_CONFIG_NETWORK_RAW_PACKET_ENABLED: 'false' })).toMatchObject({ attaches: true, handle: 5 });
    // From the file, deprecated key first, as every network option.
    const yaml = 'runtime_security_config:\n  network:\n    classifier_handle: 7\n    raw_classifier_handle: 7\n';
    expect(agentNetworkConfig({}, yaml, '7.50.3').attaches).toBe(false);
    expect(agentNetworkConfig({}, yaml, '7.43.1').attaches).toBe(true); // not read before 7.44
    const agent = { pref: 10, name: 'classifier_ingress_x', progId: 1, tag: '00', handle: 5 };
    expect(tcFilterLines(undefined, 'ingress', agent)[1]).toMatch(/ handle 0x5 classifier_ingress_x /);
  });

  it('tcFilterLines: agent filters sorted by pref among the vendor lines', () => {
    const vendor = 'filter protocol all pref 1 bpf chain 0 handle 0x1 a direct-action\nfilter protocol all pref 20 bpf chain 0 handle 0x1 b direct-action\n';
    const agent = { pref: 10, name: 'classifier_ingress_x', progId: 1, tag: '00' };
    expect(tcFilterLines(vendor, 'ingress', agent).map((l) => /pref (\d+)/.exec(l)![1])).toEqual(['1', '10', '10', '20']);
    expect(tcFilterLines(vendor, 'egress', undefined)).toEqual([]);
    expect(tcFilterLines(vendor, 'ingress', undefined, 20)).toEqual(['filter protocol all pref 20 bpf chain 0 handle 0x1 b direct-action\n']);
  });

  it('renderProcNetDev: the kernel column widths, long names overflow the 6-wide name field', () => {
    const text = renderProcNetDev(['lo', 'lxc9fc12c71903b'], 'seed');
    const [lo, lxc] = text.split('\n').slice(2);
    expect(lo).toMatch(/^ {4}lo: {1}/);
    expect(lxc).toMatch(/^lxc9fc12c71903b: /);
    expect(lxc!.split(':')[1]!.trim().split(/ +/)).toHaveLength(16);
    expect(renderProcNetDev(['lo'], 'seed')).toBe(renderProcNetDev(['lo'], 'seed'));
  });
});

// ── kubectl exec (1.30+), where found ────────────────────────────────────────────────────

function newestKubectl(): string | undefined {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, 'kubectl'))
    .find((p) => existsSync(p));
  if (!onPath) return undefined;
  const dir = dirname(realpathSync(onPath));
  const versions = readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) >= 30)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  const last = versions.at(-1);
  return last ? join(dir, last[0]) : onPath;
}

const kubectlPath = newestKubectl();
if (!kubectlPath) console.log('netfacts kubectl test skipped: kubectl is not on PATH');

describe.skipIf(!kubectlPath)('kubectl exec -c system-probe', () => {
  it('answers the same facts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cws-netfacts-'));
    const fresh = await startSimulator({ fleet: parseFleet(FLEET, 'netfacts') });
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await fresh.writeKubeconfig(kubeconfig);
      const pod = fresh.state.agentPod('node-1')!.metadata.name;
      const kubectl = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(
            kubectlPath!,
            ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', ...args],
            { timeout: 20_000 },
            (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
          );
        });
      const tc = await kubectl(['exec', pod, '-c', 'system-probe', '--', ...tcShow('lxc9fc12c71903b')]);
      expect(tc).toMatchObject({ code: 0, stdout: CILIUM_9FC });
      const missing = await kubectl(['exec', pod, '-c', 'system-probe', '--', ...tcShow('nope0')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('Cannot find device "nope0"');
      const dev = await kubectl(['exec', pod, '-c', 'system-probe', '--', 'cat', '/host/proc/1/net/dev']);
      expect(devNames(dev.stdout)).toContain('lxc2a1b3c4d5e6f');
      const yaml = await kubectl(['exec', pod, '-c', 'system-probe', '--', 'cat', '/etc/datadog-agent/system-probe.yaml']);
      expect(yaml).toMatchObject({ code: 0, stdout: SYSTEM_PROBE_YAML });
    } finally {
      await fresh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
