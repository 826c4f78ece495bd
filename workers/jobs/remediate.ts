import type { Job } from 'bullmq';
import type { KubernetesClusterConfig } from '../../src/config/clusters.ts';
import { RemediateJobData, type EnvSnapshot, type RemediateResult } from '../../src/contract/jobs.ts';
import { parseAgentImage } from '../../src/core/netcheck/version.ts';
import { applyEnv, envChangeFor, sameSnapshot, snapshot } from '../../src/core/remediation/env-change.ts';
import { ExecFailedError } from '../targets/errors.ts';
import type { ClusterInspector, DaemonSetPatcher } from '../targets/kubernetes-inspect.ts';

export interface RemediateDeps {
  config: KubernetesClusterConfig;
  inspector: ClusterInspector;
  patcher: DaemonSetPatcher;
  /** How long to follow the rollout before reporting where it stands. */
  rolloutWaitMs?: number;
}

/**
 * Patches the agent DaemonSet's container env (DESIGN.md "Remediation"), recording the exact
 * before/after of every var it touches, then follows the rollout for a while. A revert writes
 * the recorded "before" back (removing vars that were absent).
 */
export async function processRemediate(job: Job, d: RemediateDeps): Promise<RemediateResult> {
  const data = RemediateJobData.parse(job.data);
  const cfg = d.config;
  const ds = await d.inspector.agentDaemonSet();
  if (!ds) throw new ExecFailedError(`DaemonSet ${cfg.namespace}/${cfg.daemonSet} not found`, "Check the cluster's `daemonSet` and `namespace` settings.");
  const containers = ds.spec?.template.spec?.containers ?? [];
  const names = { systemProbe: cfg.containers.systemProbe, securityAgent: cfg.containers.securityAgent };
  let change: EnvSnapshot;
  if (data.action === 'revert') {
    if (!data.restore) throw new ExecFailedError('a revert needs the recorded "before"');
    change = data.restore;
  } else {
    // The env name the agent version reads (7.44+: DD_EVENT_MONITORING_CONFIG_* when the container sets it).
    const sp = containers.find((c) => c.name === names.systemProbe);
    const image = (sp ?? containers.find((c) => c.name === names.securityAgent) ?? containers[0])?.image;
    change = envChangeFor(data.action, names, data.priority, {
      version: image ? parseAgentImage(image)?.version : undefined,
      systemProbeEnv: sp?.env?.map((e) => ({
        name: e.name,
        ...(e.value !== undefined ? { value: e.value } : {}),
        ...(e.valueFrom ? { valueFrom: e.valueFrom } : {}),
      })),
    });
  }
  for (const c of Object.keys(change))
    if (!containers.some((x) => x.name === c))
      throw new ExecFailedError(`container ${c} not found in DaemonSet ${cfg.namespace}/${cfg.daemonSet}`, "Check the cluster's `containers` settings.");

  const envs = Object.fromEntries(
    containers.map((c) => [
      c.name,
      c.env?.map((e) => ({ name: e.name, ...(e.value !== undefined ? { value: e.value } : {}), ...(e.valueFrom ? { valueFrom: e.valueFrom } : {}) })),
    ]),
  );
  const before = snapshot(envs, change);
  const base = { kind: 'remediate' as const, cluster: data.cluster, action: data.action, daemonSet: `${cfg.namespace}/${cfg.daemonSet}`, before };
  const rolloutOf = (x: typeof ds) => ({
    generation: x.metadata?.generation ?? 0,
    observedGeneration: x.status?.observedGeneration ?? 0,
    desired: x.status?.desiredNumberScheduled ?? 0,
    updated: x.status?.updatedNumberScheduled ?? 0,
    ready: x.status?.numberReady ?? 0,
    complete:
      (x.status?.observedGeneration ?? 0) >= (x.metadata?.generation ?? 0) &&
      (x.status?.updatedNumberScheduled ?? 0) >= (x.status?.desiredNumberScheduled ?? 0),
  });
  if (sameSnapshot(before, change)) return { ...base, after: before, status: 'no_change', rollout: rolloutOf(ds) };

  // One JSON patch: test each container's name at its index, then replace its env.
  const ops: object[] = [];
  for (const [c, vars] of Object.entries(change)) {
    const i = containers.findIndex((x) => x.name === c);
    ops.push({ op: 'test', path: `/spec/template/spec/containers/${i}/name`, value: c });
    ops.push({ op: containers[i]!.env ? 'replace' : 'add', path: `/spec/template/spec/containers/${i}/env`, value: applyEnv(envs[c], vars) });
  }
  const patched = await d.patcher.jsonPatch(ops);
  const patchedEnvs = Object.fromEntries(
    (patched.spec?.template.spec?.containers ?? []).map((c) => [
      c.name,
      c.env?.map((e) => ({ name: e.name, ...(e.value !== undefined ? { value: e.value } : {}) })),
    ]),
  );
  const after = snapshot(patchedEnvs, change);

  // Follow the rollout (the DaemonSet controller replaces the pods), bounded.
  let current = patched;
  const deadline = Date.now() + (d.rolloutWaitMs ?? 60_000);
  while (!rolloutOf(current).complete && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    current = (await d.inspector.agentDaemonSet()) ?? current;
  }
  return { ...base, after, status: 'applied', rollout: rolloutOf(current) };
}
