import { CLUSTER_NAME_RE, NODE_NAME_RE } from './names.ts';
import { parseScheduleArgs, SCHEDULE_USAGE, type ScheduleOp } from './schedule/grammar.ts';

/** The `/cws` grammar: one pure parser shared by the Slack command and the operator CLI (`npx cws`). */
export type Command =
  | { name: 'help'; topic?: string }
  | { name: 'clusters' }
  | { name: 'selftest'; cluster: string; node?: string }
  | { name: 'flare'; cluster: string; node?: string; caseId?: string; email?: string }
  | { name: 'netcheck'; cluster: string }
  | { name: 'audit'; cluster?: string; limit?: number }
  | { name: 'jobs'; cluster?: string }
  | { name: 'status'; jobId: string }
  | { name: 'incident'; cluster: string; channel?: string; off?: true }
  | ({ name: 'schedule' } & ScheduleOp);

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string; usage: string };

export const USAGE: Record<Command['name'], string> = {
  help: '/cws help [subcommand]',
  clusters: '/cws clusters',
  selftest: '/cws selftest <cluster> [--node NODE]',
  flare: '/cws flare <cluster> [--node NODE] [CASE_ID] [--email ADDRESS]',
  netcheck: '/cws netcheck <cluster>',
  audit: '/cws audit [cluster] [--limit N]',
  jobs: '/cws jobs [cluster]',
  status: '/cws status <JOB_ID>',
  incident: '/cws incident <#channel> <cluster> | /cws incident off <cluster>',
  schedule: SCHEDULE_USAGE,
};

export const SUMMARY: Record<Command['name'], string> = {
  help: 'show this help',
  clusters: 'list the configured clusters and whether a worker serves them',
  selftest: 'run `runtime self-test` on every agent of a cluster (with `security-agent` where the agent pod has that container, else `system-probe`)',
  flare: 'build a support flare on an agent, review it, then send it',
  netcheck: 'check CWS network detections against the cluster’s CNI plugin, and fix what it finds',
  audit: 'who ran what, when, and how it ended (newest first)',
  jobs: 'running and recent jobs (last 24 h)',
  status: 'the state or result of one job',
  incident: 'mirror every job and change on a cluster into an incident channel (or stop)',
  schedule: 'run a self-test or netcheck on a schedule (at least every minute); it posts its first result, then only what changes',
};

const CASE_ID_RE = /^[0-9]{1,12}$/;
// Deliberately simple and strict: one @, a dot in the domain, no spaces or shell metacharacters,
// no leading "-" (it reaches the agent's argv after `-e`), and nothing the flare job's schema
// (zod's email: no "%", no leading, trailing or doubled ".", domain labels start with a letter or
// digit) would refuse after the command was accepted.
const EMAIL_RE = /^[A-Za-z0-9_+][A-Za-z0-9_+-]*(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9-]*)*\.[A-Za-z]{2,}$/;

const isSubcommand = (s: string): s is Command['name'] => Object.hasOwn(USAGE, s);

/** An email address the grammar (and so the agent's `flare -e`) accepts: at most 254 characters. */
export const isEmailAddress = (s: string): boolean => s.length <= 254 && EMAIL_RE.test(s);

/**
 * Splits command text on whitespace. Slack may escape parts of the text (`<mailto:a@b.c|a@b.c>`,
 * `<#C123|name>`): emails are unwrapped here; channel mentions are kept whole for `incident`.
 */
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

/** At most 40 UTF-16 units of `s`, never half of a surrogate pair (an emoji cut in two is not text Slack can show). */
const clip = (s: string) => (s.length > 40 ? `${s.slice(0, /[\ud800-\udbff]/.test(s[39]!) ? 39 : 40)}…` : s).replace(/`/g, "'");

/**
 * The most text a slash command carries: Slack's limit for a slash command's text (the figure of
 * issue 14). The CLI and the sandbox can send more; the grammar answers it with a usage message.
 */
export const MAX_COMMAND_TEXT = 4000;
/** No argument of the grammar is longer (a node name is at most 253, an email address 254). */
export const MAX_TOKEN = 255;

/** Options that take a value, and the subcommands that accept each. */
const OPTIONS = ['node', 'email', 'limit'] as const;
type OptionName = (typeof OPTIONS)[number];
const ALLOWED_OPTIONS: Record<Command['name'], readonly OptionName[]> = {
  help: [],
  clusters: [],
  selftest: ['node'],
  flare: ['node', 'email'],
  netcheck: [],
  audit: ['limit'],
  jobs: [],
  status: [],
  incident: [],
  schedule: [],
};
const isOption = (s: string): s is OptionName => (OPTIONS as readonly string[]).includes(s);
const looksLikeOption = (token: string) => token.length > 1 && token.startsWith('-');
const optionFlag = (token: string) => (token.includes('=') ? token.slice(0, token.indexOf('=')) : token);
/** The option a `--name` or `--name=value` token names, when the grammar knows it. */
function optionKey(token: string): OptionName | undefined {
  const flag = optionFlag(token);
  const key = flag.replace(/^--?/, '');
  return flag.startsWith('--') && isOption(key) ? key : undefined;
}
/** Why an option token is refused by a subcommand: unknown anywhere, or known but not an option of this one. */
function optionRefusal(known: Command['name'], token: string): string {
  const key = optionKey(token);
  return key === undefined ? `unknown option \`${clip(optionFlag(token))}\`.` : `\`--${key}\` is not an option of \`${known}\`.`;
}

/** What the positional arguments of each subcommand are, in order. */
const POSITIONALS: Record<Command['name'], readonly ('topic' | 'cluster' | 'caseId' | 'jobId')[]> = {
  help: ['topic'],
  clusters: [],
  selftest: ['cluster'],
  flare: ['cluster', 'caseId'],
  netcheck: ['cluster'],
  audit: ['cluster'],
  jobs: ['cluster'],
  status: ['jobId'],
  incident: [], // parsed by parseIncident
  schedule: [], // parsed by parseScheduleArgs (src/core/schedule/grammar.ts)
};

/**
 * Reads the arguments left to right and stops at the first one that is wrong, so the answer is
 * about that one. An option that takes a value takes the next token whatever it looks like
 * (`--node "; rm -rf /"` is a bad node name, not an unknown option `-r`), then checks it; an option
 * given twice is refused rather than the last one silently winning. `--` ends the options.
 */
export function parseCommand(text: string): ParseResult {
  const tokens = tokenize(text);
  const [sub, ...rest] = tokens;
  if (!sub) return { ok: true, command: { name: 'help' } };
  const name = sub.toLowerCase();
  const known = isSubcommand(name) ? name : undefined;
  if (text.length > MAX_COMMAND_TEXT) return fail(known, `that command is ${text.length} characters long; Slack allows at most ${MAX_COMMAND_TEXT}.`);
  const long = tokens.find((t) => t.length > MAX_TOKEN);
  if (long !== undefined) return fail(known, `\`${clip(long)}\` is too long (${long.length} characters; an argument is at most ${MAX_TOKEN}).`);
  if (!known) return fail(undefined, `unknown subcommand \`${clip(sub)}\`.`);
  if (known === 'incident') return parseIncident(rest);
  if (known === 'schedule') {
    const parsed = parseScheduleArgs(rest);
    return parsed.ok ? { ok: true, command: { name: 'schedule', ...parsed.op } } : fail('schedule', parsed.error);
  }

  const options: Partial<Record<OptionName, string>> = {};
  const args: { topic?: string; cluster?: string; caseId?: string; jobId?: string } = {};
  let positional = 0;
  let optionsEnded = false;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!optionsEnded && token === '--') {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && looksLikeOption(token)) {
      const eq = token.indexOf('=');
      const key = optionKey(token);
      if (key === undefined || !ALLOWED_OPTIONS[known].includes(key)) return fail(known, optionRefusal(known, token));
      if (options[key] !== undefined) return fail(known, `\`--${key}\` given twice.`);
      const value = eq < 0 ? rest[++i] : token.slice(eq + 1);
      if (value === undefined || value === '') return fail(known, `option \`--${key}\` needs a value.`);
      const bad = checkOption(key, value);
      if (bad) return fail(known, bad);
      options[key] = value;
      continue;
    }
    const slot = POSITIONALS[known][positional++];
    if (slot === undefined)
      return fail(
        known,
        known === 'clusters'
          ? '`clusters` takes no arguments.'
          : known === 'help'
            ? 'help takes at most one subcommand.'
            : `unexpected argument \`${clip(token)}\`.`,
      );
    const bad = slot === 'topic' ? undefined : slot === 'cluster' ? checkCluster(token) : slot === 'jobId' ? checkJobId(token) : checkCaseId(token);
    if (bad) return fail(known, bad);
    args[slot] = slot === 'topic' ? token.toLowerCase() : token;
  }

  switch (known) {
    case 'help':
      return { ok: true, command: args.topic ? { name: known, topic: args.topic } : { name: known } };
    case 'clusters':
      return { ok: true, command: { name: known } };
    case 'netcheck':
    case 'selftest':
    case 'flare': {
      if (!args.cluster) return fail(known, 'a cluster name is required.');
      if (known === 'netcheck') return { ok: true, command: { name: known, cluster: args.cluster } };
      if (known === 'selftest')
        return { ok: true, command: options.node ? { name: known, cluster: args.cluster, node: options.node } : { name: known, cluster: args.cluster } };
      const command: Command = { name: known, cluster: args.cluster };
      if (options.node) command.node = options.node;
      if (args.caseId) command.caseId = args.caseId;
      if (options.email) command.email = options.email;
      return { ok: true, command };
    }
    case 'audit': {
      const command: Command = { name: known };
      if (args.cluster) command.cluster = args.cluster;
      if (options.limit) command.limit = Number(options.limit);
      return { ok: true, command };
    }
    case 'jobs':
      return { ok: true, command: args.cluster ? { name: known, cluster: args.cluster } : { name: known } };
    case 'status':
      if (!args.jobId) return fail(known, 'a job ID is required (it is in the footer of the job’s message).');
      return { ok: true, command: { name: known, jobId: args.jobId } };
  }
}

/** A job ID as the bot makes them: `<kind prefix>-<uuid>` (e.g. `st-…`, `nc-…`). */
export const JOB_ID_RE = /^[a-z]{2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The most entries `/cws audit --limit` shows. */
export const MAX_AUDIT_LIMIT = 100;

/** The start of a job ID, as message footers show it (`st-1b2c3d4e`): `/cws status` resolves it when it is unique. */
export const JOB_ID_PREFIX_RE = /^[a-z]{2}-[0-9a-f]{4}[0-9a-f-]{0,32}$/;

function checkJobId(value: string): string | undefined {
  return JOB_ID_RE.test(value) || JOB_ID_PREFIX_RE.test(value)
    ? undefined
    : `\`${clip(value)}\` is not a job ID (like \`st-1b2c3d4e-…\`, from the footer of the job’s message).`;
}

function checkCluster(value: string): string | undefined {
  return CLUSTER_NAME_RE.test(value) ? undefined : `\`${clip(value)}\` is not a valid cluster name (lowercase letters, digits, "-", "_", ".", at most 63).`;
}

function checkCaseId(value: string): string | undefined {
  return CASE_ID_RE.test(value) ? undefined : `case ID \`${clip(value)}\` must be digits only (e.g. 1234567).`;
}

function checkOption(key: OptionName, value: string): string | undefined {
  switch (key) {
    case 'node':
      return NODE_NAME_RE.test(value) ? undefined : `\`${clip(value)}\` is not a valid node name (lowercase letters, digits, "-", ".").`;
    case 'email':
      return isEmailAddress(value) ? undefined : `\`${clip(value)}\` is not an email address.`;
    case 'limit':
      return /^[0-9]{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_AUDIT_LIMIT
        ? undefined
        : `\`--limit\` must be a number from 1 to ${MAX_AUDIT_LIMIT}.`;
  }
}

/** A channel as Slack escapes its mention in command text (`<#C123|name>`), or its bare ID. */
const CHANNEL_RE = /^(?:<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>|#?([CG][A-Z0-9]{2,}))$/;

/** `/cws incident <#channel> <cluster>` links the channel to the cluster; `/cws incident off <cluster>` ends it. */
function parseIncident(tokens: string[]): ParseResult {
  // Options and `--` as every subcommand reads them: incident has no option, so any is refused by name.
  const rest: string[] = [];
  let optionsEnded = false;
  for (const token of tokens) {
    if (!optionsEnded && token === '--') optionsEnded = true;
    else if (!optionsEnded && looksLikeOption(token)) return fail('incident', optionRefusal('incident', token));
    else rest.push(token);
  }
  const [target, cluster, ...more] = rest;
  if (!target || !cluster) return fail('incident', 'a channel (or `off`) and a cluster name are required.');
  if (more.length) return fail('incident', `unexpected argument \`${clip(more[0]!)}\`.`);
  const bad = checkCluster(cluster);
  if (bad) return fail('incident', bad);
  if (target.toLowerCase() === 'off') return { ok: true, command: { name: 'incident', cluster, off: true } };
  const m = CHANNEL_RE.exec(target);
  if (!m)
    return fail(
      'incident',
      `\`${clip(target)}\` is not a channel mention: type # and pick the channel from Slack's list, so Slack sends it as a link (or write \`off\`).`,
    );
  return { ok: true, command: { name: 'incident', cluster, channel: (m[1] ?? m[2])! } };
}
