/**
 * The self-test answers follow system-probe's configuration (issue 19; sources in
 * test/fixtures/selftest/SOURCES.md §6): the pure decision (src/sim/selftest-config.ts), then the
 * simulator over the real @kubernetes/client-node Exec, where a DaemonSet env patch recreates the
 * pods and the new pods answer from their new env.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterState, parseFleet, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { runtimeModuleState, runtimeSelftestAnswer, SELF_TESTS_DISABLED } from '../../src/sim/selftest-config.ts';
import { execCollect } from './support.ts';

const NS = 'datadog';
const UNREACHABLE = (socket: string) =>
  `Error: unable to get a process self test: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix ${socket}: connect: no such file or directory"\n`;

describe('runtimeModuleState (system-probe env and system-probe.yaml)', () => {
  it('runs with its self-tester when nothing says otherwise (a CWS fleet), or when enabled is set true', () => {
    expect(runtimeModuleState({}, undefined)).toEqual({ kind: 'running' });
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' }, undefined)).toEqual({ kind: 'running' });
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED: 'true' }, undefined)).toEqual({ kind: 'running' });
  });

  it('is not running with runtime_security_config.enabled false and FIM off; FIM alone keeps the module', () => {
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' }, undefined)).toEqual({
      kind: 'not-running',
      because: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED=false',
    });
    expect(runtimeModuleState({}, 'runtime_security_config:\n  enabled: false\n')).toMatchObject({ kind: 'not-running' });
    // IsRuntimeEnabled() is RuntimeEnabled || FIMEnabled.
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false', DD_RUNTIME_SECURITY_CONFIG_FIM_ENABLED: 'true' }, undefined)).toEqual({
      kind: 'running',
    });
  });

  it('reads env over the file, ignores an empty env var, and takes what strconv.ParseBool refuses as false', () => {
    const off = 'runtime_security_config:\n  enabled: false\n';
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' }, off)).toEqual({ kind: 'running' });
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: '' }, off)).toMatchObject({ kind: 'not-running' });
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'yes' }, undefined)).toMatchObject({ kind: 'not-running' });
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: '1' }, undefined)).toEqual({ kind: 'running' });
    // A flat dotted key in the file counts as viper reads it.
    expect(runtimeModuleState({}, 'runtime_security_config.self_test.enabled: false\n')).toMatchObject({ kind: 'self-tests-disabled' });
  });

  it('has no self-tester with runtime_security_config.self_test.enabled false (default true)', () => {
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED: 'false' }, undefined)).toEqual({
      kind: 'self-tests-disabled',
      because: 'DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED=false',
    });
    expect(runtimeModuleState({}, 'runtime_security_config:\n  self_test:\n    enabled: false\n')).toMatchObject({ kind: 'self-tests-disabled' });
    // Without the module there is no self-test to disable: the dial error wins.
    expect(runtimeModuleState({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false', DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED: 'false' }, undefined)).toMatchObject(
      { kind: 'not-running' },
    );
  });
});

describe('runtimeSelftestAnswer', () => {
  it('leaves a running module to the node’s behaviour', () => {
    expect(runtimeSelftestAnswer({ kind: 'running' }, undefined)).toBeUndefined();
  });
  it('prints the client’s dial error on the socket the caller dials, exit 255, for a module not running', () => {
    expect(runtimeSelftestAnswer({ kind: 'not-running', because: 'x' }, undefined)).toEqual({
      stdout: '',
      stderr: UNREACHABLE('/opt/datadog-agent/run/runtime-security.sock'),
      exitCode: 255,
    });
    expect(runtimeSelftestAnswer({ kind: 'not-running', because: 'x' }, '/var/run/sysprobe/runtime-security.sock')!.stderr).toBe(
      UNREACHABLE('/var/run/sysprobe/runtime-security.sock'),
    );
  });
  it('prints the server’s "self-tests are disabled" on stdout, exit 0, without a self-tester', () => {
    expect(runtimeSelftestAnswer({ kind: 'self-tests-disabled', because: 'x' }, undefined)).toEqual({
      stdout: `Runtime self test: error: ${SELF_TESTS_DISABLED}\n`,
      stderr: '',
      exitCode: 0,
    });
  });
});

const FLEET = `name: stcfg
agent:
  image: gcr.io/datadoghq/agent:7.77.0
nodes:
  count: 3
  selftest: { latencyMs: 200 }
  overrides:
    node-3:
      agent: { containers: { system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED: "false" } } } }
`;

describe('the simulator answers from each pod’s system-probe configuration', () => {
  let sim: Simulator;
  let kc: KubeConfig;
  const podOn = (node: string) => sim.state.agentPod(node)!.metadata.name;
  const envPatch = (name: string, value: string | null) =>
    JSON.stringify({
      spec: {
        template: {
          spec: { containers: [{ name: 'system-probe', env: [value === null ? { name, $patch: 'delete' } : { name, value }] }] },
        },
      },
    });

  beforeAll(async () => {
    sim = await startSimulator({ fleet: parseFleet(FLEET, 'stcfg') });
    kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('a node override’s env is there from the start: node-3 says its self-tests are disabled, at once', async () => {
    const started = Date.now();
    const r = await execCollect(kc, NS, podOn('node-3'), 'system-probe', ['system-probe', 'runtime', 'self-test']);
    expect(r.stdout).toBe('Runtime self test: error: self-tests are disabled\n');
    expect(r.status?.status).toBe('Success');
    expect(Date.now() - started).toBeLessThan(2_000);
    const sa = await execCollect(kc, NS, podOn('node-3'), 'security-agent', ['security-agent', 'runtime', 'self-test']);
    expect(sa.stdout).toBe('Runtime self test: error: self-tests are disabled\n');
    const ok = await execCollect(kc, NS, podOn('node-1'), 'system-probe', ['system-probe', 'runtime', 'self-test']);
    expect(ok.stdout).toBe('Runtime self test: OK\n');
  });

  it('after a DaemonSet env patch the new pods answer from their new env; reverting it brings OK back', async () => {
    const before = podOn('node-1');
    sim.state.patchDaemonSet(NS, 'datadog-agent', 'application/strategic-merge-patch+json', envPatch('DD_RUNTIME_SECURITY_CONFIG_ENABLED', 'false'));
    expect(podOn('node-1')).not.toBe(before);
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const sp = await execCollect(kc, NS, podOn(node), 'system-probe', ['system-probe', 'runtime', 'self-test']);
      expect(sp.stderr, node).toBe(UNREACHABLE('/opt/datadog-agent/run/runtime-security.sock'));
      expect(sp.status?.status, node).toBe('Failure');
      expect(sp.status?.details?.causes?.[0]?.message, node).toBe('255');
      const sa = await execCollect(kc, NS, podOn(node), 'security-agent', ['security-agent', 'runtime', 'self-test']);
      expect(sa.stderr, node).toBe(UNREACHABLE('/opt/datadog-agent/run/runtime-security.sock'));
    }
    expect(sim.state.runtimeModuleOf('node-1')).toEqual({ kind: 'not-running', because: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED=false' });

    sim.state.patchDaemonSet(NS, 'datadog-agent', 'application/strategic-merge-patch+json', envPatch('DD_RUNTIME_SECURITY_CONFIG_ENABLED', null));
    const back = await execCollect(kc, NS, podOn('node-1'), 'system-probe', ['system-probe', 'runtime', 'self-test']);
    expect(back.stdout).toBe('Runtime self test: OK\n');
    const still = await execCollect(kc, NS, podOn('node-3'), 'system-probe', ['system-probe', 'runtime', 'self-test']);
    expect(still.stdout).toBe('Runtime self test: error: self-tests are disabled\n');
  });

  it('setSelftest still drives a running module, and the module state is fixed per pod', () => {
    const state = new ClusterState(parseFleet(FLEET, 'stcfg'));
    state.setSelftest('node-1', { stdout: 'Runtime self test: error: failed to receive expected event\n' });
    expect(state.selftestFor('node-1').stdout).toBe('Runtime self test: error: failed to receive expected event\n');
    expect(state.selftestFor('node-3')).toMatchObject({ stdout: 'Runtime self test: error: self-tests are disabled\n', exitCode: 0, latencyMs: 0 });
  });
});
