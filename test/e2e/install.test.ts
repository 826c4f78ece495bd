/**
 * The install (issue 18, points 4 and 5): `kubectl kustomize manifests` and `manifests/worker`
 * rendered by the real kubectl and read object by object — kinds, Secret references, pinned
 * images, non-root and read-only containers, requests and limits, probes on the ops port, RBAC
 * exactly as the worker's code needs it, network policies — and the Dockerfile, .dockerignore
 * and docker-compose.yml read as files (no Docker engine or compose plugin is needed here).
 *
 * kubectl: on a machine without it the render tests are skipped with the reason printed; in CI
 * (CI set) they must run, and fail without it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '../../src/config/clusters.ts';

const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TMP = join(ROOT, '.tmp', `install-test-${process.pid}`);

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const kubectlFound = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const runRender = kubectlFound || Boolean(process.env.CI);
if (!runRender)
  console.warn('[install] kustomize render tests skipped: kubectl is not on PATH (it comes with the Google Cloud SDK here; in CI it is required)');

// ------------------------------------------------------------------------------ the code's needs

interface Rule {
  namespace: string;
  apiGroup: string;
  resource: string;
  verb: string;
  resourceNames?: string[];
}

/**
 * Every Kubernetes API call of the worker (workers/targets/kubernetes.ts,
 * workers/targets/kubernetes-inspect.ts, used by workers/jobs/*.ts), and the rule it needs. The
 * agent is in `datadog`, its DaemonSet `datadog-agent` and the ConfigMap it mounts into
 * system-probe `datadog-agent-system-probe-config` (the Helm chart's `<fullname>-system-probe-config`;
 * netcheck reads the name from the DaemonSet's volumes).
 */
const CALLS: Record<string, { rules: Omit<Rule, 'namespace'>[]; namespace: string; remediation: boolean }> = {
  // kubernetes.ts KubernetesTarget.listAgents (self-test fan-out, flare, netcheck, restart, list-agents)
  listNamespacedPod: { namespace: 'datadog', remediation: false, rules: [{ apiGroup: '', resource: 'pods', verb: 'list' }] },
  // kubernetes.ts KubernetesTarget.exec / openSession (kubernetes-exec.ts, client-node's Exec URL) over WebSocket; the upgrade is a
  // GET (`get` today, `create` with AuthorizePodWebsocketUpgradeCreatePermission, KEP-4006)
  'Exec.exec': {
    namespace: 'datadog',
    remediation: false,
    rules: [
      { apiGroup: '', resource: 'pods/exec', verb: 'get' },
      { apiGroup: '', resource: 'pods/exec', verb: 'create' },
    ],
  },
  // kubernetes-inspect.ts KubernetesInspector.agentDaemonSet (netcheck; remediate's before and rollout)
  readNamespacedDaemonSet: {
    namespace: 'datadog',
    remediation: false,
    rules: [{ apiGroup: 'apps', resource: 'daemonsets', verb: 'get', resourceNames: ['datadog-agent'] }],
  },
  // kubernetes-inspect.ts KubernetesInspector.configMap (netcheck: system-probe.yaml)
  readNamespacedConfigMap: {
    namespace: 'datadog',
    remediation: false,
    rules: [{ apiGroup: '', resource: 'configmaps', verb: 'get', resourceNames: ['datadog-agent-system-probe-config'] }],
  },
  // kubernetes-inspect.ts KubernetesInspector.daemonSets('kube-system') (netcheck: the CNI plugin)
  listNamespacedDaemonSet: { namespace: 'kube-system', remediation: false, rules: [{ apiGroup: 'apps', resource: 'daemonsets', verb: 'list' }] },
  // kubernetes-inspect.ts DaemonSetPatcher.jsonPatch (workers/jobs/remediate.ts: env changes and Revert)
  patchNamespacedDaemonSet: {
    namespace: 'datadog',
    remediation: true,
    rules: [{ apiGroup: 'apps', resource: 'daemonsets', verb: 'patch', resourceNames: ['datadog-agent'] }],
  },
  // kubernetes.ts KubernetesTarget.restartAgent (workers/jobs/restart-agent.ts: Restart agent on …)
  deleteNamespacedPod: { namespace: 'datadog', remediation: true, rules: [{ apiGroup: '', resource: 'pods', verb: 'delete' }] },
};

const rulesOf = (remediation: boolean): Rule[] =>
  Object.values(CALLS)
    .filter((c) => c.remediation === remediation)
    .flatMap((c) => c.rules.map((r) => ({ ...r, namespace: c.namespace })));
const READ = rulesOf(false);
const REMEDIATION = rulesOf(true);
const key = (r: Rule) =>
  `${r.namespace} ${r.apiGroup || 'core'} ${r.resource} ${r.verb}${r.resourceNames ? ` [${[...r.resourceNames].sort().join(',')}]` : ''}`;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

// ------------------------------------------------------------------------------ rendered objects

type Obj = Record<string, any>;
interface K8s extends Obj {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

function render(dir: string): K8s[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length) throw new Error(`kubectl kustomize ${dir}: bad YAML: ${d.errors[0]!.message}`);
    return d.toJS() as K8s;
  });
}

/** An overlay in a temporary folder inside the repository (kustomize paths are relative). */
function renderOverlay(name: string, kustomization: string): K8s[] {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kustomization.yaml'), kustomization.replaceAll('MANIFESTS', relative(dir, join(ROOT, 'manifests'))));
  return render(dir);
}

const find = (objs: K8s[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const get = (objs: K8s[], kind: string, name: string): K8s => {
  const o = find(objs, kind, name);
  if (!o) throw new Error(`no ${kind} ${name} in the render (got ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o;
};
const workloads = (objs: K8s[]) => objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind));
const podSpec = (w: K8s): Obj => (w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.spec : w.spec.template.spec);
const podLabels = (w: K8s): Record<string, string> => w.spec.template.metadata.labels;
const containersOf = (w: K8s): Obj[] => [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers];
const container = (w: K8s, name: string): Obj => {
  const c = podSpec(w).containers.find((x: Obj) => x.name === name);
  if (!c) throw new Error(`${w.kind} ${w.metadata.name} has no container ${name}`);
  return c;
};
const envOf = (c: Obj, name: string): Obj | undefined => (c.env as Obj[] | undefined)?.find((e) => e.name === name);

/** Kubernetes label selector semantics (matchLabels + matchExpressions In/NotIn/Exists/DoesNotExist). */
function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values!.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && e.values!.includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** The Roles' rules as one list of single-verb rules, each with the Role's namespace. */
function roleRules(objs: K8s[], names?: string[]): Rule[] {
  return objs
    .filter((o) => o.kind === 'Role' && (!names || names.includes(o.metadata.name)))
    .flatMap((role) =>
      (role.rules as Obj[]).flatMap((r) =>
        (r.apiGroups as string[]).flatMap((g) =>
          (r.resources as string[]).flatMap((res) =>
            (r.verbs as string[]).map((verb) => ({
              namespace: role.metadata.namespace!,
              apiGroup: g,
              resource: res,
              verb,
              ...(r.resourceNames ? { resourceNames: r.resourceNames as string[] } : {}),
            })),
          ),
        ),
      ),
    );
}

type EgressKind = 'dns' | 'apiserver' | 'redis';

/**
 * Classifies every egress rule that applies to pods with these labels; fails on any rule that is
 * none of DNS, the API server, Redis — in particular any rule open to every destination.
 */
function egressOf(objs: K8s[], labels: Record<string, string>, redisPodLabels?: Record<string, string>): EgressKind[] {
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec.podSelector, labels) && (o.spec.policyTypes as string[]).includes('Egress'));
  expect(policies.length, "a NetworkPolicy restricts this pod's egress").toBeGreaterThan(0);
  const kinds: EgressKind[] = [];
  for (const p of policies) {
    for (const rule of (p.spec.egress ?? []) as Obj[]) {
      const to = (rule.to ?? []) as Obj[];
      const ports = ((rule.ports ?? []) as Obj[]).map((x) => `${x.protocol ?? 'TCP'}/${x.port}`).sort();
      const where = `NetworkPolicy ${p.metadata.name}: ${JSON.stringify(rule)}`;
      expect(to.length, `${where}: a rule without "to" allows every destination`).toBeGreaterThan(0);
      expect(ports.length, `${where}: a rule without ports allows every port`).toBeGreaterThan(0);
      const wide = to.some((t) => t.ipBlock && ['0.0.0.0/0', '::/0'].includes(t.ipBlock.cidr));
      if (wide) {
        // The one wide rule: the API server, whose address a generic manifest cannot know (policies
        // see the endpoint after the `kubernetes` Service is translated): its ports only.
        expect(ports, `${where}: the only 0.0.0.0/0 rule is the API server's`).toEqual(['TCP/443', 'TCP/6443']);
        kinds.push('apiserver');
      } else if (ports.every((x) => x.endsWith('/53'))) {
        expect(to, `${where}: DNS goes to the cluster's DNS pods only`).toEqual([
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
        ]);
        kinds.push('dns');
      } else {
        expect(ports, `${where}: otherwise only Redis`).toEqual(['TCP/6379']);
        for (const t of to) {
          if (t.podSelector) {
            expect(t.namespaceSelector, `${where}: Redis pods of this namespace`).toBeUndefined();
            expect(redisPodLabels && selects(t.podSelector, redisPodLabels), `${where}: selects the Redis pods`).toBe(true);
          } else expect(t.ipBlock?.cidr, `${where}: a Redis outside the cluster is one address or subnet`).toMatch(/^[0-9.]+\/(1[6-9]|2\d|3[0-2])$/);
        }
        kinds.push('redis');
      }
    }
  }
  return kinds.sort();
}

/** What every render must hold for each of its pods. */
function checkPods(objs: K8s[]) {
  for (const w of workloads(objs)) {
    const spec = podSpec(w);
    for (const c of containersOf(w)) {
      const where = `${w.kind} ${w.metadata.name} container ${c.name}`;
      const sc = { ...(spec.securityContext ?? {}), ...(c.securityContext ?? {}) };
      expect(sc.runAsNonRoot, `${where}: runAsNonRoot`).toBe(true);
      expect(typeof sc.runAsUser === 'number' && sc.runAsUser > 0, `${where}: runAsUser is a non-root uid`).toBe(true);
      expect(c.securityContext?.readOnlyRootFilesystem, `${where}: readOnlyRootFilesystem`).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation, `${where}: allowPrivilegeEscalation`).toBe(false);
      expect(c.securityContext?.capabilities?.drop, `${where}: drops every capability`).toEqual(['ALL']);
      expect(sc.seccompProfile?.type, `${where}: seccomp`).toBe('RuntimeDefault');
      // Pinned: a version tag (not `latest`) or a digest. The tag is after the last `/`, so a
      // registry port (host:5000/x) is not taken for one.
      const [ref, digest] = (c.image as string).split('@') as [string, string | undefined];
      const last = ref.split('/').at(-1)!;
      const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
      expect(Boolean(tag) || /^sha256:[0-9a-f]{64}$/.test(digest ?? ''), `${where}: image ${c.image} is pinned`).toBe(true);
      expect(tag, `${where}: image ${c.image} is not :latest`).not.toBe('latest');
      if (tag) expect(tag, `${where}: image ${c.image} names a version`).toMatch(/^v?\d+\.\d+\.\d+/);
      expect(c.resources?.requests?.cpu, `${where}: cpu request`).toBeDefined();
      expect(c.resources?.requests?.memory, `${where}: memory request`).toBeDefined();
      expect(c.resources?.limits?.memory, `${where}: memory limit`).toBeDefined();
      expect(c.resources?.limits?.cpu, `${where}: cpu limit`).toBeDefined();
      expect(c.livenessProbe, `${where}: liveness probe`).toBeDefined();
      expect(c.readinessProbe, `${where}: readiness probe`).toBeDefined();
      // Secrets only by reference: no literal value for anything that looks like a credential.
      for (const e of (c.env ?? []) as Obj[])
        if (/TOKEN|SECRET|PASSWORD|PASS|AUTH|REDIS_URL|KEY/.test(e.name)) expect(e.value, `${where}: ${e.name} comes from a Secret`).toBeUndefined();
    }
    // The root is read-only: /tmp, where mounted, is an emptyDir; every mount is declared.
    for (const c of containersOf(w))
      for (const m of (c.volumeMounts ?? []) as Obj[]) {
        const vol = (spec.volumes ?? []).find((v: Obj) => v.name === m.name) ?? w.spec.volumeClaimTemplates?.find((v: Obj) => v.metadata.name === m.name);
        expect(vol, `${w.metadata.name}: volume ${m.name} is declared`).toBeDefined();
        if (m.mountPath === '/tmp') expect(vol.emptyDir, `${w.metadata.name}: /tmp is an emptyDir`).toBeDefined();
      }
  }
  expect(
    objs.filter((o) => o.kind === 'Secret'),
    'no Secret is rendered: the operator creates them',
  ).toEqual([]);
  expect(
    objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'),
    'no cluster-wide RBAC',
  ).toEqual([]);
}

/** The app's containers (bot, worker) serve /livez and /readyz on the ops port, 9464. */
function checkOps(c: Obj, where: string) {
  const ops = (c.ports as Obj[]).find((p) => p.name === 'ops');
  expect(ops?.containerPort, `${where}: port ops`).toBe(9464);
  expect(envOf(c, 'OPS_PORT')?.value, `${where}: OPS_PORT`).toBe('9464');
  expect(c.livenessProbe.httpGet, `${where}: liveness`).toEqual({ path: '/livez', port: 'ops' });
  expect(c.readinessProbe.httpGet, `${where}: readiness`).toEqual({ path: '/readyz', port: 'ops' });
  if (c.startupProbe) expect(c.startupProbe.httpGet, `${where}: startup`).toEqual({ path: '/livez', port: 'ops' });
}

/** Memory: the old-space flag is under the container limit (256 Mi for both roles). */
function checkMemory(c: Obj, where: string) {
  expect(c.resources.limits.memory, `${where}: memory limit`).toBe('256Mi');
  expect(c.command, `${where}: V8 old space under the limit`).toContain('--max-old-space-size=192');
}

function checkWorker(objs: K8s[], expectCluster: string) {
  const worker = get(objs, 'Deployment', 'cws-worker');
  const c = container(worker, 'worker');
  expect(c.image).toBe(`ghcr.io/example/cws-chatops:${VERSION}`);
  expect(c.command).toEqual(['node', '--max-semi-space-size=4', '--max-old-space-size=192', 'dist/main.js', 'worker']);
  checkMemory(c, 'worker');
  checkOps(c, 'worker');
  expect(envOf(c, 'REDIS_URL')?.valueFrom, 'worker REDIS_URL').toEqual({ secretKeyRef: { name: 'cws-redis', key: 'url' } });
  expect(envOf(c, 'WORKER_CLUSTERS')?.value).toBe(expectCluster);
  // No Slack token anywhere near a worker.
  expect(JSON.stringify(worker)).not.toMatch(/cws-slack|SLACK_/);
  // Its ServiceAccount, bound in the agent's namespace and in kube-system.
  const spec = podSpec(worker);
  expect(spec.serviceAccountName).toBe('cws-worker');
  expect(get(objs, 'ServiceAccount', 'cws-worker').metadata.namespace).toBe('cws');
  expect(worker.metadata.namespace).toBe('cws');

  // The clusters file: generated from the repository's file, mounted where CWS_CONFIG says, and
  // naming what the RBAC names.
  const cmName = spec.volumes.find((v: Obj) => v.name === 'config').configMap.name as string;
  const cm = get(objs, 'ConfigMap', cmName);
  expect(cmName).toMatch(/^cws-config-[a-z0-9]{10}$/);
  expect(envOf(c, 'CWS_CONFIG')?.value).toBe('/config/cws.yaml');
  expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/config', readOnly: true });
  const clusters = parseClustersFile(cm.data['cws.yaml'], `ConfigMap ${cmName}`);
  const served = clusters.clusters[expectCluster];
  expect(served?.kind, `the worker's cluster ${expectCluster} is in its clusters file`).toBe('kubernetes');
  if (served?.kind !== 'kubernetes') return;
  expect(served.kubeconfig, 'in-cluster config').toBeUndefined();
  expect(served.context).toBeUndefined();
  const allRules = roleRules(objs);
  for (const r of allRules) if (r.namespace !== 'kube-system') expect(r.namespace, "the Roles are in the cluster's agent namespace").toBe(served.namespace);
  for (const r of allRules.filter((x) => x.resource === 'daemonsets' && x.namespace === served.namespace)) expect(r.resourceNames).toEqual([served.daemonSet]);
  for (const r of allRules.filter((x) => x.resource === 'configmaps')) expect(r.resourceNames).toEqual([`${served.daemonSet}-system-probe-config`]);

  // Every Role is bound to the worker's ServiceAccount, in its own namespace.
  for (const role of objs.filter((o) => o.kind === 'Role')) {
    const binding = objs.find((o) => o.kind === 'RoleBinding' && o.roleRef.name === role.metadata.name && o.metadata.namespace === role.metadata.namespace);
    expect(binding, `Role ${role.metadata.namespace}/${role.metadata.name} is bound`).toBeDefined();
    expect(binding!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: 'cws-worker', namespace: 'cws' }]);
  }

  const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector, podLabels(worker)));
  expect(pdb?.spec.minAvailable, 'worker PodDisruptionBudget').toBe(1);
  expect(worker.spec.replicas).toBeGreaterThan(1);

  // Ingress: the ops port only.
  const ingress = objs
    .filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec.podSelector, podLabels(worker)) && o.spec.policyTypes.includes('Ingress'))
    .flatMap((p) => p.spec.ingress ?? []);
  expect(ingress).toEqual([{ ports: [{ port: 'ops', protocol: 'TCP' }] }]);
}

function checkRbac(objs: K8s[], withRemediation: boolean) {
  const read = roleRules(objs, ['cws-worker', 'cws-worker-cni-read']);
  const rem = roleRules(objs, ['cws-worker-remediate']);
  expect(read.map(key).sort(), 'read-only Roles: exactly what the code reads').toEqual(READ.map(key).sort());
  expect(rem.map(key).sort(), 'remediation Role: exactly what the code changes').toEqual(withRemediation ? REMEDIATION.map(key).sort() : []);
  expect(
    objs
      .filter((o) => o.kind === 'Role')
      .map((o) => o.metadata.name)
      .sort(),
  ).toEqual(['cws-worker', 'cws-worker-cni-read', ...(withRemediation ? ['cws-worker-remediate'] : [])].sort());
}

// ------------------------------------------------------------------------------------- the tests

describe('what the worker code calls (the list the RBAC checks compare against)', () => {
  it('names every Kubernetes API call in workers/, and nothing that is not called', () => {
    const found = new Set<string>();
    for (const file of sourceFiles(join(ROOT, 'workers'))) {
      const text = readFileSync(file, 'utf8');
      const where = relative(ROOT, file);
      // Generated API clients: namespaced calls, and the cluster-scoped resources a worker might touch.
      const call =
        /\.((?:list|read|patch|delete|create|replace|watch|connect)\w*(?:Namespaced\w+|ForAllNamespaces)|(?:list|read|patch|delete|create|replace)(?:Node|Namespace|PersistentVolume|ClusterRole|CustomResourceDefinition|StorageClass|ClusterCustomObject)\w*)\(/g;
      for (const m of text.matchAll(call)) found.add(m[1]!);
      for (const m of text.matchAll(/makeApiClient\((\w+)\)/g))
        expect(['CoreV1Api', 'AppsV1Api'], `${where} makes a ${m[1]} client: add its calls here`).toContain(m[1]);
      // client-node's Exec, or our own exec client's upgrade URL (kubernetes-exec.ts): the same pods/exec call.
      if (/\bnew Exec\(/.test(text) || /\/pods\/\$\{\w+\}\/exec\?/.test(text)) found.add('Exec.exec');
      for (const other of ['new Attach(', 'new PortForward(', 'new Log(', 'new Watch(', 'new Cp(', 'new Metrics(', 'new Informer(', 'makeInformer('])
        expect(text.includes(other), `${where} uses ${other}: add its rule`).toBe(false);
    }
    expect([...found].sort()).toEqual(Object.keys(CALLS).sort());
  });
});

describe.runIf(runRender)('kubectl kustomize manifests (the complete install)', () => {
  let objs: K8s[];
  beforeAll(() => {
    if (!kubectlFound) throw new Error('kubectl is not on PATH: it is required in CI (the machine image ships it with the Google Cloud SDK)');
    objs = render('manifests');
  });

  it('has every object of the install, namespaced as documented', () => {
    const ids = objs.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name.replace(/^cws-config-[a-z0-9]{10}$/, 'cws-config-HASH')}`).sort();
    expect(ids).toEqual(
      [
        'Namespace -/cws',
        'ServiceAccount cws/cws-bot',
        'Deployment cws/cws-bot',
        'Service cws/cws-bot',
        'PodDisruptionBudget cws/cws-bot',
        'NetworkPolicy cws/cws-bot',
        'ServiceAccount cws/cws-worker',
        'Deployment cws/cws-worker',
        'PodDisruptionBudget cws/cws-worker',
        'NetworkPolicy cws/cws-worker',
        'Role datadog/cws-worker',
        'RoleBinding datadog/cws-worker',
        'Role datadog/cws-worker-remediate',
        'RoleBinding datadog/cws-worker-remediate',
        'Role kube-system/cws-worker-cni-read',
        'RoleBinding kube-system/cws-worker-cni-read',
        'StatefulSet cws/cws-redis',
        'Service cws/cws-redis',
        'NetworkPolicy cws/cws-redis',
        'NetworkPolicy cws/cws-redis-clients',
        'ConfigMap cws/cws-config-HASH',
      ].sort(),
    );
    expect(get(objs, 'Namespace', 'cws').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('every pod: non-root, read-only root, no capabilities, pinned image, requests and limits, probes, no literal secret', () => {
    checkPods(objs);
  });

  it('the bot: Slack tokens from the Secret cws-slack, no cluster credentials, ops probes, its Service and PDB', () => {
    const bot = get(objs, 'Deployment', 'cws-bot');
    const c = container(bot, 'bot');
    expect(c.image).toBe(`ghcr.io/example/cws-chatops:${VERSION}`);
    expect(c.command).toEqual(['node', '--max-old-space-size=192', 'dist/main.js', 'bot']);
    checkMemory(c, 'bot');
    checkOps(c, 'bot');
    expect(envOf(c, 'SLACK_BOT_TOKEN')?.valueFrom).toEqual({ secretKeyRef: { name: 'cws-slack', key: 'bot-token' } });
    // HTTP mode or Socket Mode: one of the two is in the Secret.
    expect(envOf(c, 'SLACK_SIGNING_SECRET')?.valueFrom).toEqual({ secretKeyRef: { name: 'cws-slack', key: 'signing-secret', optional: true } });
    expect(envOf(c, 'SLACK_APP_TOKEN')?.valueFrom).toEqual({ secretKeyRef: { name: 'cws-slack', key: 'app-token', optional: true } });
    expect(envOf(c, 'REDIS_URL')?.valueFrom).toEqual({ secretKeyRef: { name: 'cws-redis', key: 'url' } });
    // No cluster credentials: no token mounted, and nothing binds its ServiceAccount.
    expect(podSpec(bot).automountServiceAccountToken).toBe(false);
    expect(get(objs, 'ServiceAccount', 'cws-bot').automountServiceAccountToken).toBe(false);
    expect(objs.filter((o) => o.kind === 'RoleBinding' && JSON.stringify(o.subjects).includes('cws-bot'))).toEqual([]);
    const http = (c.ports as Obj[]).find((p) => p.name === 'http');
    expect(http?.containerPort).toBe(Number(envOf(c, 'PORT')?.value));
    const svc = get(objs, 'Service', 'cws-bot');
    expect(selects({ matchLabels: svc.spec.selector }, podLabels(bot))).toBe(true);
    expect(svc.spec.ports.map((p: Obj) => p.targetPort).sort()).toEqual(['http', 'ops']);
    const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector, podLabels(bot)));
    expect(pdb?.spec.minAvailable).toBe(1);
    expect(bot.spec.replicas).toBeGreaterThan(1);
    // Network: in, its HTTP and ops ports; out, DNS, Redis and public HTTPS (Slack) only.
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec.podSelector, podLabels(bot)));
    expect(policies.flatMap((p) => p.spec.ingress ?? [])).toEqual([
      {
        ports: [
          { port: 'http', protocol: 'TCP' },
          { port: 'ops', protocol: 'TCP' },
        ],
      },
    ]);
    const egress = policies.flatMap((p) => (p.spec.egress ?? []) as Obj[]);
    const https = egress.filter((r) => JSON.stringify(r.ports) === JSON.stringify([{ port: 443, protocol: 'TCP' }]));
    expect(https).toHaveLength(1);
    expect(https[0]!.to[0].ipBlock.except, 'Slack over HTTPS, but no private address').toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
    );
    const redisLabels = podLabels(get(objs, 'StatefulSet', 'cws-redis'));
    expect(egress.filter((r) => r !== https[0]).map((r) => (r.ports as Obj[]).map((p) => p.port).join(','))).toEqual(expect.arrayContaining(['53,53', '6379']));
    expect(egress.filter((r) => r.to.some((t: Obj) => t.podSelector && selects(t.podSelector, redisLabels)))).toHaveLength(1);
    expect(egress).toHaveLength(3);
  });

  it('one worker: its ServiceAccount, Roles in the agent namespace, the clusters file as a ConfigMap, ops probes, PDB', () => {
    checkWorker(objs, 'cluster-a');
  });

  it('RBAC: exactly the verbs the code uses, resourceNames where the object is known, remediation in its own Role', () => {
    checkRbac(objs, true);
  });

  it('the worker may reach only DNS, the API server and Redis', () => {
    const worker = get(objs, 'Deployment', 'cws-worker');
    expect(egressOf(objs, podLabels(worker), podLabels(get(objs, 'StatefulSet', 'cws-redis')))).toEqual(['apiserver', 'dns', 'redis']);
  });

  it('Redis: a StatefulSet with AOF on a PersistentVolumeClaim, its password from the Secret cws-redis, reachable only by bot and workers', () => {
    const redis = get(objs, 'StatefulSet', 'cws-redis');
    const c = container(redis, 'redis');
    const args = [...(c.command ?? []), ...(c.args ?? [])] as string[];
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(args[0]).toBe('redis-server');
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--dir')).toBe('/data');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    expect(flag('--requirepass')).toBe('$(REDIS_PASSWORD)');
    expect(envOf(c, 'REDIS_PASSWORD')?.valueFrom).toEqual({ secretKeyRef: { name: 'cws-redis', key: 'password' } });
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    const claim = (redis.spec.volumeClaimTemplates as Obj[]).find((v) => v.metadata.name === 'data');
    expect(claim?.spec.resources.requests.storage).toBeDefined();
    expect(
      podSpec(redis).volumes?.some((v: Obj) => v.name === 'data'),
      'data is the claim, not an emptyDir',
    ).toBeFalsy();
    expect(redis.spec.serviceName).toBe('cws-redis');
    expect(get(objs, 'Service', 'cws-redis').spec.ports[0].port).toBe(6379);
    // Ingress from bot and worker only; no egress at all.
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec.podSelector, podLabels(redis)));
    expect(policies.flatMap((p) => p.spec.policyTypes).sort()).toEqual(['Egress', 'Ingress']);
    expect(policies.flatMap((p) => p.spec.egress ?? [])).toEqual([]);
    const from = policies.flatMap((p) => (p.spec.ingress ?? []) as Obj[]).flatMap((r) => r.from as Obj[]);
    const bot = podLabels(get(objs, 'Deployment', 'cws-bot'));
    const worker = podLabels(get(objs, 'Deployment', 'cws-worker'));
    for (const f of from) expect(selects(f.podSelector, bot) || selects(f.podSelector, worker)).toBe(true);
    expect(from.some((f) => selects(f.podSelector, bot)) && from.some((f) => selects(f.podSelector, worker))).toBe(true);
  });

  it("the bot reads the same clusters file, and knows the worker's cluster", () => {
    const bot = get(objs, 'Deployment', 'cws-bot');
    const worker = get(objs, 'Deployment', 'cws-worker');
    const name = (w: K8s) => podSpec(w).volumes.find((v: Obj) => v.name === 'config').configMap.name;
    expect(name(bot)).toBe(name(worker));
  });
});

describe.runIf(runRender)('kubectl kustomize manifests/worker (a worker alone, for another cluster)', () => {
  let objs: K8s[];
  beforeAll(() => {
    if (!kubectlFound) throw new Error('kubectl is not on PATH: it is required in CI');
    objs = render('manifests/worker');
  });

  it('is a worker with its RBAC and config, and no bot, no Redis, no Slack token', () => {
    const ids = objs.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name.replace(/^cws-config-[a-z0-9]{10}$/, 'cws-config-HASH')}`).sort();
    expect(ids).toEqual(
      [
        'Namespace -/cws',
        'ServiceAccount cws/cws-worker',
        'Deployment cws/cws-worker',
        'PodDisruptionBudget cws/cws-worker',
        'NetworkPolicy cws/cws-worker',
        'NetworkPolicy cws/cws-redis-clients',
        'Role datadog/cws-worker',
        'RoleBinding datadog/cws-worker',
        'Role datadog/cws-worker-remediate',
        'RoleBinding datadog/cws-worker-remediate',
        'Role kube-system/cws-worker-cni-read',
        'RoleBinding kube-system/cws-worker-cni-read',
        'ConfigMap cws/cws-config-HASH',
      ].sort(),
    );
    checkPods(objs);
    checkWorker(objs, 'cluster-b');
    checkRbac(objs, true);
  });

  it('reaches the central Redis at one address, the API server and DNS, nothing else', () => {
    expect(egressOf(objs, podLabels(get(objs, 'Deployment', 'cws-worker')))).toEqual(['apiserver', 'dns', 'redis']);
  });
});

describe.runIf(runRender)('the documented variations (overlays on manifests)', () => {
  beforeAll(() => {
    if (!kubectlFound) throw new Error('kubectl is not on PATH: it is required in CI');
  });

  it('components/external-redis: no StatefulSet, Service or policy of Redis; bot and worker reach one address', () => {
    const objs = renderOverlay('external-redis', 'resources: [MANIFESTS]\ncomponents: [MANIFESTS/components/external-redis]\n');
    for (const [kind, name] of [
      ['StatefulSet', 'cws-redis'],
      ['Service', 'cws-redis'],
      ['NetworkPolicy', 'cws-redis'],
    ] as const)
      expect(find(objs, kind, name), `${kind} ${name}`).toBeUndefined();
    expect(objs.filter((o) => o.kind === 'PersistentVolumeClaim' || o.kind === 'StatefulSet')).toEqual([]);
    checkPods(objs);
    expect(egressOf(objs, podLabels(get(objs, 'Deployment', 'cws-worker')))).toEqual(['apiserver', 'dns', 'redis']);
    const bot = podLabels(get(objs, 'Deployment', 'cws-bot'));
    expect(
      objs
        .filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec.podSelector, bot))
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['cws-bot', 'cws-redis-clients']);
  });

  it("without remediation (the README's two delete patches): only the read-only Roles are left", () => {
    const del = (kind: string) =>
      `  - patch: |\n      $patch: delete\n      apiVersion: rbac.authorization.k8s.io/v1\n      kind: ${kind}\n      metadata: { name: cws-worker-remediate, namespace: datadog }\n`;
    const objs = renderOverlay('no-remediation', `resources: [MANIFESTS]\npatches:\n${del('Role')}${del('RoleBinding')}`);
    checkRbac(objs, false);
    expect(find(objs, 'RoleBinding', 'cws-worker-remediate')).toBeUndefined();
    // The README shows the same patches.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('metadata: { name: cws-worker-remediate, namespace: datadog }');
  });
});

// ------------------------------------------------------------------------------ image and compose

describe('the image (Dockerfile, .dockerignore)', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; lines: string[] }[] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push({ from: l, lines: [] });
    else stages.at(-1)?.lines.push(l);
  }
  const runtime = stages.at(-1)!;
  const build = stages[0]!;

  it('is multi-stage: the build stage installs everything and bundles, the runtime stage only production dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.lines.some((l) => /^RUN .*npm ci\b/.test(l) && !l.includes('--omit=dev'))).toBe(true);
    expect(build.lines.some((l) => /^RUN .*node scripts\/build\.mjs/.test(l))).toBe(true);
    expect(runtime.lines.some((l) => /^RUN .*npm ci\b.*--omit=dev/.test(l))).toBe(true);
    expect(runtime.from).toMatch(/^FROM \$\{NODE_IMAGE\}|^FROM node:20/);
    expect(text).toMatch(/ARG NODE_IMAGE=node:20-bookworm-slim/);
  });

  it("the runtime stage holds package*.json, dist/, bin/ and the sandbox's data files, nothing else", () => {
    const copies = runtime.lines.filter((l) => /^COPY\s/i.test(l));
    expect(copies).toEqual([
      'COPY package.json package-lock.json ./',
      'COPY --from=build /app/dist ./dist',
      'COPY --from=build /app/image-bin ./bin',
      'COPY src/sandbox/page ./src/sandbox/page',
      'COPY src/sandbox/demo-fleet.yaml ./src/sandbox/demo-fleet.yaml',
    ]);
    expect(runtime.lines.some((l) => /^ADD\s/i.test(l))).toBe(false);
    // The image's bin/cws.mjs loads the CLI's bundle, not the sources through tsx.
    expect(text).toContain("await import('../dist/cli.js');");
    expect(text).toContain('--outfile=dist/cli.js');
  });

  it("runs as a non-root user, with a HEALTHCHECK on the ops port's /livez through node", () => {
    const users = runtime.lines.filter((l) => /^USER\s/i.test(l));
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^USER\s+(root|0)(:|$)/);
    expect(users[0]).toMatch(/^USER\s+(1000|node)/);
    const hc = runtime.lines.find((l) => /^HEALTHCHECK\s/i.test(l));
    expect(hc).toMatch(/CMD \["node", "-e", .*\/livez/);
    expect(hc).toMatch(/OPS_PORT\|\|9464/);
    expect(hc).not.toMatch(/curl|wget/);
    expect(runtime.lines).toContain('EXPOSE 3000 9464');
  });

  it('esbuild and tsx are development dependencies, and nothing the processes run imports them', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    for (const d of ['esbuild', 'tsx']) {
      expect(pkg.dependencies[d], `${d} is not a runtime dependency`).toBeUndefined();
      expect(pkg.devDependencies[d], `${d} is a development dependency`).toBeDefined();
    }
    // `npm start` (after `npm ci`, which installs development dependencies) builds with esbuild.
    expect(pkg.scripts.start).toMatch(/^node scripts\/build\.mjs && /);
    for (const file of [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'workers'))])
      expect(readFileSync(file, 'utf8'), relative(ROOT, file)).not.toMatch(/from ['"](esbuild|tsx)(\/[^'"]*)?['"]|import\(['"](esbuild|tsx)/);
  });

  it('the CLI bundle is built exactly as the Dockerfile builds it, and runs', () => {
    const m = /node_modules\/\.bin\/esbuild (src\/cli\/main\.ts .*?) --outfile=dist\/cli\.js/.exec(text);
    expect(m, 'the Dockerfile bundles src/cli/main.ts').not.toBeNull();
    const out = join(TMP, 'cli', 'cli.js');
    mkdirSync(join(TMP, 'cli'), { recursive: true });
    execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [...m![1]!.split(/\s+/).filter(Boolean), `--outfile=${out}`], { cwd: ROOT, stdio: 'pipe' });
    const help = execFileSync(process.execPath, [out, 'help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(help).toMatch(/npx cws selftest <cluster>/);
  });

  it('.dockerignore keeps everything out but what the build copies', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const kept = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    expect(kept.sort()).toEqual(['package-lock.json', 'package.json', 'scripts', 'src', 'tsconfig.json', 'workers']);
    // Everything the Dockerfile copies from the context is kept.
    const fromContext = lines.filter((l) => /^COPY\s/i.test(l) && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const src of fromContext)
      expect(
        kept.some((k) => src === k || src.startsWith(`${k}/`)),
        `${src} is in the build context`,
      ).toBe(true);
    expect(ignore).toEqual(expect.arrayContaining(['**/.env', '**/*.kubeconfig', '**/node_modules']));
  });
});

describe('docker-compose.yml', () => {
  const raw = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  /** Compose's interpolation with an empty environment: `${X:-d}` → d, `${X}` → '', `$$` → `$`. */
  const interpolate = (s: string) =>
    s
      .replace(/\$\$/g, '\u0000')
      .replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _n, d: string | undefined) => d ?? '')
      .replace(/\u0000/g, '$');
  // As compose does: parse, then interpolate each string value.
  const deep = (v: unknown): unknown =>
    typeof v === 'string'
      ? interpolate(v)
      : Array.isArray(v)
        ? v.map(deep)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]))
          : v;
  const compose = deep(parseYaml(raw)) as { services: Record<string, Obj>; volumes?: Obj };

  it('passes with no Slack token set: no required variable', () => {
    expect(raw).not.toMatch(/\$\{[A-Z0-9_]+:?\?/);
    for (const v of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN']) expect(compose.services.bot!.environment[v]).toBe('');
  });

  it('runs Redis with AOF and a password, and bot and worker with that password, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['bot', 'redis', 'worker']);
    const redis = compose.services.redis!;
    const cmd = redis.command as string[];
    expect(cmd[0]).toBe('redis-server');
    expect(cmd[cmd.indexOf('--appendonly') + 1]).toBe('yes');
    expect(cmd[cmd.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    const password = cmd[cmd.indexOf('--requirepass') + 1];
    expect(password).toBe('cws-local-only');
    expect(raw).toContain('--requirepass\n      - ${REDIS_PASSWORD:-cws-local-only}');
    expect(redis.image).toMatch(/^redis:\d+\.\d+\.\d+/);
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes ?? {})).toContain('redis-data');
    for (const name of ['redis', 'bot', 'worker']) expect(compose.services[name]!.healthcheck?.test, `${name} healthcheck`).toBeDefined();
    for (const name of ['bot', 'worker']) {
      const s = compose.services[name]!;
      expect(s.environment.REDIS_URL).toBe(`redis://:${password}@redis:6379`);
      expect(s.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
      expect(s.healthcheck.test.join(' ')).toMatch(/^CMD node -e fetch\('http:\/\/127\.0\.0\.1:9464\/livez'/);
      expect(s.environment.OPS_PORT).toBe('9464');
      expect(s.build).toBe('.');
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(['ALL']);
    }
    expect(compose.services.worker!.user).toBe('1000:1000');
    expect(compose.services.bot!.user).toBeUndefined(); // the image's USER 1000:1000
    expect(compose.services.worker!.command).toContain('--max-old-space-size=192');
  });

  it('mounts a clusters file that is in the repository, and the worker serves a cluster of it', () => {
    for (const name of ['bot', 'worker']) {
      const mount = (compose.services[name]!.volumes as string[]).find((v) => v.endsWith(':/config/cws.yaml:ro'));
      expect(mount, `${name} mounts the clusters file`).toBeDefined();
      const host = mount!.split(':')[0]!;
      expect(existsSync(join(ROOT, host)), `${host} exists`).toBe(true);
      const file = parseClustersFile(readFileSync(join(ROOT, host), 'utf8'), host);
      if (name === 'worker')
        for (const c of (compose.services.worker!.environment.WORKER_CLUSTERS as string).split(',')) expect(file.clusters[c], `cluster ${c}`).toBeDefined();
    }
  });

  it('the bot runs the sandbox without Slack tokens and the bot with them (as npm start decides)', () => {
    const script = (compose.services.bot!.command as string[]).join(' ');
    expect(script).toMatch(
      /if \[ -n "\$\{SLACK_BOT_TOKEN\}\$\{SLACK_SIGNING_SECRET\}\$\{SLACK_APP_TOKEN\}" \]; then exec node .*dist\/main\.js bot; else exec node dist\/main\.js all; fi/,
    );
    // The sandbox's own worker serves only the simulated cluster; the worker service the file's.
    expect(compose.services.bot!.environment.WORKER_CLUSTERS).toBe('demo');
    expect(compose.services.bot!.ports).toEqual(['127.0.0.1:3000:3000']);
  });

  const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  if (!composeCli)
    console.warn('[install] `docker compose config` skipped: no compose plugin (`docker compose version` fails); the file is checked by parsing it');
  it.runIf(composeCli)('docker compose config passes with no Slack token set', () => {
    const env = { ...process.env };
    for (const v of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN']) delete env[v];
    const r = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
