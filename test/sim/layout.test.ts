/**
 * Agent pod layouts (issue 19): a fleet without the security-agent container (the
 * system-probe-only layout, test/fixtures/fleets/sp-only.yaml), CWS sending from system-probe,
 * per-node layouts, `system-probe runtime self-test`, and the core agent's `agent flare` /
 * `status` / `version` in the agent container — over the REAL @kubernetes/client-node Exec and,
 * where it is on PATH, kubectl. Sources: test/fixtures/selftest/SOURCES.md §4,
 * src/sim/FLARE-SOURCES.md §8.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { CoreV1Api, Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_FLARE_FILE_NAMES } from '../../src/sim/flare-archive.ts';
import {
  aborting,
  CONFIRM_PROMPT,
  CORE_BUILDING,
  CORE_FLARE_HELP,
  CORE_FLARE_UI_NOTICE,
  EMAIL_PROMPT,
  goingToBeUploaded,
  invalidProfiling,
  parseFlareCommandLine,
  uploadSuccess,
} from '../../src/sim/flare-cli.ts';
import { DIRECT_SEND_ENV, podLayout } from '../../src/sim/fleet.ts';
import { ClusterState, loadFleet, parseFleet, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { Collect, execCollect, rawGet, until, within } from './support.ts';

const NS = 'datadog';
const SP_SELFTEST = ['system-probe', 'runtime', 'self-test'];
const SA_SELFTEST = ['security-agent', 'runtime', 'self-test'];
const ARCHIVE = /^\/tmp\/datadog-agent-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-info\.zip$/;
const UNREACHABLE =
  'Error: unable to get a process self test: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /opt/datadog-agent/run/runtime-security.sock: connect: no such file or directory"\n';
const dec = new TextDecoder();
const SUCCESS = { metadata: {}, status: 'Success' };

// Every container, direct send on; node-2 keeps the security-agent's socket (direct send off
// there); node-3's pod has no security-agent; node-5's adds the env to its system-probe.
const MIXED = `name: mixed
agent:
  image: gcr.io/datadoghq/agent:7.77.0
  containers:
    agent: {}
    security-agent: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }
    system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }
  directSend: true
nodes:
  count: 5
  overrides:
    node-2: { agent: { directSend: false } }
    node-3: { agent: { containers: { security-agent: null } } }
    node-5: { agent: { containers: { system-probe: { env: { DD_LOG_LEVEL: debug } } } } }
`;

function problems(text: string): string[] {
  try {
    parseFleet(text, 'f.yaml');
    return [];
  } catch (e) {
    return (e as Error).message.split('\n');
  }
}

describe('the fleet spec: layouts', () => {
  it('reads sp-only.yaml: six nodes, agent + system-probe, direct send on, node-4 failing', () => {
    const f = loadFleet(join(import.meta.dirname, '../fixtures/fleets/sp-only.yaml'));
    expect(f.nodes.names).toEqual(['node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6']);
    expect(Object.keys(f.agent.containers)).toEqual(['agent', 'system-probe']);
    expect(f.agent.directSend).toBe(true);
    expect(f.nodes.overrides['node-4']?.selftest?.stdout).toMatch(/^Runtime self test: error: /);
  });

  it('a node override removes (null), adds, or adds env to containers, and turns direct send on or off', () => {
    const f = parseFleet(MIXED, 'mixed');
    expect(podLayout(f, 'node-1')).toEqual({
      containers: {
        agent: { env: {} },
        'security-agent': { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' } },
        'system-probe': { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' } },
      },
      directSend: true,
    });
    expect(podLayout(f, 'node-2').directSend).toBe(false);
    expect(Object.keys(podLayout(f, 'node-3').containers)).toEqual(['agent', 'system-probe']);
    expect(podLayout(f, 'node-5').containers['system-probe']).toEqual({ env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true', DD_LOG_LEVEL: 'debug' } });
  });

  it('names what is wrong: unknown keys, a pod left with no container, a bad container name', () => {
    expect(problems('name: a\nnodes: { count: 1, overrides: { node-1: { agent: { containers: { security-agent: null, system-probe: null } } } } }')).toEqual([
      'f.yaml: nodes.overrides.node-1.agent.containers: leaves the pod with no container',
    ]);
    expect(problems('name: a\nnodes: { count: 1, overrides: { node-1: { agent: { layout: x } } } }')).toEqual([
      'f.yaml: nodes.overrides.node-1.agent.layout: unknown key',
    ]);
    expect(problems('name: a\nagent: { directSend: maybe }')[0]).toMatch(/^f\.yaml: agent\.directSend: /);
    expect(problems('name: a\nnodes: { count: 1, overrides: { node-1: { agent: { containers: { Agent: {} } } } } }')[0]).toMatch(
      /^f\.yaml: nodes\.overrides\.node-1\.agent\.containers\.Agent: /,
    );
    // secretIn may name a file of the core agent's flare too.
    expect(problems('name: a\nnodes: { flare: { secretIn: runtime_config_dump.yaml } }')).toEqual([]);
  });
});

describe('agent flare command line (the core agent’s flags)', () => {
  it('takes -l/--local and -p, rejects what pflag rejects, with its words', () => {
    expect(parseFlareCommandLine(['123', '-e', 'a@b.co'], 'agent')).toEqual({
      kind: 'run',
      options: { caseId: '123', email: 'a@b.co', send: false, local: false, profile: -1 },
    });
    expect(parseFlareCommandLine(['-ls', '--email=x@y.z', '-p', '45', '--log_level', 'debug', '-t', '30s'], 'agent')).toEqual({
      kind: 'run',
      options: { caseId: '', email: 'x@y.z', send: true, local: true, profile: 45 },
    });
    expect(parseFlareCommandLine(['--common-root', '7'], 'agent')).toMatchObject({ options: { caseId: '7' } }); // NoOptDefVal: the next word is not its value
    expect(parseFlareCommandLine(['-p', 'x'], 'agent')).toEqual({
      kind: 'error',
      message: 'invalid argument "x" for "-p, --profile" flag: strconv.ParseInt: parsing "x": invalid syntax',
    });
    expect(parseFlareCommandLine(['-L', '5'], 'agent')).toEqual({
      kind: 'error',
      message: 'invalid argument "5" for "-L, --with-stream-logs" flag: time: invalid duration "5"',
    });
    expect(parseFlareCommandLine(['--nope'], 'agent')).toEqual({ kind: 'error', message: 'unknown flag: --nope' });
    expect(parseFlareCommandLine(['--local'])).toEqual({ kind: 'error', message: 'unknown flag: --local' }); // security-agent's flare has no --local
  });

  it('prints cobra’s help with pflag’s columns', () => {
    expect(CORE_FLARE_HELP).toMatch(/^Collect a flare and send it to Datadog\n\nUsage:\n {2}agent flare \[caseID\] \[flags\]\n\nFlags:\n/);
    // The usage column: three spaces past the longest "  -x, --name type" of each block.
    expect(CORE_FLARE_HELP).toContain('\n  -e, --email string                 Your email\n');
    expect(CORE_FLARE_HELP).toContain(
      '\n      --profile-mutex-fraction int   Set the fraction of mutex contention events that are reported in the mutex profile (default 100)\n',
    );
    expect(CORE_FLARE_HELP).toContain(
      '\n      --log_level string             Override the log level for this command for debugging purposes (default "off")\n',
    );
    expect(CORE_FLARE_HELP).toContain(
      '\n  -L, --with-stream-logs duration    Add stream-logs data to the flare. It will collect logs for the amount of seconds passed to the flag\n\nGlobal Flags:\n',
    );
    expect(CORE_FLARE_HELP).toContain(
      '\nGlobal Flags:\n  -c, --cfgpath string                              path to directory containing datadog.yaml\n      --common-root string[="/opt/datadog-agent"]   enable read-only',
    );
    expect(CORE_FLARE_HELP).not.toContain('fleetcfgpath'); // hidden
  });
});

// ── the system-probe-only fleet ──────────────────────────────────────────────────────────

let sim: Simulator;
let mixed: Simulator;
let kc: KubeConfig;
let kcMixed: KubeConfig;
const podOn = (node: string, s: Simulator = sim) => s.state.agentPod(node)!.metadata.name;

beforeAll(async () => {
  sim = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sp-only.yaml')) });
  mixed = await startSimulator({ fleet: parseFleet(MIXED, 'mixed') });
  kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  kcMixed = new KubeConfig();
  kcMixed.loadFromString(mixed.kubeconfig);
});
afterAll(async () => {
  await sim?.close();
  await mixed?.close();
});

describe('a fleet without the security-agent container', () => {
  it('lists pods with only the other containers, and system-probe sends directly', async () => {
    const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=agent' })).items;
    expect(pods).toHaveLength(6);
    for (const p of pods) {
      expect(p.spec!.containers.map((c) => c.name)).toEqual(['agent', 'system-probe']);
      expect(p.status!.containerStatuses!.map((c) => c.name)).toEqual(['agent', 'system-probe']);
      const sp = p.spec!.containers.find((c) => c.name === 'system-probe')!;
      expect(sp.env).toContainEqual({ name: DIRECT_SEND_ENV, value: 'true' });
      expect(sp.volumeMounts).toContainEqual({ name: 'sysprobe-socket-dir', mountPath: '/var/run/sysprobe', readOnly: false });
    }
    const ds = sim.state.getDaemonSet(NS, 'datadog-agent')!;
    expect(ds.spec.template.spec.containers.map((c) => c.name)).toEqual(['agent', 'system-probe']);
    expect(ds.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'DatadogAgent', name: 'datadog' });
  });

  it('system-probe runtime self-test: OK, and node-4’s failure on stdout with exit 0', async () => {
    expect(await execCollect(kc, NS, podOn('node-1'), 'system-probe', SP_SELFTEST)).toEqual({ stdout: 'Runtime self test: OK\n', stderr: '', status: SUCCESS });
    expect(await execCollect(kc, NS, podOn('node-4'), 'system-probe', ['/opt/datadog-agent/embedded/bin/system-probe', 'runtime', 'self-test'])).toEqual({
      stdout: 'Runtime self test: error: failed to receive expected event\n',
      stderr: '',
      status: SUCCESS,
    });
    // The self-test follows run-time changes as security-agent's did.
    sim.state.setSelftest('node-6', { stdout: '', stderr: UNREACHABLE, exitCode: 255 });
    const down = await execCollect(kc, NS, podOn('node-6'), 'system-probe', SP_SELFTEST);
    expect(down.stderr).toBe(UNREACHABLE);
    expect(down.status?.message).toBe('command terminated with non-zero exit code: command terminated with exit code 255');
    sim.state.setSelftest('node-6', { stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 });
  });

  it('exec into security-agent fails as the API server does (400 before the upgrade)', async () => {
    await expect(new Exec(kc).exec(NS, podOn('node-1'), 'security-agent', SA_SELFTEST, new Collect(), new Collect(), null, false)).rejects.toThrow(
      'Unexpected server response: 400',
    );
    const body = await rawGet(sim, `/api/v1/namespaces/${NS}/pods/${podOn('node-1')}/exec?command=security-agent&container=security-agent&stdout=true`);
    expect(body).toMatchObject({
      code: 400,
      body: { kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400, message: `container security-agent is not valid for pod ${podOn('node-1')}` },
    });
  });

  it('a binary the container does not have: the runtime’s "executable file not found"', async () => {
    const r = await execCollect(kc, NS, podOn('node-1'), 'agent', ['security-agent', 'runtime', 'self-test']);
    expect(r.status).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(r.status!.message).toMatch(/exec: "security-agent": executable file not found in \$PATH: unknown$/);
    const sp = await execCollect(kc, NS, podOn('node-1'), 'system-probe', ['agent', 'flare']);
    expect(sp.status!.message).toMatch(/exec: "agent": executable file not found in \$PATH: unknown$/);
  });

  it('agent version and agent status in the agent container', async () => {
    expect((await execCollect(kc, NS, podOn('node-2'), 'agent', ['agent', 'version'])).stdout).toMatch(
      /^Agent 7\.77\.0 - Commit: \w+ - Serialization version: v[\d.]+ - Go version: go[\d.]+\n$/,
    );
    const st = await execCollect(kc, NS, podOn('node-2'), 'agent', ['agent', 'status']);
    expect(st.status).toEqual(SUCCESS);
    expect(st.stdout).toMatch(/^=+\n Agent \(v7\.77\.0\)\n=+\n/);
    expect(st.stdout).toContain('\n    hostname: node-2\n');
    expect(st.stdout).toContain('\nSystem Probe\n============\n  Status: Running\n');
    const bad = await execCollect(kc, NS, podOn('node-2'), 'agent', ['agent', 'nope']);
    expect(bad).toMatchObject({ stdout: '', stderr: 'Error: unknown command "nope" for "agent"\n' });
    expect(bad.status?.message).toMatch(/exit code 255$/);
  });
});

// ── direct send with a security-agent container, and per-node layouts ──────────────────────

describe('direct send with a security-agent container (the Operator gives it no socket)', () => {
  it('security-agent runtime self-test cannot reach the module: the client’s Unavailable error, exit 255; system-probe answers', async () => {
    const sa = await execCollect(kcMixed, NS, podOn('node-1', mixed), 'security-agent', SA_SELFTEST);
    expect(sa.stdout).toBe('');
    expect(sa.stderr).toBe(UNREACHABLE);
    expect(sa.status?.message).toBe('command terminated with non-zero exit code: command terminated with exit code 255');
    expect(await execCollect(kcMixed, NS, podOn('node-1', mixed), 'system-probe', SP_SELFTEST)).toEqual({
      stdout: 'Runtime self test: OK\n',
      stderr: '',
      status: SUCCESS,
    });
    const status = await execCollect(kcMixed, NS, podOn('node-1', mixed), 'security-agent', ['security-agent', 'status']);
    expect(status.stdout).toMatch(/^=+\n Security Agent \(v7\.77\.0\)\n/);
    expect(status.stdout).not.toContain('Runtime Security');
    // As the Operator's direct-send mode: no socket dir mount in security-agent.
    const pod = mixed.state.getPod(NS, podOn('node-1', mixed))!;
    expect(pod.spec.containers.find((c) => c.name === 'security-agent')!.volumeMounts).toBeUndefined();
  });

  it('per node: node-2 keeps the socket (self-test OK, no direct send), node-3 has no security-agent, node-5 adds env', async () => {
    expect(await execCollect(kcMixed, NS, podOn('node-2', mixed), 'security-agent', SA_SELFTEST)).toEqual({
      stdout: 'Runtime self test: OK\n',
      stderr: '',
      status: SUCCESS,
    });
    expect((await execCollect(kcMixed, NS, podOn('node-2', mixed), 'security-agent', ['security-agent', 'status'])).stdout).toContain(
      '\nRuntime Security\n================\n',
    );
    const env = (node: string, c: string) => mixed.state.agentPod(node)!.spec.containers.find((x) => x.name === c)!.env;
    expect(env('node-2', 'system-probe')).not.toContainEqual(expect.objectContaining({ name: DIRECT_SEND_ENV }));
    expect(env('node-1', 'system-probe')).toContainEqual({ name: DIRECT_SEND_ENV, value: 'true' });
    expect(env('node-5', 'system-probe')).toEqual([
      { name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' },
      { name: DIRECT_SEND_ENV, value: 'true' },
      { name: 'DD_LOG_LEVEL', value: 'debug' },
    ]);
    expect(mixed.state.agentPod('node-3')!.spec.containers.map((c) => c.name)).toEqual(['agent', 'system-probe']);
    expect(mixed.state.agentPod('node-3')!.status.containerStatuses!.map((c) => c.name)).toEqual(['agent', 'system-probe']);
    await expect(new Exec(kcMixed).exec(NS, podOn('node-3', mixed), 'security-agent', SA_SELFTEST, new Collect(), new Collect(), null, false)).rejects.toThrow(
      'Unexpected server response: 400',
    );
    // The DaemonSet's template still has all three; the node's layout is applied to each new pod.
    expect(mixed.state.getDaemonSet(NS, 'datadog-agent')!.spec.template.spec.containers.map((c) => c.name)).toEqual([
      'agent',
      'security-agent',
      'system-probe',
    ]);
  });

  it('the layout follows the pod spec: patches roll the pods and keep each node’s layout; a removed socket mount is felt', () => {
    const s = new ClusterState(parseFleet(MIXED, 'mixed-2'));
    const patch = {
      spec: { template: { spec: { containers: [{ name: 'system-probe', env: [{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' }] }] } } },
    };
    s.patchDaemonSet(NS, 'datadog-agent', 'application/strategic-merge-patch+json', JSON.stringify(patch));
    expect(s.agentPod('node-3')!.spec.containers.map((c) => c.name)).toEqual(['agent', 'system-probe']);
    expect(s.agentPod('node-3')!.spec.containers[1]!.env).toContainEqual({ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' });
    expect(s.agentPod('node-2')!.spec.containers.find((c) => c.name === 'security-agent')!.volumeMounts).toEqual([
      { name: 'sysprobe-socket-dir', mountPath: '/var/run/sysprobe', readOnly: true },
    ]);
  });
});

describe('a default fleet keeps its layout', () => {
  it('security-agent and system-probe share the socket dir; security-agent’s self-test reaches the module', async () => {
    const plain = await startSimulator({ fleet: parseFleet('name: plain\nnodes: { count: 1 }\n', 'plain') });
    try {
      const pod = plain.state.agentPod('node-1')!;
      expect(pod.spec.containers.map((c) => [c.name, (c.volumeMounts as { name: string }[] | undefined)?.map((m) => m.name)])).toEqual([
        ['security-agent', ['sysprobe-socket-dir']],
        ['system-probe', ['procdir', 'sysprobe-socket-dir']],
      ]);
      const k = new KubeConfig();
      k.loadFromString(plain.kubeconfig);
      expect(await execCollect(k, NS, pod.metadata.name, 'security-agent', SA_SELFTEST)).toEqual({
        stdout: 'Runtime self test: OK\n',
        stderr: '',
        status: SUCCESS,
      });
      // A JSON patch that takes the mount away: the new pod's security-agent can no longer dial.
      plain.state.patchDaemonSet(
        NS,
        'datadog-agent',
        'application/json-patch+json',
        JSON.stringify([{ op: 'remove', path: '/spec/template/spec/containers/0/volumeMounts' }]),
      );
      const after = await execCollect(k, NS, plain.state.agentPod('node-1')!.metadata.name, 'security-agent', SA_SELFTEST);
      expect(after.stderr).toBe(UNREACHABLE);
    } finally {
      await plain.close();
    }
  });
});

// ── the core agent's flare ──────────────────────────────────────────────────────────────

/** An `agent flare` exec with stdin open: output as it comes, answers when the test decides. */
async function openCoreFlare(node: string, args: string[]) {
  const stdin = new PassThrough();
  let stdout = '';
  let stderr = '';
  let status: V1Status | undefined;
  const sink = (push: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (push(c.toString('utf8')), cb()) });
  const ws = await within(
    new Exec(kc).exec(
      NS,
      podOn(node),
      'agent',
      ['agent', 'flare', ...args],
      sink((s) => (stdout += s)),
      sink((s) => (stderr += s)),
      stdin,
      false,
      (s) => {
        status = s;
      },
    ),
    5_000,
    'exec upgrade',
  );
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  return {
    stdin,
    ws,
    out: () => stdout,
    err: () => stderr,
    status: () => status,
    waitFor: (text: string) => until(() => stdout.includes(text), 5_000, `"${text.trim()}" on stdout (so far: ${JSON.stringify(stdout)})`),
    done: () => within(closed, 10_000, 'the flare session to end'),
  };
}

const pathIn = (stdout: string) => /^(\S+) is going to be uploaded to Datadog$/m.exec(stdout)?.[1] ?? '';
const agentFiles = (node: string) => sim.state.podFiles(NS, podOn(node), 'agent')!;

describe('agent flare in the agent container (the core agent)', () => {
  it('prints its notice, asks the agent to build the archive, holds at the prompt; y uploads that archive', async () => {
    const f = await openCoreFlare('node-1', ['1234567', '-e', 'ops@example.com']);
    await f.waitFor(CONFIRM_PROMPT);
    const path = pathIn(f.out());
    expect(path).toMatch(ARCHIVE);
    expect(f.out()).toBe(CORE_FLARE_UI_NOTICE + CORE_BUILDING + goingToBeUploaded(path) + CONFIRM_PROMPT);
    const file = agentFiles('node-1').read(path)!;
    expect(file).toMatchObject({ mode: 0o600, owner: 'dd-agent' });
    const hex = createHash('sha256').update(file.data).digest('hex');
    // Reviewed through a second exec while the first one waits.
    expect(await execCollect(kc, NS, podOn('node-1'), 'agent', ['sha256sum', path])).toEqual({ stdout: `${hex}  ${path}\n`, stderr: '', status: SUCCESS });
    f.stdin.write('y\n');
    await f.done();
    expect(f.out().endsWith(CONFIRM_PROMPT + uploadSuccess(1234567))).toBe(true);
    expect(f.status()).toEqual(SUCCESS);
    const up = sim.state.flareUploads('node-1').at(-1)!;
    expect(up).toMatchObject({ path, caseId: '1234567', email: 'ops@example.com', outcome: 'ok', responseCaseId: 1234567, sha256: hex });
    expect(agentFiles('node-1').read(path)).toBeDefined(); // sending does not delete it
  });

  it('the archive is the core agent’s: status.log, logs, config dumps; scrubbed; nothing of the security-agent’s', () => {
    const path = agentFiles('node-1').list('/tmp')[0]!;
    const entries = unzipSync(new Uint8Array(agentFiles('node-1').read(path)!.data));
    const names = Object.keys(entries).map((n) => n.replace(/^node-1\//, ''));
    expect(Object.keys(entries).every((n) => n.startsWith('node-1/'))).toBe(true);
    expect(names).toEqual(
      expect.arrayContaining([
        'status.log',
        'config-check.log',
        'logs/agent.log',
        'logs/system-probe.log',
        'etc/datadog.yaml',
        'etc/system-probe.yaml',
        'runtime_config_dump.yaml',
        'system_probe_runtime_config_dump.yaml',
        'envvars.log',
        'permissions.log',
        'flare_creation.log',
      ]),
    );
    expect(names.every((n) => (CORE_FLARE_FILE_NAMES as readonly string[]).includes(n))).toBe(true);
    expect(names).not.toContain('security-agent-status.log');
    expect(names).not.toContain('etc/security-agent.yaml');
    expect(names).not.toContain('local');
    expect(dec.decode(entries['node-1/status.log'])).toMatch(/^=+\n Agent \(v7\.77\.0\)\n/);
    expect(dec.decode(entries['node-1/etc/datadog.yaml'])).toContain("api_key: '***************************b0a99'");
    expect(dec.decode(entries['node-1/runtime_config_dump.yaml'])).toContain("api_key: '***************************b0a99'");
    expect(dec.decode(entries['node-1/system_probe_runtime_config_dump.yaml'])).toContain('direct_send_from_system_probe: true');
  });

  it('n aborts with exit 0 and keeps the archive; cat in the agent container returns it', async () => {
    const before = sim.state.flareUploads().length;
    const f = await openCoreFlare('node-2', ['-e', 'ops@example.com']);
    await f.waitFor(CONFIRM_PROMPT);
    f.stdin.write('n\n');
    await f.done();
    const path = pathIn(f.out());
    expect(f.out().endsWith(CONFIRM_PROMPT + aborting(path))).toBe(true);
    expect(f.status()).toEqual(SUCCESS);
    expect(sim.state.flareUploads().length).toBe(before);
    const chunks: Buffer[] = [];
    let status: V1Status | undefined;
    const ws = await new Exec(kc).exec(
      NS,
      podOn('node-2'),
      'agent',
      ['cat', path],
      new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(Buffer.from(c)), cb()) }),
      null,
      null,
      false,
      (s) => (status = s),
    );
    await within(new Promise((r) => ws.on('close', r)), 5_000, 'cat');
    expect(status).toEqual(SUCCESS);
    expect(Buffer.concat(chunks).equals(Buffer.from(agentFiles('node-2').read(path)!.data))).toBe(true);
    // Another container, another filesystem.
    expect((await execCollect(kc, NS, podOn('node-2'), 'system-probe', ['cat', path])).stderr).toBe(`cat: ${path}: No such file or directory\n`);
    expect((await execCollect(kc, NS, podOn('node-2'), 'agent', ['rm', '-f', path])).status).toEqual(SUCCESS);
    expect(agentFiles('node-2').read(path)).toBeUndefined();
  });

  it('without stdin: the notice first, then the email prompt, then the abort (EOF), exit 0', async () => {
    const r = await execCollect(kc, NS, podOn('node-3'), 'agent', ['agent', 'flare', '4242']);
    const path = pathIn(r.stdout);
    expect(r.stdout).toBe(CORE_FLARE_UI_NOTICE + EMAIL_PROMPT + CORE_BUILDING + goingToBeUploaded(path) + CONFIRM_PROMPT + aborting(path));
    expect(r).toMatchObject({ stderr: '', status: SUCCESS });
  });

  it('--local builds the archive in the command (a `local` file, no status); -s sends without asking', async () => {
    const r = await execCollect(kc, NS, podOn('node-5'), 'agent', ['agent', 'flare', '77', '-e', 'a@b.co', '--local', '-s']);
    const path = pathIn(r.stdout);
    expect(r.stdout).toBe(`${CORE_FLARE_UI_NOTICE}Initiating flare locally.\n${goingToBeUploaded(path)}${uploadSuccess(77)}`);
    const entries = unzipSync(new Uint8Array(sim.state.podFiles(NS, podOn('node-5'), 'agent')!.read(path)!.data));
    expect(dec.decode(entries['node-5/local'])).toBe('');
    expect(dec.decode(entries['node-5/status.log'])).toBe('unable to get the status of the agent, is it running?');
  });

  it('the upload outcome follows the node’s flare settings (403: empty line, error on stderr, exit 255)', async () => {
    sim.state.setFlare('node-6', { upload: 'forbidden' });
    const r = await execCollect(kc, NS, podOn('node-6'), 'agent', ['agent', 'flare', '-e', 'a@b.co', '-s']);
    expect(r.stdout.endsWith(`is going to be uploaded to Datadog\n\n`)).toBe(true);
    expect(r.stderr).toBe('Error: HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: b0a99\n');
    expect(r.status?.message).toMatch(/exit code 255$/);
    sim.state.setFlare('node-6', { upload: 'ok' });
  });

  it('flags: -p under 30 prints the agent’s complaint and exits 0 with no archive; unknown flags 255; --help', async () => {
    const before = agentFiles('node-4').list('/tmp').length;
    const p = await execCollect(kc, NS, podOn('node-4'), 'agent', ['agent', 'flare', '-e', 'a@b.co', '-p', '5']);
    expect(p).toEqual({ stdout: CORE_FLARE_UI_NOTICE + invalidProfiling(5), stderr: '', status: SUCCESS });
    expect(agentFiles('node-4').list('/tmp').length).toBe(before);
    const bad = await execCollect(kc, NS, podOn('node-4'), 'agent', ['agent', 'flare', '--sned']);
    expect(bad).toMatchObject({ stdout: '', stderr: 'Error: unknown flag: --sned\n' });
    expect(bad.status?.message).toMatch(/exit code 255$/);
    expect((await execCollect(kc, NS, podOn('node-4'), 'agent', ['agent', 'flare', '-h'])).stdout).toBe(CORE_FLARE_HELP);
  });
});

// ── kubectl ───────────────────────────────────────────────────────────────────────────────

function newestKubectl(): { path?: string; reason?: string } {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, 'kubectl'))
    .find((p) => existsSync(p));
  if (!onPath) return { reason: 'kubectl is not on PATH' };
  const dir = dirname(realpathSync(onPath));
  const versions = readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) >= 30)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  if (versions.length > 0) return { path: join(dir, versions.at(-1)![0]) };
  return { path: onPath }; // a plain kubectl: assume 1.30+, exec tells otherwise
}

const kubectl = newestKubectl();
if (kubectl.reason) console.log(`kubectl layout tests skipped: ${kubectl.reason}`);

describe.skipIf(!kubectl.path)('kubectl against the system-probe-only fleet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cws-sim-layout-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const run = (args: string[], stdin?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        kubectl.path!,
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', '-n', NS, ...args],
        { timeout: 20_000, env: { ...process.env, KUBECONFIG: kubeconfig } },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(stdin ?? '');
    });
  beforeAll(async () => {
    await sim.writeKubeconfig(kubeconfig);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('get pods: 2/2 ready, the containers agent and system-probe', async () => {
    const po = await run(['get', 'pods', '-o', 'wide']);
    expect(po.stderr).toBe('');
    expect(
      po.stdout
        .trim()
        .split('\n')
        .slice(1)
        .every((l) => /^datadog-agent-\w{5}\s+2\/2\s+Running\s/.test(l)),
    ).toBe(true);
    const names = await run(['get', 'pod', podOn('node-1'), '-o', 'jsonpath={.spec.containers[*].name}']);
    expect(names.stdout).toBe('agent system-probe');
  });

  it('exec: system-probe runtime self-test (OK, and node-4 failing with exit 0), security-agent not valid for the pod', async () => {
    expect(await run(['exec', podOn('node-1'), '-c', 'system-probe', '--', ...SP_SELFTEST])).toEqual({
      code: 0,
      stdout: 'Runtime self test: OK\n',
      stderr: '',
    });
    expect(await run(['exec', podOn('node-4'), '-c', 'system-probe', '--', ...SP_SELFTEST])).toEqual({
      code: 0,
      stdout: 'Runtime self test: error: failed to receive expected event\n',
      stderr: '',
    });
    const sa = await run(['exec', podOn('node-1'), '-c', 'security-agent', '--', ...SA_SELFTEST]);
    expect(sa.code).toBe(1);
    expect(sa.stdout).toBe('');
    expect(sa.stderr).toBe(`Error from server (BadRequest): container security-agent is not valid for pod ${podOn('node-1')}\n`);
  });

  it('exec -i agent flare with "n" piped: the notice, the prompts, the abort, exit 0', async () => {
    const r = await run(['exec', '-i', podOn('node-2'), '-c', 'agent', '--', 'agent', 'flare', '123', '-e', 'a@b.co'], 'n\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = pathIn(r.stdout);
    expect(r.stdout).toBe(CORE_FLARE_UI_NOTICE + CORE_BUILDING + goingToBeUploaded(path) + CONFIRM_PROMPT + aborting(path));
  });
});
