import { z } from 'zod';

/** Environment of the bot and worker processes. Validated once at start. */
export const EnvSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xox[bp]-/, 'must be a bot token starting with xoxb-')
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, 'must be the app signing secret').optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must be an app-level token starting with xapp-')
    .optional(),
  SLACK_API_URL: z.url({ message: 'must be a URL such as https://slack.com/api/' }).optional(),
  /** Standalone, TLS, Sentinel or Cluster (`parseRedisUrl`). */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((v, ctx) => {
      const r = redisTarget(v);
      if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
    }),
  /** PEM files, read once at start: the CA that signed the server's certificate, and a client certificate and key (rediss:// only). */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  REDIS_TLS_CERT_FILE: z.string().min(1).optional(),
  REDIS_TLS_KEY_FILE: z.string().min(1).optional(),
  /** The Sentinels' own credentials (`requirepass`, `sentinel sentinel-user`), when they have any; the URL's are the master's. */
  REDIS_SENTINEL_USERNAME: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  CWS_CONFIG: z.string().min(1).default('cws.yaml'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The operations endpoints (/livez, /readyz, /metrics) of every process; 0 = any free port. */
  OPS_PORT: z.coerce
    .number({ message: 'must be a port number (0-65535)' })
    .int({ message: 'must be a port number (0-65535)' })
    .min(0, { message: 'must be a port number (0-65535)' })
    .max(65535, { message: 'must be a port number (0-65535)' })
    .default(9464),
  /** Where they listen: all interfaces by default (0.0.0.0), loopback in the sandbox. */
  OPS_HOST: z
    .string()
    .regex(/^(?:[A-Za-z0-9.-]+|\[?[0-9A-Fa-f:.]+\]?)$/, 'must be an address to listen on, such as 0.0.0.0, 127.0.0.1 or ::')
    .transform((v) => v.replace(/^\[(.*)\]$/, '$1'))
    .optional(),
  WORKER_CLUSTERS: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    ),
  /** Lock of a running job; after a worker crash its jobs move to another replica once it lapses. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Overrides the per-cluster concurrency (jobs at once per worker; one agent = one job). */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(5000).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `npm start`: 1 runs the local sandbox even with Slack credentials set, 0 never does. */
  SANDBOX: z.enum(['0', '1'], { message: 'must be 0 (run against Slack) or 1 (run the local sandbox)' }).optional(),
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Loopback by default: the sandbox has no authentication and can patch the configured clusters. */
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
});
export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface HostPort {
  host: string;
  port: number;
}

/** What REDIS_URL points at; credentials are the data nodes' (master, replicas, cluster nodes). */
export type RedisTarget = { username?: string; password?: string } & (
  | { kind: 'standalone'; host: string; port: number; db: number; tls: boolean }
  | { kind: 'sentinel'; sentinels: HostPort[]; master: string }
  | { kind: 'cluster'; nodes: HostPort[] }
);

const FORM = {
  standalone: 'redis://[user:pass@]host[:port][/db] (rediss:// for TLS)',
  sentinel: 'redis+sentinel://[user:pass@]host:port[,host:port…]/<master>',
  cluster: 'redis+cluster://[user:pass@]host:port[,host:port…]',
};

/** REDIS_URL, parsed; a ConfigError naming the form expected (never the value: it may hold a password) otherwise. */
export function parseRedisUrl(url: string): RedisTarget {
  const r = redisTarget(url);
  if (typeof r === 'string') throw new ConfigError(`REDIS_URL: ${r}`);
  return r;
}

/** The target, or what is wrong with the URL. */
function redisTarget(url: string): RedisTarget | string {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `must be ${FORM.standalone}`;
    }
    const port = u.port ? Number(u.port) : 6379;
    const path = decodeURIComponent(u.pathname).replace(/^\//, '');
    const db = path === '' ? 0 : /^\d+$/.test(path) ? Number(path) : NaN;
    if (!Number.isInteger(db)) return `the database must be a number: ${FORM.standalone}`;
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    try {
      return { kind: 'standalone', host, port, db, tls: scheme === 'rediss', ...credentials(u.username, u.password) };
    } catch {
      return `the user and password must be URL-encoded: ${FORM.standalone}`;
    }
  }
  if (scheme !== 'redis+sentinel' && scheme !== 'redis+cluster')
    return `must be a redis:// or rediss:// URL (${FORM.standalone}), ${FORM.sentinel} or ${FORM.cluster}`;
  const kind = scheme === 'redis+sentinel' ? 'sentinel' : 'cluster';
  const m = /^[^:]+:\/\/(?:([^@/]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?[^#]*)?$/.exec(url);
  if (!m) return `must be ${FORM[kind]}`;
  const [user = '', pass = ''] = (m[1] ?? '').split(/:(.*)/s);
  const nodes: HostPort[] = [];
  for (const part of m[2]!.split(',')) {
    const hp = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(part.trim());
    const port = hp?.[3] ? Number(hp[3]) : kind === 'sentinel' ? 26379 : 6379;
    if (!hp || port < 1 || port > 65535) return `each node must be host:port: ${FORM[kind]}`;
    nodes.push({ host: (hp[1] ?? hp[2])!, port });
  }
  const path = decodeURIComponent(m[3] ?? '');
  let auth: { username?: string; password?: string };
  try {
    auth = credentials(user, pass);
  } catch {
    return `the user and password must be URL-encoded: ${FORM[kind]}`;
  }
  if (kind === 'cluster') return path === '' ? { kind, nodes, ...auth } : `a cluster has no database or master name: ${FORM.cluster}`;
  if (!/^[^/\s]+$/.test(path)) return `a Sentinel URL ends with the name of its master: ${FORM.sentinel}`;
  return { kind, sentinels: nodes, master: path, ...auth };
}

function credentials(user: string, pass: string): { username?: string; password?: string } {
  return { ...(user ? { username: decodeURIComponent(user) } : {}), ...(pass ? { password: decodeURIComponent(pass) } : {}) };
}

/** One line naming the variable and the problem, never the value (it may be a secret). */
export function parseEnv(source: Record<string, string | undefined>, role: 'bot' | 'worker' | 'all'): Env {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
  }
  const env = parsed.data;
  if (role !== 'worker') {
    if (!env.SLACK_BOT_TOKEN) throw new ConfigError('SLACK_BOT_TOKEN: is required to run the bot (xoxb-…)');
    if (!env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN)
      throw new ConfigError('SLACK_SIGNING_SECRET: is required in HTTP mode (set SLACK_APP_TOKEN for Socket Mode)');
  }
  return env;
}
