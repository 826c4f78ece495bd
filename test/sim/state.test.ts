import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/sim/errors.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import type { Pod } from '../../src/sim/k8s-types.ts';
import { ClusterState } from '../../src/sim/state.ts';

const SMP = 'application/strategic-merge-patch+json' as const;
const MERGE = 'application/merge-patch+json' as const;

function cluster(extra = '', nodes = 'count: 4'): ClusterState {
  return new ClusterState(parseFleet(`name: t\nnodes: { ${nodes} }\n${extra}`, 'test'));
}
const byNode = (pods: Pod[]) => Object.fromEntries(pods.map((p) => [p.spec.nodeName, p]));
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError');
}

describe('cluster built from a fleet', () => {
  it('has nodes, one agent pod per node owned by the DaemonSet, and its status', () => {
    const s = cluster();
    expect(s.listNodes().map((n) => n.metadata.name)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    const ds = s.getDaemonSet('datadog', 'datadog-agent')!;
    const pods = s.listPods('datadog', 'app.kubernetes.io/component=agent');
    expect(pods).toHaveLength(4);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^datadog-agent-[a-z0-9]{5}$/);
      expect(p.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'DaemonSet', name: 'datadog-agent', uid: ds.metadata.uid, controller: true }),
      ]);
      expect(p.status.phase).toBe('Running');
      expect(p.status.containerStatuses!.map((c) => [c.name, c.ready, c.image])).toEqual([
        ['security-agent', true, 'gcr.io/datadoghq/agent:7.50.3'],
        ['system-probe', true, 'gcr.io/datadoghq/agent:7.50.3'],
      ]);
      expect(p.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number(p.metadata.resourceVersion)).toBeGreaterThan(0);
      expect(p.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(Object.keys(byNode(pods)).sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 4, updatedNumberScheduled: 4, observedGeneration: 1 });
    expect(s.getConfigMap('datadog', 'datadog-agent-system-probe-config')).toBeUndefined();
    expect(s.listDaemonSets('kube-system')).toEqual([]);
  });

  it('marks who manages the DaemonSet', () => {
    const helm = cluster('agent: { managedBy: helm }').getDaemonSet('datadog', 'datadog-agent')!;
    expect(helm.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/component': 'agent' });
    expect(helm.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'datadog-agent', 'meta.helm.sh/release-namespace': 'datadog' });
    const op = cluster('agent: { managedBy: operator }').getDaemonSet('datadog', 'datadog-agent')!;
    expect(op.metadata.ownerReferences).toEqual([
      expect.objectContaining({ apiVersion: 'datadoghq.com/v2alpha1', kind: 'DatadogAgent', name: 'datadog', controller: true }),
    ]);
    expect(cluster().getDaemonSet('datadog', 'datadog-agent')!.metadata.ownerReferences).toBeUndefined();
  });

  it('serves env, the system-probe ConfigMap and the CNI DaemonSet from the spec', () => {
    const s = cluster(`agent:
  containers:
    system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: "3" } }
  systemProbeYaml: "runtime_security_config: {}\\n"
cni: { daemonSet: cilium }`);
    const ds = s.getDaemonSet('datadog', 'datadog-agent')!;
    expect(ds.spec.template.spec.containers.map((c) => [c.name, c.env])).toEqual([
      ['system-probe', [{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY', value: '3' }]],
    ]);
    expect(s.getConfigMap('datadog', 'datadog-agent-system-probe-config')!.data).toEqual({ 'system-probe.yaml': 'runtime_security_config: {}\n' });
    const cilium = s.getDaemonSet('kube-system', 'cilium')!;
    expect(cilium.spec.template.spec.containers[0]).toMatchObject({ name: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.9.5' });
    expect(s.listPods('kube-system', 'k8s-app=cilium')).toHaveLength(4);
    expect(s.listPods(undefined, '', undefined)).toHaveLength(8);
  });

  it('filters pods by field selector', () => {
    const s = cluster();
    const [p] = s.listPods('datadog', undefined, [{ field: 'spec.nodeName', op: '=', value: 'node-3' }]);
    expect(p!.spec.nodeName).toBe('node-3');
    expect(s.listPods('datadog', undefined, [{ field: 'metadata.name', op: '=', value: p!.metadata.name }])).toHaveLength(1);
    expect(s.listPods('datadog', undefined, [{ field: 'status.phase', op: '!=', value: 'Running' }])).toHaveLength(0);
  });

  it('models ready: false as a node whose kubelet stopped posting status', () => {
    const s = cluster('', 'count: 3, overrides: { node-2: { ready: false } }');
    const node = s.getNode('node-2')!;
    expect(node.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(node.spec.taints?.map((t) => t.effect)).toEqual(['NoSchedule', 'NoExecute']);
    const pod = s.agentPod('node-2')!;
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');
    expect(pod.status.containerStatuses!.every((c) => !c.ready)).toBe(true);
    expect(s.getDaemonSet('datadog', 'datadog-agent')!.status).toMatchObject({ numberReady: 2, numberUnavailable: 1 });
    s.setNodeReady('node-2', true);
    expect(s.agentPod('node-2')!.status.containerStatuses!.every((c) => c.ready)).toBe(true);
    expect(s.getDaemonSet('datadog', 'datadog-agent')!.status.numberReady).toBe(3);
  });
});

describe('controllers react to writes', () => {
  it('replaces a deleted agent pod on the same node at once', () => {
    const s = cluster();
    const before = s.agentPod('node-2')!;
    const deleted = s.deletePod('datadog', before.metadata.name);
    expect(deleted.metadata.deletionTimestamp).toBeDefined();
    expect(s.getPod('datadog', before.metadata.name)).toBeUndefined();
    const after = s.agentPod('node-2')!;
    expect(after.metadata.name).not.toBe(before.metadata.name);
    expect(after.status.phase).toBe('Running');
    expect(s.listPods('datadog')).toHaveLength(4);
    expect(apiError(() => s.deletePod('datadog', 'nope')).toStatus()).toMatchObject({ code: 404, reason: 'NotFound', message: 'pods "nope" not found' });
  });

  it('rolls every pod onto a new template, bumping generation and status', () => {
    const s = cluster();
    const old = new Set(s.listPods('datadog').map((p) => p.metadata.name));
    const patch = {
      spec: { template: { spec: { containers: [{ name: 'system-probe', env: [{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' }] }] } } },
    };
    const ds = s.patchDaemonSet('datadog', 'datadog-agent', SMP, JSON.stringify(patch));
    expect(ds.metadata.generation).toBe(2);
    expect(ds.metadata.annotations!['deprecated.daemonset.template.generation']).toBe('2');
    expect(ds.status).toMatchObject({ observedGeneration: 2, updatedNumberScheduled: 4, numberReady: 4, desiredNumberScheduled: 4 });
    const pods = s.listPods('datadog');
    expect(pods).toHaveLength(4);
    for (const p of pods) {
      expect(old.has(p.metadata.name)).toBe(false);
      expect(p.spec.containers.find((c) => c.name === 'system-probe')!.env).toEqual([{ name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' }]);
      expect(p.metadata.labels!['pod-template-generation']).toBe('2');
    }
  });

  it('keeps generation and pods when only metadata changes; OnDelete waits for deletions', () => {
    const s = cluster();
    const names = s.listPods('datadog').map((p) => p.metadata.name);
    const ds = s.patchDaemonSet('datadog', 'datadog-agent', MERGE, '{"metadata":{"labels":{"team":"sec"}},"status":{"numberReady":99}}');
    expect(ds.metadata.generation).toBe(1);
    expect(ds.metadata.labels!.team).toBe('sec');
    expect(ds.status.numberReady).toBe(4);
    expect(s.listPods('datadog').map((p) => p.metadata.name)).toEqual(names);

    s.patchDaemonSet('datadog', 'datadog-agent', MERGE, '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}');
    const after = s.patchDaemonSet(
      'datadog',
      'datadog-agent',
      'application/json-patch+json',
      '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"gcr.io/datadoghq/agent:7.51.0"}]',
    );
    expect(after.metadata.generation).toBe(3);
    expect(after.status).toMatchObject({ observedGeneration: 3, updatedNumberScheduled: 0 });
    s.deletePod('datadog', s.agentPod('node-1')!.metadata.name);
    expect(s.agentPod('node-1')!.spec.containers[0]!.image).toBe('gcr.io/datadoghq/agent:7.51.0');
    expect(s.getDaemonSet('datadog', 'datadog-agent')!.status.updatedNumberScheduled).toBe(1);
  });

  it('rejects invalid and conflicting patches as the API does', () => {
    const s = cluster();
    const selector = apiError(() => s.patchDaemonSet('datadog', 'datadog-agent', MERGE, '{"spec":{"selector":{"matchLabels":{"app":"x"}}}}'));
    expect(selector.code).toBe(422);
    expect(selector.message).toContain('DaemonSet.apps "datadog-agent" is invalid: spec.selector: Invalid value');
    expect(selector.message).toContain('field is immutable');
    const image = apiError(() =>
      s.patchDaemonSet('datadog', 'datadog-agent', SMP, '{"spec":{"template":{"spec":{"containers":[{"name":"security-agent","image":""}]}}}}'),
    );
    expect(image.toStatus()).toMatchObject({
      code: 422,
      reason: 'Invalid',
      details: { causes: [{ field: 'spec.template.spec.containers[0].image', message: 'Required value' }] },
    });
    expect(apiError(() => s.patchDaemonSet('datadog', 'datadog-agent', MERGE, '{"metadata":{"resourceVersion":"1"}}')).code).toBe(409);
    expect(apiError(() => s.patchDaemonSet('datadog', 'datadog-agent', MERGE, '{"metadata":{"name":"other"}}')).code).toBe(400);
    expect(apiError(() => s.patchDaemonSet('datadog', 'datadog-agent', 'application/json-patch+json', '{}')).code).toBe(400);
    expect(apiError(() => s.patchDaemonSet('datadog', 'nope', MERGE, '{}')).message).toBe('daemonsets.apps "nope" not found');
    expect(s.getDaemonSet('datadog', 'datadog-agent')!.metadata.generation).toBe(1);
  });

  it('changes self-test behaviour at run time, field by field', () => {
    const s = cluster();
    s.setSelftest('node-1', { exitCode: 255, stdout: '' });
    expect(s.selftestFor('node-1')).toMatchObject({ exitCode: 255, stdout: '', latencyMs: 0 });
    expect(s.selftestFor('node-2').exitCode).toBe(0);
    expect(() => s.setSelftest('node-9', {})).toThrow('nodes "node-9" not found');
  });

  it('returns copies', () => {
    const s = cluster();
    const p = s.agentPod('node-1')!;
    p.status.phase = 'Failed';
    expect(s.agentPod('node-1')!.status.phase).toBe('Running');
  });
});
