import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CLUSTER_NAME_RE, ClusterName } from '../core/names.ts';
import { ConfigError } from './env.ts';

export { CLUSTER_NAME_RE, ClusterName } from '../core/names.ts';

/**
 * Slack user IDs (U…/W…) and user group IDs (S…, resolved with usergroups.users.list). An absent
 * list means everyone in the workspace; an empty list means nobody.
 */
const SlackUserList = z.array(z.string().regex(/^[UWS][A-Z0-9]{2,}$/, 'must be a Slack user ID such as U012ABCDEF or a user group ID such as S012ABCDEF'));

const Access = z.object({ run: SlackUserList.optional(), remediate: SlackUserList.optional(), approve: SlackUserList.optional() }).strict().default({});

const SelftestSettings = z
  .object({
    /**
     * Which binary runs `runtime self-test`. Absent: decided per agent from its layout (security-agent
     * where the pod has that container, else system-probe; test/fixtures/selftest/SOURCES.md §4).
     */
    binary: z.enum(['security-agent', 'system-probe']).optional(),
    timeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(15 * 60_000)
      .default(60_000),
    /** After the self-test, read the "Self Tests" block of `security-agent status` to name failing tests. */
    readStatus: z.boolean().default(true),
    /**
     * Run self-test and status in one exec session through the agent image's `/bin/sh` (a fixed script:
     * workers/targets/chain.ts). false: two sessions per agent, for clusters whose policy forbids a shell there.
     */
    shell: z.boolean().default(true),
  })
  .strict()
  .default({ timeoutMs: 60_000, readStatus: true, shell: true });

const FlareSettings = z
  .object({
    /** A review not answered within this is void: the agent is told "no". */
    reviewTtlMs: z
      .number()
      .int()
      .min(1000)
      .max(24 * 3600_000)
      .default(30 * 60_000),
    buildTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(3600_000)
      .default(5 * 60_000),
    uploadTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(3600_000)
      .default(10 * 60_000),
    /** Flares open at once on this cluster (building or waiting for review); they hold no job slot. */
    maxOpen: z.number().int().min(1).max(500).default(10),
    /** Flares one user may have open at once on this cluster. */
    maxOpenPerUser: z.number().int().min(1).max(50).default(2),
  })
  .strict()
  .default({ reviewTtlMs: 30 * 60_000, buildTimeoutMs: 5 * 60_000, uploadTimeoutMs: 10 * 60_000, maxOpen: 10, maxOpenPerUser: 2 });

/** The changes a cluster's `requireApproval` can name (`true`: all of them). */
export const APPROVABLE_ACTIONS = ['restart_agent', 'set_classifier_priority', 'disable_network_detections', 'disable_cws', 'revert'] as const;
export type ApprovableAction = (typeof APPROVABLE_ACTIONS)[number];

const ApprovalSettings = z
  .object({
    /** An approval request not answered within this is void (default 15 minutes). */
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(15 * 60),
  })
  .strict();

const Common = {
  flare: FlareSettings,
  /**
   * Two-person approval of changes: `true` for every change, or the list of the changes that need
   * it. The change runs once a user of `access.approve` other than the requester approves it.
   */
  requireApproval: z.union([z.boolean(), z.array(z.enum(APPROVABLE_ACTIONS))]).optional(),
  approval: ApprovalSettings.optional(),
  incidentChannel: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/, 'must be a Slack channel ID such as C0123456789')
    .optional(),
  /**
   * Where the results of the cluster's self-tests and netchecks are posted, whichever channel
   * the command came from (that channel gets a short pointer with a link). Absent: where asked.
   */
  resultsChannel: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/, 'must be a Slack channel ID such as C0123456789')
    .optional(),
  access: Access,
  selftest: SelftestSettings,
};

export const KubernetesCluster = z
  .object({
    kind: z.literal('kubernetes'),
    context: z.string().min(1).optional(),
    kubeconfig: z.string().min(1).optional(),
    namespace: z.string().default('datadog'),
    selector: z.string().default('app.kubernetes.io/component=agent'),
    daemonSet: z.string().default('datadog-agent'),
    containers: z
      .object({ securityAgent: z.string().default('security-agent'), systemProbe: z.string().default('system-probe') })
      .strict()
      .default({ securityAgent: 'security-agent', systemProbe: 'system-probe' }),
    // Exec sessions in flight per worker. 1000 from `BENCH_CONCURRENCY=<n> npm run bench -- selftest-all-in-one`
    // (1000 agents x 2 s, self-test + status in one session each, npm start, idle machine; README "Performance"
    // has the table): 1000 took 3.9-4.0 s at 178-185 MB peak RSS, 1500 no faster (3.9-4.0 s, up to 190 MB),
    // 750 and 500 a second wave more (5.0 s, 5.3-5.6 s). The RSS grows with the sessions open, ~50 KB each.
    concurrency: z.number().int().min(1).max(5000).default(1000),
    ...Common,
  })
  .strict();

export const DockerCluster = z
  .object({
    kind: z.literal('docker'),
    /** Unix socket path of the engine, or a DOCKER_HOST-style URL (unix://, tcp://, http://). */
    socket: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    container: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a container name or ID')
      .default('datadog-agent'),
    ...Common,
  })
  .strict();

export const HostCluster = z
  .object({
    kind: z.literal('host'),
    binary: z.string().startsWith('/', 'must be an absolute path').default('/opt/datadog-agent/embedded/bin/security-agent'),
    sudo: z.boolean().default(false),
    ...Common,
  })
  .strict();

export const ClusterConfig = z.discriminatedUnion('kind', [KubernetesCluster, DockerCluster, HostCluster]);
export type ClusterConfig = z.infer<typeof ClusterConfig>;
export type KubernetesClusterConfig = z.infer<typeof KubernetesCluster>;
export type DockerClusterConfig = z.infer<typeof DockerCluster>;
export type HostClusterConfig = z.infer<typeof HostCluster>;

const Window = z.object({ commands: z.number().int().min(1).max(100_000), windowSec: z.number().int().min(1).max(86_400) }).strict();
/** How many cluster commands (and re-run clicks) one user, and one cluster, may start per window. */
export const CommandLimits = z
  .object({ perUser: Window.default({ commands: 20, windowSec: 60 }), perCluster: Window.default({ commands: 60, windowSec: 60 }) })
  .strict()
  .default({ perUser: { commands: 20, windowSec: 60 }, perCluster: { commands: 60, windowSec: 60 } });
export type CommandLimits = z.infer<typeof CommandLimits>;

export const ClustersFile = z
  .object({
    limits: CommandLimits.optional(),
    /** The audit trail (`cws:audit`): entries older than `retentionDays` are trimmed (default 90). */
    audit: z
      .object({ retentionDays: z.number().int().min(1).max(3650).optional() })
      .strict()
      .optional(),
    clusters: z.record(ClusterName, ClusterConfig).refine((c) => Object.keys(c).length > 0, 'at least one cluster is required'),
  })
  .strict();
export type ClustersFile = z.infer<typeof ClustersFile>;

export function parseClustersFile(text: string, origin = 'CWS_CONFIG'): ClustersFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${origin}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = ClustersFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    // zod reports a bad record key as "Invalid key"; the reason is one level down.
    const nested = (issue as { issues?: { message: string }[] }).issues?.[0]?.message;
    throw new ConfigError(`${origin}: ${where}: ${nested ?? issue.message}`);
  }
  return parsed.data;
}

export function loadClustersFile(path: string): ClustersFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`CWS_CONFIG: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseClustersFile(text, `CWS_CONFIG (${path})`);
}

/** A configured cluster by name; `constructor`, `__proto__` and other inherited names are not clusters. */
export function clusterNamed(file: ClustersFile, name: string): ClusterConfig | undefined {
  return Object.hasOwn(file.clusters, name) ? file.clusters[name] : undefined;
}

/** Whether a change on this cluster waits for a second person's approval. */
export function needsApproval(config: Pick<ClusterConfig, 'requireApproval'>, action: ApprovableAction): boolean {
  const r = config.requireApproval;
  return r === true || (Array.isArray(r) && r.includes(action));
}

/** How long an approval request of this cluster stays open, in ms (default 15 minutes). */
export const approvalTtlMs = (config: Pick<ClusterConfig, 'approval'>): number => (config.approval?.ttlSeconds ?? 15 * 60) * 1000;
