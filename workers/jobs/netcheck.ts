import type { V1Container, V1DaemonSet } from '@kubernetes/client-node';
import type { Job } from 'bullmq';
import type { KubernetesClusterConfig } from '../../src/config/clusters.ts';
import { detectCni } from '../../src/core/netcheck/cni.ts';
import { type ConfigValue, effectiveCwsConfig } from '../../src/core/netcheck/config.ts';
import { decide, type NodeTcFact } from '../../src/core/netcheck/decide.ts';
import { isDatadogClassifier, parseProcNetDev, parseTcFilterShow, pickPodFacingInterfaces } from '../../src/core/netcheck/tc.ts';
import { formatVersion, parseAgentImage } from '../../src/core/netcheck/version.ts';
import { NetcheckJobData, type NetcheckResult } from '../../src/contract/jobs.ts';
import { networkEnvNames } from '../../src/core/remediation/env-change.ts';
import type { ClusterInspector } from '../targets/kubernetes-inspect.ts';
import type { AgentRef, AgentTarget } from '../targets/types.ts';

/**
 * How the tc facts are reached. DataDog/helm-charts `charts/datadog`: the agent pod runs with
 * `hostPID: true` (`datadog.useHostPID`, default true; `hostNetwork` is off by default), and
 * `_container-system-probe.yaml` mounts the host's /proc (volume `procdir`) read-only at
 * /host/proc and grants SYS_ADMIN and NET_ADMIN (the chart's seccomp profile allows setns).
 * DataDog/datadog-agent `Dockerfiles/agent/Dockerfile` installs iproute2 (`tc`); `nsenter` comes
 * with util-linux in the Ubuntu base. So the host's interface list is /host/proc/1/net/dev, and
 * `nsenter --net=/host/proc/1/ns/net` enters the host network namespace, where the pod-facing
 * veths and their clsact filters live.
 */
export const NET_DEV = ['cat', '/host/proc/1/net/dev'];
export const tcShow = (iface: string) => ['nsenter', '--net=/host/proc/1/ns/net', 'tc', 'filter', 'show', 'dev', iface, 'ingress'];
const MAX_IFACES_PER_NODE = 3;
const EXEC_TIMEOUT_MS = 20_000;

export interface NetcheckDeps {
  cluster: string;
  config: KubernetesClusterConfig;
  target: AgentTarget;
  inspector: ClusterInspector;
  /** Nodes inspected at once. */
  concurrency?: number;
}

function managedBy(ds: V1DaemonSet | undefined): 'none' | 'helm' | 'operator' {
  if (ds?.metadata?.ownerReferences?.some((o) => o.kind === 'DatadogAgent')) return 'operator';
  if (ds?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'Helm') return 'helm';
  return 'none';
}

/** The ConfigMap holding system-probe.yaml: the one mounted into system-probe with that key. */
function systemProbeConfigMapName(ds: V1DaemonSet, spContainer: string): string | undefined {
  const spec = ds.spec?.template.spec;
  const mounts = new Set(spec?.containers.find((c) => c.name === spContainer)?.volumeMounts?.map((m) => m.name) ?? []);
  for (const vol of spec?.volumes ?? []) {
    if (vol.configMap?.name && mounts.has(vol.name) && (!vol.configMap.items || vol.configMap.items.some((i) => i.key === 'system-probe.yaml')))
      return vol.configMap.name;
  }
  return undefined;
}

async function nodeTc(target: AgentTarget, agent: AgentRef): Promise<NodeTcFact> {
  if (agent.unavailable) return { node: agent.node, error: agent.unavailable };
  const dev = await target.exec(agent, NET_DEV, { timeoutMs: EXEC_TIMEOUT_MS, container: 'systemProbe' });
  if (dev.exitCode !== 0)
    return { node: agent.node, error: `reading /host/proc/1/net/dev in system-probe failed: ${(dev.stderr || dev.stdout).trim().split('\n')[0]}` };
  const parsed = parseProcNetDev(dev.stdout);
  if (!parsed.ok) return { node: agent.node, error: parsed.error };
  const pick = pickPodFacingInterfaces(parsed.interfaces.map((i) => i.name));
  const interfaces: {
    name: string;
    filters: ReturnType<typeof parseTcFilterShow> extends infer P ? (P extends { ok: true; filters: infer F } ? F : never) : never;
  }[] = [];
  for (const iface of pick.podFacing.slice(0, MAX_IFACES_PER_NODE)) {
    const out = await target.exec(agent, tcShow(iface.name), { timeoutMs: EXEC_TIMEOUT_MS, container: 'systemProbe' });
    if (out.exitCode !== 0)
      return { node: agent.node, error: `tc filter show dev ${iface.name} ingress failed: ${(out.stderr || out.stdout).trim().split('\n')[0]}` };
    const tc = parseTcFilterShow(out.stdout);
    if (!tc.ok) return { node: agent.node, error: `unreadable tc output for ${iface.name}: ${tc.error}` };
    interfaces.push({ name: iface.name, filters: tc.filters });
  }
  return { node: agent.node, interfaces };
}

const configValue = (c: ConfigValue<boolean> | ConfigValue<number>) => ({
  value: c.value ?? null,
  origin: c.origin,
  ...(c.note ? { note: c.note } : {}),
});

/** Gathers the facts (recording how), applies the decision table, returns a plain result. */
export async function processNetcheck(job: Job, d: NetcheckDeps): Promise<NetcheckResult> {
  const data = NetcheckJobData.parse(job.data);
  const how: string[] = [];
  const ds = await d.inspector.agentDaemonSet();
  const cfg = d.config;
  let image: string | undefined;
  let spEnv: V1Container['env'] | undefined;
  let saEnv: V1Container['env'] | undefined;
  if (ds) {
    const containers = ds.spec?.template.spec?.containers ?? [];
    const sp = containers.find((c) => c.name === cfg.containers.systemProbe);
    const sa = containers.find((c) => c.name === cfg.containers.securityAgent);
    image = (sp ?? sa ?? containers[0])?.image;
    spEnv = sp?.env;
    saEnv = sa?.env;
    how.push(
      `agent image and env: DaemonSet ${cfg.namespace}/${cfg.daemonSet} (containers ${[sp?.name, sa?.name].filter(Boolean).join(', ') || 'none found'})`,
    );
  } else how.push(`agent DaemonSet ${cfg.namespace}/${cfg.daemonSet}: not found`);
  const versionReading = image ? parseAgentImage(image) : undefined;
  if (versionReading) how.push(`agent version: ${versionReading.how}`);

  let yaml: { text: string; origin: 'configmap' } | undefined;
  const cmName = ds ? systemProbeConfigMapName(ds, cfg.containers.systemProbe) : undefined;
  if (cmName) {
    const cm = await d.inspector.configMap(cfg.namespace, cmName);
    const text = cm?.data?.['system-probe.yaml'];
    if (text !== undefined) yaml = { text, origin: 'configmap' };
    how.push(`system-probe.yaml: ConfigMap ${cfg.namespace}/${cmName}${text === undefined ? ' (not found)' : ''}`);
  } else how.push('system-probe.yaml: no ConfigMap mounted into system-probe; env and defaults only');
  const config = effectiveCwsConfig({
    agentVersion: versionReading?.version,
    systemProbeEnv: spEnv?.map((e) => ({
      name: e.name,
      ...(e.value !== undefined ? { value: e.value } : {}),
      ...(e.valueFrom ? { valueFrom: e.valueFrom } : {}),
    })),
    securityAgentEnv: saEnv?.map((e) => ({
      name: e.name,
      ...(e.value !== undefined ? { value: e.value } : {}),
      ...(e.valueFrom ? { valueFrom: e.valueFrom } : {}),
    })),
    ...(yaml ? { systemProbeYaml: yaml } : {}),
    systemProbeContainer: cfg.containers.systemProbe,
  });

  const kubeSystem = await d.inspector.daemonSets('kube-system');
  const cni = detectCni(
    kubeSystem.map((x) => ({
      name: x.metadata?.name ?? '',
      namespace: 'kube-system',
      images: (x.spec?.template.spec?.containers ?? []).map((c) => c.image ?? ''),
    })),
  );
  how.push(`CNI: DaemonSets in kube-system (${kubeSystem.map((x) => x.metadata?.name).join(', ') || 'none'})`);

  // tc only matters when network detections may be on; reading it is per node, bounded.
  let nodes: NodeTcFact[] | undefined;
  if (config.networkEnabled.value !== false && config.cwsEnabled.value !== false) {
    const agents = await d.target.listAgents();
    nodes = [];
    const queue = [...agents];
    const workers = Array.from({ length: Math.min(d.concurrency ?? 50, queue.length) }, async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        nodes!.push(await nodeTc(d.target, a).catch((err: Error) => ({ node: a!.node, error: err.message })));
      }
    });
    await Promise.all(workers);
    nodes.sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }));
    how.push(
      `tc: \`${tcShow('IFACE').join(' ')}\` in ${cfg.containers.systemProbe} on ${nodes.length} node(s), pod-facing interfaces from /host/proc/1/net/dev (at most ${MAX_IFACES_PER_NODE} per node)`,
    );
  }

  const decision = decide({ agentVersion: versionReading?.version, config, cni, nodes });
  return {
    kind: 'netcheck',
    cluster: data.cluster,
    verdict: decision.verdict,
    findings: decision.findings,
    remediations: decision.remediations,
    ...(decision.suggestedPriority !== undefined ? { suggestedPriority: decision.suggestedPriority } : {}),
    agent: {
      version: versionReading?.version ? formatVersion(versionReading.version) : null,
      image: image ?? null,
      daemonSet: cfg.daemonSet,
      managedBy: managedBy(ds),
    },
    cni:
      cni.status === 'detected'
        ? { status: 'detected', vendor: cni.vendor, version: cni.version ? formatVersion(cni.version) : null, daemonSet: cni.daemonSet, detail: cni.versionHow }
        : { status: cni.status, vendor: null, version: null, daemonSet: null, detail: cni.reason },
    config: {
      cwsEnabled: configValue(config.cwsEnabled),
      networkEnabled: configValue(config.networkEnabled),
      classifierPriority: configValue(config.classifierPriority),
      classifierHandle: configValue(config.classifierHandle),
      rawClassifierHandle: configValue(config.rawClassifierHandle),
      rawPacketEnabled: configValue(config.rawPacketEnabled),
      directSend: configValue(config.directSend),
      layout: config.layout,
    },
    remediationEnv: (() => {
      const reads = { version: versionReading?.version, systemProbeEnv: spEnv?.map((e) => ({ name: e.name, value: e.value, valueFrom: e.valueFrom })) };
      return {
        classifierPriority: networkEnvNames('CLASSIFIER_PRIORITY', reads),
        networkEnabled: networkEnvNames('ENABLED', reads),
        fileKeys: config.layout === 'event_monitoring' ? ('event_monitoring_config' as const) : ('runtime_security_config' as const),
      };
    })(),
    nodes: (nodes ?? []).map((n) =>
      'error' in n
        ? { node: n.node, priorities: [], interfaces: 0, error: n.error }
        : {
            node: n.node,
            interfaces: n.interfaces.length,
            priorities: [...new Set(n.interfaces.flatMap((i) => i.filters.filter((f) => !isDatadogClassifier(f)).map((f) => f.pref)))].sort((a, b) => a - b),
          },
    ),
    how,
  };
}
