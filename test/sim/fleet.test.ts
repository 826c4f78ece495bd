import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_IMAGE, FleetError, loadFleet, nodeSpec, parseFleet, SELFTEST_OK_STDOUT } from '../../src/sim/fleet.ts';

const FLEETS = join(import.meta.dirname, '../fixtures/fleets');

function problems(text: string): string[] {
  try {
    parseFleet(text, 'fleet.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    return (err as FleetError).message.split('\n');
  }
  throw new Error('expected the fleet to be rejected');
}

describe('fleet spec', () => {
  it('fills every documented default from just a name', () => {
    const f = parseFleet('name: demo\n', 'fleet.yaml');
    expect(f).toEqual({
      name: 'demo',
      namespace: 'datadog',
      agent: {
        daemonSet: 'datadog-agent',
        image: DEFAULT_AGENT_IMAGE,
        labels: { 'app.kubernetes.io/component': 'agent' },
        managedBy: 'none',
        containers: { 'security-agent': { env: {} }, 'system-probe': { env: {} } },
        directSend: false,
        shell: true,
      },
      nodes: {
        count: 3,
        names: ['node-1', 'node-2', 'node-3'],
        selftest: { stdout: SELFTEST_OK_STDOUT, stderr: '', exitCode: 0, latencyMs: 0, hang: false, failedTests: [] },
        tc: {},
        flare: { upload: 'ok', latencyMs: 0, hang: false, files: 'default', secretIn: null },
        overrides: {},
      },
    });
    expect(f.cni).toBeUndefined();
    expect(f.agent.systemProbeYaml).toBeUndefined();
  });

  it('takes the DESIGN example with its non-default values', () => {
    const f = parseFleet(
      `name: sim-a
agent:
  managedBy: operator
  containers:
    security-agent: { env: {} }
    system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: 3 } }
  systemProbeYaml: |
    runtime_security_config:
      network: { enabled: true }
cni: { daemonSet: cilium, image: "quay.io/cilium/cilium:v1.9.5" }
nodes:
  names: [a, b]
  tc: { lxc9fc12c71903b: "filter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited\\n" }
  flare: { upload: ok, latencyMs: 500, hang: false, files: default, secretIn: null }
  overrides:
    a: { selftest: { stdout: "...", exitCode: 255 }, tc: { lxcabc: "" }, flare: { upload: forbidden } }
    b: { ready: false }
`,
      'fleet.yaml',
    );
    expect(f.agent.containers['system-probe']!.env).toEqual({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '3' });
    expect(f.cni).toEqual({ daemonSet: 'cilium', namespace: 'kube-system', image: 'quay.io/cilium/cilium:v1.9.5', labels: { 'k8s-app': 'cilium' } });
    expect(f.nodes.count).toBe(2);
    const a = nodeSpec(f, 'a');
    expect(a.selftest).toMatchObject({ stdout: '...', stderr: '', exitCode: 255, latencyMs: 0 });
    expect(a.tc).toEqual({ lxcabc: '' });
    expect(a.flare).toMatchObject({ upload: 'forbidden', latencyMs: 500 });
    expect(nodeSpec(f, 'b')).toMatchObject({ ready: false, selftest: { exitCode: 0 } });
  });

  it('names unknown keys by their path', () => {
    expect(problems('name: a\nnodes: { count: 9, overrides: { node-7: { selftst: {} } } }')).toEqual([
      'fleet.yaml: nodes.overrides.node-7.selftst: unknown key',
    ]);
    expect(problems('name: a\nagnet: {}\nagent: { containers: { security-agent: { env: {}, image: x } } }').sort()).toEqual([
      'fleet.yaml: agent.containers.security-agent.image: unknown key',
      'fleet.yaml: agnet: unknown key',
    ]);
    expect(problems('name: a\ncni: { vendor: cilium }')).toEqual(['fleet.yaml: cni.vendor: unknown key']);
  });

  it('rejects bad values with the field named', () => {
    expect(problems('namespace: x')).toEqual(['fleet.yaml: name: Invalid input: expected string, received undefined']);
    expect(problems('name: Sim_A')[0]).toMatch(/^fleet\.yaml: name: must be a lowercase RFC 1123 label/);
    expect(problems('name: a\nagent: { managedBy: kustomize }')[0]).toMatch(/^fleet\.yaml: agent\.managedBy: Invalid option/);
    expect(problems('name: a\nnodes: { selftest: { exitCode: 256 } }')).toEqual(['fleet.yaml: nodes.selftest.exitCode: Too big: expected number to be <=255']);
    expect(problems('name: a\nnodes: { selftest: { hang: "yes" } }')[0]).toMatch(/nodes\.selftest\.hang: Invalid input: expected boolean/);
    expect(problems('name: a\nnodes: { names: [n1, n1] }')).toEqual(['fleet.yaml: nodes.names[1]: duplicate node name "n1"']);
    expect(problems('name: a\nnodes: { count: 2, names: [n1] }')).toEqual(['fleet.yaml: nodes.count: is 2 but names lists 1 nodes (give one of them)']);
    expect(problems('name: a\nnodes: { overrides: { node-9: { ready: false } } }')).toEqual([
      'fleet.yaml: nodes.overrides.node-9: no such node (nodes are node-1, node-2, node-3)',
    ]);
    expect(problems('name: a\nnodes: { flare: { upload: maybe } }')[0]).toMatch(/nodes\.flare\.upload: Invalid option/);
  });

  it('rejects what is not a fleet at all', () => {
    expect(problems('')).toEqual(['fleet.yaml: expected a mapping with at least `name:`']);
    expect(problems('- a')).toEqual(['fleet.yaml: expected a mapping with at least `name:`']);
    expect(problems('name: a\nname: b')[0]).toMatch(/^fleet\.yaml: invalid YAML: Map keys must be unique at line 2/);
    expect(() => loadFleet(join(FLEETS, 'missing.yaml'))).toThrow(/missing\.yaml: cannot read the fleet file \(ENOENT\)/);
  });

  it('loads the shipped fixtures', () => {
    const a = loadFleet(join(FLEETS, 'sim-a.yaml'));
    expect(a.nodes.names).toHaveLength(20);
    expect(nodeSpec(a, 'node-1').selftest).toMatchObject({ stdout: SELFTEST_OK_STDOUT, exitCode: 0 });
    expect(nodeSpec(a, 'node-7').selftest.failedTests).toEqual(['datadog_agent_cws_self_test_rule_chmod']);
    expect(nodeSpec(a, 'node-8').selftest.stdout).toBe('Runtime self test: error: self-tests are disabled\n');
    expect(nodeSpec(a, 'node-9').selftest.hang).toBe(true);
    expect(nodeSpec(a, 'node-10').selftest).toMatchObject({ stdout: '', exitCode: 255 });
    expect(nodeSpec(a, 'node-10').selftest.stderr).toContain('runtime-security.sock: connect: no such file or directory');
    expect(nodeSpec(a, 'node-12').ready).toBe(false);
    expect(loadFleet(join(FLEETS, 'small.yaml')).nodes.names).toEqual(['node-1', 'node-2', 'node-3']);
  });
});
