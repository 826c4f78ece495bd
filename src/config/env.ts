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
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
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
