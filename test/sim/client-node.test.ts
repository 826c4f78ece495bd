/**
 * The simulator against the real @kubernetes/client-node 1.4, over real TLS sockets, with the
 * kubeconfig's CA (no skipTLSVerify): lists with selectors, patch, delete, exec over WebSocket.
 */
import { Readable } from 'node:stream';
import { AppsV1Api, CoreV1Api, Exec, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadFleet, parseFleet, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { Collect, execCollect, rawGet, until, within } from './support.ts';

const NS = 'datadog';
const SELFTEST = ['security-agent', 'runtime', 'self-test'];
let sim: Simulator;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
const podOn = (node: string) => sim.state.agentPod(node)!.metadata.name;

beforeAll(async () => {
  sim = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sim-a.yaml')) });
  kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await sim?.close();
});

describe('kubeconfig and auth', () => {
  it('names the context after the fleet, with the fleet namespace, a CA and a token', () => {
    const doc = parse(sim.kubeconfig);
    expect(doc['current-context']).toBe('sim-a');
    expect(doc.contexts[0].context.namespace).toBe('datadog');
    expect(doc.clusters[0].cluster['certificate-authority-data']).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(doc.clusters[0].cluster['insecure-skip-tls-verify']).toBeUndefined();
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers 401 Status to a wrong token, and TLS fails without the CA', async () => {
    const bad = new KubeConfig();
    bad.loadFromString(sim.kubeconfig.replace(/token: .*/, 'token: wrong'));
    const err = await bad
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: NS })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 401 }); // client-node drops the body of a 401; read it raw
    const raw = await rawGet(sim, '/api/v1/namespaces/datadog/pods', 'wrong');
    expect(raw).toEqual({
      code: 401,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 },
    });
    expect((await rawGet(sim, '/version')).code).toBe(200);

    const noCa = new KubeConfig();
    noCa.loadFromString(sim.kubeconfig.replace(/certificate-authority-data: .*/, ''));
    await expect(noCa.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS })).rejects.toThrow(/self[- ]signed|certificate/i);
  });
});

describe('reads', () => {
  it('lists agent pods by label selector, field selector, and in pages', async () => {
    const all = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=agent' });
    expect(all.items).toHaveLength(20);
    expect(new Set(all.items.map((p) => p.spec!.nodeName)).size).toBe(20);
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component!=agent' })).items).toHaveLength(0);
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: 'app in (datadog-agent), !k8s-app' })).items).toHaveLength(20);
    const one = await core.listNamespacedPod({ namespace: NS, fieldSelector: 'spec.nodeName=node-7' });
    expect(one.items.map((p) => p.spec!.nodeName)).toEqual(['node-7']);

    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedPod({ namespace: NS, limit: 6, ...(cont ? { _continue: cont } : {}) });
      names.push(...page.items.map((p) => p.metadata!.name!));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont && pages < 10);
    expect(pages).toBe(4);
    expect(new Set(names).size).toBe(20);
    expect((await core.listPodForAllNamespaces({ labelSelector: 'app.kubernetes.io/component=agent' })).items).toHaveLength(20);
  });

  it('reports bad selectors and missing objects as Status errors', async () => {
    const bad = await core.listNamespacedPod({ namespace: NS, labelSelector: 'a in (' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 400 });
    const field = await core.listNamespacedPod({ namespace: NS, fieldSelector: 'spec.foo=x' }).catch((e: unknown) => e);
    expect(JSON.parse(String((field as { body: string }).body))).toMatchObject({ reason: 'BadRequest', message: 'field label not supported: spec.foo' });
    const missing = await core.readNamespacedPod({ namespace: NS, name: 'nope' }).catch((e: unknown) => e);
    expect(JSON.parse(String((missing as { body: string }).body))).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
      code: 404,
    });
  });

  it('serves nodes (node-12 NotReady) and the DaemonSet status', async () => {
    const nodes = await core.listNode();
    expect(nodes.items).toHaveLength(20);
    const n12 = await core.readNode({ name: 'node-12' });
    expect(n12.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('Unknown');
    const ds = await apps.readNamespacedDaemonSet({ namespace: NS, name: 'datadog-agent' });
    expect(ds.metadata!.labels!['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 20, numberReady: 19, numberUnavailable: 1 });
  });
});

describe('exec over WebSocket (v5.channel.k8s.io)', () => {
  it('runs the self-test with stdout and stderr kept apart, and the exit status', async () => {
    const ok = await execCollect(kc, NS, podOn('node-1'), 'security-agent', SELFTEST);
    expect(ok).toEqual({ stdout: 'Runtime self test: OK\n', stderr: '', status: { metadata: {}, status: 'Success' } });

    const disabled = await execCollect(kc, NS, podOn('node-8'), 'security-agent', SELFTEST);
    expect(disabled).toMatchObject({ stdout: 'Runtime self test: error: self-tests are disabled\n', stderr: '', status: { status: 'Success' } });

    const unreachable = await execCollect(kc, NS, podOn('node-10'), 'security-agent', SELFTEST);
    expect(unreachable.stdout).toBe('');
    expect(unreachable.stderr).toMatch(
      /^Error: unable to get a process self test: rpc error: code = Unavailable .*runtime-security\.sock: connect: no such file or directory"\n$/,
    );
    expect(unreachable.status).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: command terminated with exit code 255',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '255' }] },
    });
  });

  it('names failing tests in security-agent status, and runs system-probe in its own container', async () => {
    const status = await execCollect(kc, NS, podOn('node-7'), 'security-agent', ['security-agent', 'status']);
    expect(status.stdout).toContain('    Failed:\n      - datadog_agent_cws_self_test_rule_chmod');
    const sp = await execCollect(kc, NS, podOn('node-1'), 'system-probe', ['system-probe', 'runtime', 'self-test']);
    expect(sp).toMatchObject({ stdout: 'Runtime self test: OK\n', status: { status: 'Success' } });
  });

  it('fails like a cluster: missing binary, bad container, missing pod, unreachable kubelet', async () => {
    const missing = await execCollect(kc, NS, podOn('node-1'), 'system-probe', SELFTEST);
    expect(missing.status).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(missing.status!.message).toMatch(
      /OCI runtime exec failed: exec failed: unable to start container process: exec: "security-agent": executable file not found in \$PATH: unknown$/,
    );

    await expect(new Exec(kc).exec(NS, podOn('node-1'), 'agent', SELFTEST, new Collect(), new Collect(), null, false)).rejects.toThrow(
      'Unexpected server response: 400',
    );
    await expect(new Exec(kc).exec(NS, 'datadog-agent-nope0', 'security-agent', SELFTEST, new Collect(), new Collect(), null, false)).rejects.toThrow(
      'Unexpected server response: 404',
    );
    const body = await rawGet(sim, `/api/v1/namespaces/datadog/pods/${podOn('node-1')}/exec?command=x&container=agent&stdout=true`);
    expect(body).toMatchObject({ code: 400, body: { reason: 'BadRequest', message: `container agent is not valid for pod ${podOn('node-1')}` } });
    expect((await rawGet(sim, `/api/v1/namespaces/datadog/pods/${podOn('node-1')}/exec?command=x&container=security-agent`)).body).toMatchObject({
      message: 'you must specify at least 1 of stdin, stdout, stderr',
    });
    expect((await rawGet(sim, `/api/v1/namespaces/datadog/pods/${podOn('node-1')}/exec?command=x&container=security-agent&stdout=1`)).body).toMatchObject({
      message: 'Upgrade request required',
    });

    const down = await execCollect(kc, NS, podOn('node-12'), 'security-agent', SELFTEST);
    expect(down.status).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(down.status!.message).toMatch(/dial tcp 10\.0\.0\.21:10250: connect: connection refused$/);
  });

  it('streams stdin to the command and half-closes it (v5 close frame)', async () => {
    const remove = sim.state.exec.register({
      containers: ['security-agent'],
      argv: ['cat'],
      handler: async (ctx) => {
        for await (const chunk of ctx.stdin) ctx.stdout.write(String(chunk).toUpperCase());
        return 0;
      },
    });
    try {
      const r = await execCollect(kc, NS, podOn('node-2'), 'security-agent', ['cat'], { stdin: Readable.from(['y\n', 'more\n']) });
      expect(r).toEqual({ stdout: 'Y\nMORE\n', stderr: '', status: { metadata: {}, status: 'Success' } });
    } finally {
      remove();
    }
  });

  it('a hanging self-test ends, with nothing left running, when the client closes the socket', async () => {
    let status: unknown;
    const ws = await within(
      new Exec(kc).exec(NS, podOn('node-9'), 'security-agent', SELFTEST, new Collect(), new Collect(), null, false, (s) => (status = s)),
      5_000,
      'upgrade',
    );
    await until(() => sim.activeExecs() === 1, 2_000, 'the session to be running');
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.activeExecs()).toBe(1);
    ws.close();
    await until(() => sim.activeExecs() === 0, 2_000, 'the hanging session to end');
    expect(status).toBeUndefined();
  });

  it('runs many self-tests at once, each taking its latency', async () => {
    sim.state.setSelftest('node-3', { latencyMs: 300 });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 30 }, () => execCollect(kc, NS, podOn('node-3'), 'security-agent', SELFTEST)));
    expect(results.every((r) => r.status?.status === 'Success')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_000);
    sim.state.setSelftest('node-3', { latencyMs: 0 });
  });
});

describe('writes', () => {
  it('patches the DaemonSet with a strategic merge patch and rolls the pods', async () => {
    const before = new Set((await core.listNamespacedPod({ namespace: NS })).items.map((p) => p.metadata!.name));
    const body = {
      spec: { template: { spec: { containers: [{ name: 'system-probe', env: [{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' }] }] } } },
    };
    const ds = await apps.patchNamespacedDaemonSet(
      { namespace: NS, name: 'datadog-agent', body },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(ds.metadata!.generation).toBe(2);
    expect(ds.status).toMatchObject({ observedGeneration: 2, updatedNumberScheduled: 20, desiredNumberScheduled: 20 });
    const sp = ds.spec!.template.spec!.containers.find((c) => c.name === 'system-probe')!;
    expect(sp.env).toEqual([{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' }]);
    expect(ds.spec!.template.spec!.containers.map((c) => c.name)).toEqual(['security-agent', 'system-probe']);
    const after = (await core.listNamespacedPod({ namespace: NS })).items;
    expect(after).toHaveLength(20);
    expect(after.some((p) => before.has(p.metadata!.name))).toBe(false);
    expect(after.every((p) => p.spec!.containers.find((c) => c.name === 'system-probe')!.env![0]!.value === 'false')).toBe(true);
  });

  it('uses JSON patch by default and answers 415 to other content types', async () => {
    const ds = await apps.patchNamespacedDaemonSet({
      namespace: NS,
      name: 'datadog-agent',
      body: [{ op: 'add', path: '/metadata/labels/team', value: 'sec' }],
    });
    expect(ds.metadata!.labels!.team).toBe('sec');
    expect(ds.metadata!.generation).toBe(2);
    const err = await apps
      .patchNamespacedDaemonSet({ namespace: NS, name: 'datadog-agent', body: {} }, setHeaderOptions('Content-Type', 'application/json'))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 415 });
    expect(JSON.parse(String((err as { body: string }).body))).toMatchObject({ reason: 'UnsupportedMediaType' });
  });

  it('deletes an agent pod; the DaemonSet starts a new one on that node', async () => {
    const old = podOn('node-5');
    await core.deleteNamespacedPod({ namespace: NS, name: old });
    const now = await core.listNamespacedPod({ namespace: NS, fieldSelector: 'spec.nodeName=node-5' });
    expect(now.items).toHaveLength(1);
    expect(now.items[0]!.metadata!.name).not.toBe(old);
    expect(now.items[0]!.status!.phase).toBe('Running');
    const again = await core.deleteNamespacedPod({ namespace: NS, name: old }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 404 });
  });
});

describe('other fleets', () => {
  it('serves the system-probe ConfigMap and a CNI DaemonSet in kube-system', async () => {
    const other = await startSimulator({
      fleet: parseFleet(
        'name: net\ncni: { daemonSet: cilium }\nagent: { systemProbeYaml: "runtime_security_config:\\n  network: { enabled: true }\\n" }',
        'net',
      ),
    });
    try {
      const okc = new KubeConfig();
      okc.loadFromString(other.kubeconfig);
      const cm = await okc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: NS, name: 'datadog-agent-system-probe-config' });
      expect(cm.data!['system-probe.yaml']).toContain('network: { enabled: true }');
      const cni = await okc.makeApiClient(AppsV1Api).listNamespacedDaemonSet({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' });
      expect(cni.items.map((d) => d.spec!.template.spec!.containers[0]!.image)).toEqual(['quay.io/cilium/cilium:v1.9.5']);
    } finally {
      await other.close();
    }
  });

  it('cri-dockerd nodes: a missing binary prints the OCI error and exits 126', async () => {
    const other = await startSimulator({ fleet: parseFleet('name: docker\nnodes: { count: 1 }', 'docker'), runtime: 'cri-dockerd' });
    try {
      const okc = new KubeConfig();
      okc.loadFromString(other.kubeconfig);
      const pod = other.state.agentPod('node-1')!;
      expect(other.state.getNode('node-1')!.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\//);
      const r = await execCollect(okc, NS, pod.metadata.name, 'security-agent', ['bash']);
      expect(r.stdout).toBe(
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown\r\n',
      );
      expect(r.status).toMatchObject({ reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '126' }] } });
    } finally {
      await other.close();
    }
  });

  it('close() ends hanging sessions and frees the port', async () => {
    const other = await startSimulator({ fleet: parseFleet('name: hang\nnodes: { count: 1, selftest: { hang: true } }', 'hang') });
    const okc = new KubeConfig();
    okc.loadFromString(other.kubeconfig);
    const ws = await new Exec(okc).exec(
      NS,
      other.state.agentPod('node-1')!.metadata.name,
      'security-agent',
      SELFTEST,
      new Collect(),
      new Collect(),
      null,
      false,
    );
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    await until(() => other.activeExecs() === 1, 2_000, 'the session to start');
    await within(other.close(), 5_000, 'close()');
    await within(closed, 2_000, 'the client to see the socket close');
    expect(other.activeExecs()).toBe(0);
    await expect(okc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS })).rejects.toThrow(/ECONNREFUSED/);
  });
});
