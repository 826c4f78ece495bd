import { parseArgs } from 'node:util';
import { CLUSTER_NAME_RE } from '../config/clusters.ts';

/** The `/cws` grammar: one pure parser shared by the Slack command and (later) the operator CLI. */
export type Command =
  | { name: 'help'; topic?: string }
  | { name: 'clusters' }
  | { name: 'selftest'; cluster: string; node?: string }
  | { name: 'flare'; cluster: string; node?: string; caseId?: string; email?: string }
  | { name: 'netcheck'; cluster: string };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string; usage: string };

export const USAGE: Record<Command['name'], string> = {
  help: '/cws help [subcommand]',
  clusters: '/cws clusters',
  selftest: '/cws selftest <cluster> [--node NODE]',
  flare: '/cws flare <cluster> [--node NODE] [CASE_ID] [--email ADDRESS]',
  netcheck: '/cws netcheck <cluster>',
};

export const SUMMARY: Record<Command['name'], string> = {
  help: 'show this help',
  clusters: 'list the configured clusters and whether a worker serves them',
  selftest: 'run `security-agent runtime self-test` on every agent of a cluster',
  flare: 'build a support flare on an agent, review it, then send it',
  netcheck: 'check CWS network detections against the cluster’s CNI plugin, and fix what it finds',
};

const NODE_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CASE_ID_RE = /^[0-9]{1,12}$/;
// Deliberately simple and strict: one @, a dot in the domain, no spaces or shell metacharacters.
const EMAIL_RE = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

const isSubcommand = (s: string): s is Command['name'] => Object.hasOwn(USAGE, s);

/** Slack may escape parts of the text (`<mailto:a@b.c|a@b.c>`, `<#C123|name>`); unwrap them. */
export function tokenize(text: string): string[] {
  return text
    .replace(/<mailto:([^|>]+)(\|[^>]*)?>/g, '$1')
    .replace(/[\u2014\u2013]/g, '--') // macOS/Slack autocorrect turns -- into an em dash
    .trim()
    .split(/\s+/)
    .filter(Boolean);
}

function fail(name: Command['name'] | undefined, error: string): ParseResult {
  return { ok: false, error, usage: name ? `Usage: \`${USAGE[name]}\`` : usageAll() };
}

export function usageAll(): string {
  return Object.keys(USAGE)
    .map((k) => `• \`${USAGE[k as Command['name']]}\` — ${SUMMARY[k as Command['name']]}`)
    .join('\n');
}

function checkCluster(name: Command['name'], value: string | undefined): string | ParseResult {
  if (!value) return fail(name, 'a cluster name is required.');
  if (!CLUSTER_NAME_RE.test(value))
    return fail(name, `\`${clip(value)}\` is not a valid cluster name (lowercase letters, digits, "-", "_", ".", at most 63).`);
  return value;
}

function checkNode(name: Command['name'], value: string | undefined): string | undefined | ParseResult {
  if (value === undefined) return undefined;
  if (!NODE_RE.test(value)) return fail(name, `\`${clip(value)}\` is not a valid node name.`);
  return value;
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s).replace(/`/g, "'");

export function parseCommand(text: string): ParseResult {
  const tokens = tokenize(text);
  const [sub, ...rest] = tokens;
  if (!sub) return { ok: true, command: { name: 'help' } };
  const name = sub.toLowerCase();
  if (!isSubcommand(name)) return fail(undefined, `unknown subcommand \`${clip(sub)}\`.`);

  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return fail(name, describeArgError(err as Error));
  }
  const { values, positionals } = parsed;
  const allowed = ALLOWED_OPTIONS[name];
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key as keyof typeof OPTIONS)) return fail(name, `\`--${key}\` is not an option of \`${name}\`.`);
  }

  switch (name) {
    case 'help': {
      if (positionals.length > 1) return fail(name, 'help takes at most one subcommand.');
      return { ok: true, command: positionals[0] ? { name, topic: positionals[0].toLowerCase() } : { name } };
    }
    case 'clusters':
      if (positionals.length) return fail(name, '`clusters` takes no arguments.');
      return { ok: true, command: { name } };
    case 'netcheck': {
      const cluster = checkCluster(name, positionals[0]);
      if (typeof cluster !== 'string') return cluster;
      if (positionals.length > 1) return fail(name, `unexpected argument \`${clip(positionals[1]!)}\`.`);
      return { ok: true, command: { name, cluster } };
    }
    case 'selftest': {
      const cluster = checkCluster(name, positionals[0]);
      if (typeof cluster !== 'string') return cluster;
      if (positionals.length > 1) return fail(name, `unexpected argument \`${clip(positionals[1]!)}\`.`);
      const node = checkNode(name, values.node);
      if (typeof node === 'object') return node;
      return { ok: true, command: node ? { name, cluster, node } : { name, cluster } };
    }
    case 'flare': {
      const cluster = checkCluster(name, positionals[0]);
      if (typeof cluster !== 'string') return cluster;
      const node = checkNode(name, values.node);
      if (typeof node === 'object') return node;
      if (positionals.length > 2) return fail(name, `unexpected argument \`${clip(positionals[2]!)}\`.`);
      const caseId = positionals[1];
      if (caseId !== undefined && !CASE_ID_RE.test(caseId))
        return fail(name, `case ID \`${clip(caseId)}\` must be digits only (e.g. 1234567).`);
      const email = values.email;
      if (email !== undefined && !EMAIL_RE.test(email)) return fail(name, `\`${clip(email)}\` is not an email address.`);
      const command: Command = { name, cluster };
      if (node) command.node = node;
      if (caseId) command.caseId = caseId;
      if (email) command.email = email;
      return { ok: true, command };
    }
  }
}

const OPTIONS = {
  node: { type: 'string' },
  email: { type: 'string' },
} as const;

const ALLOWED_OPTIONS: Record<Command['name'], (keyof typeof OPTIONS)[]> = {
  help: [],
  clusters: [],
  selftest: ['node'],
  flare: ['node', 'email'],
  netcheck: [],
};

function describeArgError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const m = /'(-{1,2}[^' ]+)/.exec(err.message);
  const opt = m?.[1] ?? 'option';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option \`${clip(opt)}\`.`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `option \`${clip(opt)}\` needs a value.`;
  return 'could not read the arguments.';
}
