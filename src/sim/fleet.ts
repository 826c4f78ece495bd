/**
 * The fleet spec: the simulator's input (DESIGN.md, "Fleet spec"). Every field but `name` is
 * optional; an absent one means the plain case. Unknown keys are errors that name the key path.
 *
 * Sections that later work gives behaviour to (`cni`, `tc`, `flare`) are validated here and
 * carried through unchanged; `nodeSpec()` resolves a node's effective settings.
 *
 * The agent pod's layout (issue 19; sources in test/fixtures/selftest/SOURCES.md §4):
 *
 *   agent:
 *     containers:                 # the pod's containers, in order; given = replaces the default
 *       agent: {}                 #   pair (security-agent, system-probe). Known names get the
 *       system-probe: {}          #   agent's command and commands over exec: agent (core agent:
 *                                 #   `agent flare|status|version`), security-agent, system-probe,
 *                                 #   trace-agent, process-agent. Leaving security-agent out is
 *                                 #   the newer system-probe-only layout.
 *     directSend: true            # as the Datadog Operator's features.cws.directSendFromSystemProbe:
 *                                 #   DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE=true
 *                                 #   on system-probe, and a security-agent container (if listed)
 *                                 #   without the runtime socket mount, so its `runtime self-test`
 *                                 #   cannot reach the module (the agent's own Unavailable error)
 *   nodes:
 *     overrides:
 *       node-3:
 *         agent:                  # that node's pod only (in a cluster: a pod from another
 *           containers:           #   revision mid-rollout, or another DaemonSet of an Operator
 *             security-agent: null  # profile): null removes a container, an entry adds one
 *             agent: {}           #   (or adds its env to the existing one)
 *           directSend: true
 *
 * The CWS network options (issue 19) are set as a deployment sets them: env on the system-probe
 * container (DD_EVENT_MONITORING_CONFIG_NETWORK_* and/or the deprecated DD_RUNTIME_SECURITY_CONFIG_NETWORK_*)
 * and keys in `agent.systemProbeYaml` (event_monitoring_config.network.* and/or the deprecated
 * runtime_security_config.network.*); system-probe applies them with the agent's precedence
 * (host-net.ts agentNetworkConfig, README "Network options").
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ALL_FLARE_FILE_NAMES } from './flare-archive.ts';

export const DEFAULT_AGENT_IMAGE = 'gcr.io/datadoghq/agent:7.50.3';
export const SELFTEST_OK_STDOUT = 'Runtime self test: OK\n';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Kubernetes label keys: optional DNS-subdomain prefix and a name part; values may be empty.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const IFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;

const dnsLabel = z.string().max(63).regex(DNS_LABEL, { error: 'must be a lowercase RFC 1123 label (a-z, 0-9 and "-", starting and ending alphanumeric)' });
const nodeName = z.string().max(253).regex(DNS_SUBDOMAIN, { error: 'must be a lowercase RFC 1123 subdomain (a Kubernetes node name)' });
const labels = z.record(
  z.string().regex(LABEL_KEY, { error: 'not a valid label key' }),
  z.string().regex(LABEL_VALUE, { error: 'not a valid label value (63 characters of [A-Za-z0-9_.-])' }),
);
/** YAML turns `3` and `true` into numbers and booleans; environment values are strings. */
const scalarString = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const ms = z.int().min(0).max(3_600_000);

const containerSpec = z.strictObject({
  env: z.record(z.string().regex(ENV_NAME, { error: 'not a valid environment variable name' }), scalarString).default(() => ({})),
});

/** Container names the simulator knows (their command, and what runs in them over exec). */
export const AGENT_CONTAINERS = ['agent', 'trace-agent', 'process-agent', 'security-agent', 'system-probe'] as const;
export const DIRECT_SEND_ENV = 'DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE';

const agentSpec = z.strictObject({
  daemonSet: dnsLabel.default('datadog-agent'),
  image: z.string().min(1).default(DEFAULT_AGENT_IMAGE),
  labels: labels.default(() => ({ 'app.kubernetes.io/component': 'agent' })),
  /** none | helm (labels + meta.helm.sh annotations) | operator (ownerReference to a DatadogAgent) */
  managedBy: z.enum(['none', 'helm', 'operator']).default('none'),
  /** Given containers replace the default pair (so a fleet can lack one, to test that error). */
  containers: z
    .record(dnsLabel, containerSpec)
    .refine((c) => Object.keys(c).length > 0, { error: 'at least one container is needed' })
    .default(() => ({ 'security-agent': { env: {} }, 'system-probe': { env: {} } })),
  systemProbeYaml: z.string().optional(),
  /** CWS sends its events from system-probe (the Operator's directSendFromSystemProbe); see the file comment. */
  directSend: z.boolean().default(false),
  /** The image has `/bin/sh` (the agent image is FROM ubuntu: dash). false: a custom image without one (distroless). */
  shell: z.boolean().default(true),
});

/** A node's pod layout: changes to the fleet's `agent.containers` (null removes) and `directSend`. */
const agentOverride = z.strictObject({
  containers: z.record(dnsLabel, containerSpec.nullable()).optional(),
  directSend: z.boolean().optional(),
});

const cniSpec = z
  .strictObject({
    daemonSet: dnsLabel.default('cilium'),
    namespace: dnsLabel.default('kube-system'),
    image: z.string().min(1).default('quay.io/cilium/cilium:v1.9.5'),
    labels: labels.optional(),
  })
  .transform((c) => ({ ...c, labels: c.labels ?? { 'k8s-app': c.daemonSet } }));

const selftestFields = {
  stdout: z.string(),
  stderr: z.string(),
  exitCode: z.int().min(0).max(255),
  latencyMs: ms,
  /** true: the command never finishes until the client closes the session. */
  hang: z.boolean(),
  /** What `security-agent status` lists under "Self Tests" → "Failed" (modern agents print OK). */
  failedTests: z.array(z.string().min(1)),
};
const selftestSpec = z.strictObject({
  stdout: selftestFields.stdout.default(SELFTEST_OK_STDOUT),
  stderr: selftestFields.stderr.default(''),
  exitCode: selftestFields.exitCode.default(0),
  latencyMs: selftestFields.latencyMs.default(0),
  hang: selftestFields.hang.default(false),
  failedTests: selftestFields.failedTests.default(() => []),
});
const selftestOverride = z.strictObject(selftestFields).partial();

const flareFields = {
  /** What the simulated Datadog intake answers: ok (case id), forbidden (HTTP 403), error (`{"error": …}`). */
  upload: z.enum(['ok', 'forbidden', 'error']),
  /** How long the upload takes, once confirmed. */
  latencyMs: ms,
  /** true: the upload never finishes until the client closes the session. */
  hang: z.boolean(),
  /** Which files the archive holds; only the agent's default set exists so far. */
  files: z.unknown().transform((v, ctx) => {
    if (v === 'default') return 'default' as const;
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not supported (only "default" is)` });
    return z.NEVER;
  }),
  /**
   * A path inside the archive (relative to `<hostname>/`) whose content keeps an unscrubbed API key
   * and app key: a file of the security-agent flare or of the core agent's (`agent flare`); an
   * archive without that file is not changed.
   */
  secretIn: z
    .string()
    .min(1)
    .refine((p) => (ALL_FLARE_FILE_NAMES as readonly string[]).includes(p), {
      error: (issue) => `"${String(issue.input)}" is not a file of the flare archive (one of: ${ALL_FLARE_FILE_NAMES.join(', ')})`,
    })
    .nullable(),
};
const flareSpec = z.strictObject({
  upload: flareFields.upload.default('ok'),
  latencyMs: flareFields.latencyMs.default(0),
  hang: flareFields.hang.default(false),
  files: flareFields.files.default('default'),
  secretIn: flareFields.secretIn.default(null),
});
const flareOverride = z.strictObject(flareFields).partial();

/** Per pod-facing interface: what `tc filter show dev IFACE ingress` prints. */
const tcSpec = z.record(z.string().regex(IFACE, { error: 'not a valid interface name' }), z.string());

const nodeOverride = z.strictObject({
  ready: z.boolean().optional(),
  agent: agentOverride.optional(),
  selftest: selftestOverride.optional(),
  tc: tcSpec.optional(),
  flare: flareOverride.optional(),
});

const nodesSpec = z
  .strictObject({
    count: z.int().min(1).max(10_000).optional(),
    names: z.array(nodeName).min(1).max(10_000).optional(),
    selftest: selftestSpec.prefault({}),
    tc: tcSpec.default(() => ({})),
    flare: flareSpec.prefault({}),
    overrides: z.record(z.string(), nodeOverride).default(() => ({})),
  })
  .transform((n, ctx) => {
    const names = n.names ?? Array.from({ length: n.count ?? 3 }, (_, i) => `node-${i + 1}`);
    if (n.names && n.count !== undefined && n.count !== n.names.length) {
      ctx.addIssue({ code: 'custom', path: ['count'], message: `is ${n.count} but names lists ${n.names.length} nodes (give one of them)` });
    }
    const seen = new Set<string>();
    for (const [i, name] of names.entries()) {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['names', i], message: `duplicate node name "${name}"` });
      seen.add(name);
    }
    for (const key of Object.keys(n.overrides)) {
      if (!seen.has(key)) {
        const range = names.length > 3 ? `${names[0]} … ${names[names.length - 1]}` : names.join(', ');
        ctx.addIssue({ code: 'custom', path: ['overrides', key], message: `no such node (nodes are ${range})` });
      }
    }
    return { selftest: n.selftest, tc: n.tc, flare: n.flare, overrides: n.overrides, names, count: names.length };
  });

const fleetShape = z.strictObject({
  /** Also the kubeconfig context name. */
  name: dnsLabel,
  namespace: dnsLabel.default('datadog'),
  agent: agentSpec.prefault({}),
  cni: cniSpec.optional(),
  nodes: nodesSpec.prefault({}),
});

export const fleetSchema = fleetShape.superRefine((f, ctx) => {
  for (const [node, o] of Object.entries(f.nodes.overrides)) {
    if (o.agent?.containers && Object.keys(podLayout(f, node).containers).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['nodes', 'overrides', node, 'agent', 'containers'], message: 'leaves the pod with no container' });
    }
  }
});

export type Fleet = z.output<typeof fleetShape>;
export type SelftestBehaviour = z.output<typeof selftestSpec>;
export type FlareBehaviour = z.output<typeof flareSpec>;
export type NodeOverride = z.output<typeof nodeOverride>;
export type ContainerSpec = z.output<typeof containerSpec>;

/** A pod's containers (in order, with their env) and whether CWS sends from system-probe. */
export interface PodLayout {
  containers: Record<string, ContainerSpec>;
  directSend: boolean;
}

/** A bad fleet file: every problem, each line prefixed with the file it came from. */
export class FleetError extends Error {
  constructor(
    readonly origin: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${origin}: ${p}`).join('\n'));
    this.name = 'FleetError';
  }
}

/** Reads and validates a fleet file (synchronously: it is small and read once at start). */
export function loadFleet(path: string): Fleet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FleetError(path, [`cannot read the fleet file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  return parseFleet(text, path);
}

export function parseFleet(text: string, origin: string): Fleet {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new FleetError(
      origin,
      doc.errors.map((e) => `invalid YAML: ${e.message.split('\n')[0]?.replace(/:$/, '')}`),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FleetError(origin, ['expected a mapping with at least `name:`']);
  }
  const result = fleetSchema.safeParse(raw);
  if (!result.success) throw new FleetError(origin, result.error.issues.flatMap(describeIssue));
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${keyPath([...issue.path, key])}: unknown key`);
  }
  const where = issue.path.length > 0 ? keyPath(issue.path) : '(top level)';
  return [`${where}: ${issue.message}`];
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc === '' ? String(part) : `${acc}.${String(part)}`;
  }, '');
}

/** A node's effective settings: fleet-wide values, then that node's override field by field. */
export interface NodeSpec {
  name: string;
  ready: boolean;
  selftest: SelftestBehaviour;
  /** The node's interfaces: an override's map replaces the fleet-wide one (interfaces differ per node). */
  tc: Record<string, string>;
  flare: FlareBehaviour;
  /** The node's agent pod layout: the fleet's, then the override's changes. */
  layout: PodLayout;
}

/**
 * The layout of the agent pod on `node`: `agent.containers` and `agent.directSend`, then the
 * node override's `agent`: a null container is removed, a new one is added at the end, an
 * existing one gets the override's env on top of its own.
 */
export function podLayout(fleet: Pick<Fleet, 'agent' | 'nodes'>, node: string): PodLayout {
  const o = fleet.nodes.overrides[node]?.agent;
  const containers: Record<string, ContainerSpec> = {};
  for (const [name, spec] of Object.entries(fleet.agent.containers)) containers[name] = { env: { ...spec.env } };
  for (const [name, spec] of Object.entries(o?.containers ?? {})) {
    if (spec === null) delete containers[name];
    else containers[name] = { env: { ...containers[name]?.env, ...spec.env } };
  }
  return { containers, directSend: o?.directSend ?? fleet.agent.directSend };
}

export function nodeSpec(fleet: Fleet, node: string): NodeSpec {
  const o = fleet.nodes.overrides[node] ?? {};
  return {
    name: node,
    ready: o.ready ?? true,
    layout: podLayout(fleet, node),
    selftest: mergeDefined(fleet.nodes.selftest, o.selftest),
    tc: o.tc ?? fleet.nodes.tc,
    flare: mergeDefined(fleet.nodes.flare, o.flare),
  };
}

/** `base` with every defined field of `patch` on top. */
export function mergeDefined<T extends object>(base: T, patch: Partial<T> | undefined): T {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
