/**
 * `security-agent flare [caseID] [-e EMAIL] [-s]`: its command line (cobra + pflag) and every
 * string it prints (cmd/security-agent/subcommands/flare/command.go, pkg/util/input,
 * comp/core/flare/helpers/send_flare.go, cmd/internal/runcmd; FLARE-SOURCES.md §1–§2). Pure.
 *
 * Everything goes to stdout except the final `Error: …` line, which runcmd writes to stderr
 * before the process exits with -1 (255). Without a TTY the colours are off (fatih/color), so
 * the text is plain. The prompts are printed with fmt.Println: they END WITH A NEWLINE.
 */

export const EXIT_ERROR = 255; // runcmd.Run returns -1; os.Exit(-1)

export const EMAIL_PROMPT = 'Please enter your email: \n';
/** `agent flare` (newest version read) prints these two lines first, before anything else. */
export const CORE_FLARE_UI_NOTICE =
  'NEW: You can now generate a flare from the comfort of your Datadog UI!\nSee https://docs.datadoghq.com/agent/troubleshooting/send_a_flare/?tab=agentv6v7#send-a-flare-from-the-datadog-site for more info.\n';
/** `agent flare` asks the running agent (POST /agent/flare on its cmd_port). */
export const CORE_BUILDING = 'Asking the agent to build the flare archive.\n';
/** `agent flare --local` (createArchive): the command builds the archive itself. */
export const CORE_BUILDING_LOCALLY = 'Initiating flare locally.\n';
/** `agent flare -p N` with 0 ≤ N < 30 or N < -1; the command then returns a nil error (exit 0) without a flare. */
export const invalidProfiling = (n: number) => `Invalid value for profiling: ${n}. Please enter an integer of at least 30.\n`;
export const EMAIL_READ_ERROR = 'Error reading email, please retry or contact support\n';
export const BUILDING = 'Asking the Security Agent to build the flare archive.\n';
export const CONFIRM_PROMPT = 'Are you sure you want to upload a flare? [y/N]\n';
export const goingToBeUploaded = (path: string) => `${path} is going to be uploaded to Datadog\n`;
export const aborting = (path: string) => `Aborting. (You can still use ${path})\n`;
export const uploadSuccess = (caseId: number) => `Your logs were successfully uploaded. For future reference, your internal case id is ${caseId}\n`;
/** runcmd's line on stderr for an error returned by the command. */
export const errorLine = (message: string) => `Error: ${message}\n`;

/** analyzeResponse on HTTP 403: the response string is empty (printed as an empty line), the error names the key's end. */
export function forbiddenError(apiKey: string): string {
  if (apiKey.length === 0) return 'HTTP 403 Forbidden: API key is missing';
  return `HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: ${apiKey.length > 5 ? apiKey.slice(-5) : apiKey}`;
}

/** analyzeResponse when the backend answers `{"error": "<message>"}`. */
export const uploadErrorResponse = (message: string) => `An error occurred while uploading the flare: ${message}. Please contact support by email.\n`;
/** The backend error the simulator's `upload: error` answers with (the text is the simulator's choice). */
export const SIMULATED_BACKEND_ERROR = 'an internal error occurred while processing the flare';

export interface FlareOptions {
  caseId: string;
  email: string;
  send: boolean;
  /** `agent flare -l/--local` (core agent only): build the archive in the command, not in the running agent. */
  local?: boolean;
  /** `agent flare -p/--profile N` (core agent only): -1 when not given. */
  profile?: number;
}

export type FlareCommandLine = { kind: 'run'; options: FlareOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export interface FlagDef {
  name: string;
  short?: string;
  kind: 'string' | 'bool' | 'stringArray' | 'int' | 'duration';
  usage: string;
  /** pflag's DefValue when it is not the type's zero value (shown as "(default …)" in the help). */
  defaultValue?: string;
  /** pflag's NoOptDefVal for a string flag: `--x` alone sets it; a value needs `--x=v`. */
  noOptDefault?: string;
  hidden?: boolean;
}

// security-agent: the flare command's own flags, cobra's help flag, and the root command's persistent flags.
const SECURITY_AGENT_FLAGS: readonly FlagDef[] = [
  { name: 'email', short: 'e', kind: 'string', usage: 'Your email' },
  { name: 'send', short: 's', kind: 'bool', usage: "Automatically send flare (don't prompt for confirmation)" },
  { name: 'help', short: 'h', kind: 'bool', usage: 'help for flare' },
  { name: 'cfgpath', short: 'c', kind: 'stringArray', usage: 'paths to yaml configuration files' },
  { name: 'sysprobe-config', kind: 'string', usage: 'path to system-probe.yaml config' },
  { name: 'no-color', short: 'n', kind: 'bool', usage: 'disable color output' },
];

/**
 * `agent flare` (cmd/agent/subcommands/flare/command.go, newest version read) and the agent root
 * command's persistent flags (cmd/agent/command/command.go). FLARE-SOURCES.md §8.
 */
export const CORE_FLARE_FLAGS: readonly FlagDef[] = [
  { name: 'email', short: 'e', kind: 'string', usage: 'Your email' },
  { name: 'send', short: 's', kind: 'bool', usage: "Automatically send flare (don't prompt for confirmation)" },
  {
    name: 'local',
    short: 'l',
    kind: 'bool',
    usage: 'Force the creation of the flare by the command line instead of the agent process (useful when running in a containerized env)',
  },
  {
    name: 'profile',
    short: 'p',
    kind: 'int',
    defaultValue: '-1',
    usage:
      'Add performance profiling data to the flare. It will collect a heap profile and a CPU profile for the amount of seconds passed to the flag, with a minimum of 30s',
  },
  { name: 'profile-mutex', short: 'M', kind: 'bool', usage: 'Add mutex profile to the performance data in the flare' },
  {
    name: 'profile-mutex-fraction',
    kind: 'int',
    defaultValue: '100',
    usage: 'Set the fraction of mutex contention events that are reported in the mutex profile',
  },
  { name: 'profile-blocking', short: 'B', kind: 'bool', usage: 'Add gorouting blocking profile to the performance data in the flare' },
  {
    name: 'profile-blocking-rate',
    kind: 'int',
    defaultValue: '10000',
    usage: 'Set the fraction of goroutine blocking events that are reported in the blocking profile',
  },
  {
    name: 'with-stream-logs',
    short: 'L',
    kind: 'duration',
    usage: 'Add stream-logs data to the flare. It will collect logs for the amount of seconds passed to the flag',
  },
  {
    name: 'provider-timeout',
    short: 't',
    kind: 'duration',
    usage: 'Timeout to run each flare provider in seconds. This is not a global timeout for the flare creation process.',
  },
  {
    name: 'process-false-positives',
    short: 'P',
    kind: 'bool',
    usage: 'Add processes false positive detection to the flare. It will detect for false positives in the processes data.',
  },
  { name: 'log_level', kind: 'string', defaultValue: 'off', usage: 'Override the log level for this command for debugging purposes' },
  { name: 'help', short: 'h', kind: 'bool', usage: 'help for flare' },
];
export const CORE_ROOT_FLAGS: readonly FlagDef[] = [
  { name: 'cfgpath', short: 'c', kind: 'string', usage: 'path to directory containing datadog.yaml' },
  {
    name: 'extracfgpath',
    short: 'E',
    kind: 'stringArray',
    usage: 'specify additional configuration files to be loaded sequentially after the main datadog.yaml',
  },
  { name: 'sysprobecfgpath', kind: 'string', usage: 'path to directory containing system-probe.yaml' },
  { name: 'fleetcfgpath', kind: 'string', usage: 'path to the directory containing fleet policies', hidden: true },
  {
    name: 'common-root',
    kind: 'string',
    noOptDefault: '/opt/datadog-agent',
    usage: 'enable read-only root filesystem support with optional custom root path (default: /opt/datadog-agent)',
  },
  { name: 'no-color', short: 'n', kind: 'bool', usage: 'disable color output' },
];

/** strconv.ParseBool */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** strconv.ParseInt(s, 0, 64) for what a command line holds (decimal, 0x/0o/0b, underscores between digits). */
function parseGoInt(v: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F](_?[0-9a-fA-F])*|0[oO]?[0-7](_?[0-7])*|0[bB][01](_?[01])*|[1-9](_?\d)*|0)$/.exec(v);
  if (!m) return undefined;
  const body = m[2]!.replaceAll('_', '');
  const n = /^0[0-7]/.test(body) ? parseInt(body.slice(1), 8) : /^0[oO]/.test(body) ? parseInt(body.slice(2), 8) : Number(body);
  return m[1] === '-' ? -n : n;
}

/** time.ParseDuration's grammar. */
const GO_DURATION = /^[+-]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$/;

/** Go's %q of one byte (ASCII: 'x'). */
const quoteByte = (c: string) => (c === "'" ? "'\\''" : c === '\\' ? "'\\\\'" : `'${c}'`);

/**
 * pflag's parse of the arguments after `flare` (interspersed flags and arguments, `--` ends flags),
 * with the flags of the security-agent's flare (default) or the core agent's.
 */
export function parseFlareCommandLine(args: readonly string[], flavour: 'security-agent' | 'agent' = 'security-agent'): FlareCommandLine {
  const FLAGS = flavour === 'agent' ? [...CORE_FLARE_FLAGS, ...CORE_ROOT_FLAGS] : SECURITY_AGENT_FLAGS;
  const values = new Map<string, string>();
  const positional: string[] = [];
  const shown = (f: FlagDef) => (f.short ? `-${f.short}, --${f.name}` : `--${f.name}`);
  const set = (f: FlagDef, value: string): string | undefined => {
    if (f.kind === 'bool' && parseBool(value) === undefined) {
      return `invalid argument "${value}" for "${shown(f)}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`;
    }
    if (f.kind === 'int' && parseGoInt(value) === undefined) {
      return `invalid argument "${value}" for "${shown(f)}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`;
    }
    if (f.kind === 'duration' && !GO_DURATION.test(value)) {
      return `invalid argument "${value}" for "${shown(f)}" flag: time: invalid duration "${value}"`;
    }
    values.set(f.name, value);
    return undefined;
  };
  const rest = [...args];
  while (rest.length > 0) {
    const s = rest.shift()!;
    if (s.length === 0 || s[0] !== '-' || s.length === 1) {
      positional.push(s);
      continue;
    }
    if (s[1] === '-') {
      if (s.length === 2) {
        positional.push(...rest.splice(0));
        break;
      }
      const body = s.slice(2);
      if (body[0] === '-' || body[0] === '=') return { kind: 'error', message: `bad flag syntax: ${s}` };
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const f = FLAGS.find((x) => x.name === name);
      if (!f) return { kind: 'error', message: `unknown flag: --${name}` };
      let value: string;
      if (eq >= 0) value = body.slice(eq + 1);
      else if (f.kind === 'bool') value = 'true';
      else if (f.noOptDefault !== undefined) value = f.noOptDefault;
      else if (rest.length > 0) value = rest.shift()!;
      else return { kind: 'error', message: `flag needs an argument: ${s}` };
      const err = set(f, value);
      if (err) return { kind: 'error', message: err };
      continue;
    }
    let shorthands = s.slice(1);
    while (shorthands.length > 0) {
      const c = shorthands[0]!;
      const f = FLAGS.find((x) => x.short === c);
      if (!f) return { kind: 'error', message: `unknown shorthand flag: ${quoteByte(c)} in -${shorthands}` };
      let value: string;
      let next = shorthands.slice(1);
      if (shorthands.length > 2 && shorthands[1] === '=') {
        value = shorthands.slice(2);
        next = '';
      } else if (f.kind === 'bool') {
        value = 'true';
      } else if (shorthands.length > 1) {
        value = shorthands.slice(1);
        next = '';
      } else if (rest.length > 0) {
        value = rest.shift()!;
      } else {
        return { kind: 'error', message: `flag needs an argument: ${quoteByte(c)} in -${shorthands}` };
      }
      const err = set(f, value);
      if (err) return { kind: 'error', message: err };
      shorthands = next;
    }
  }
  if (parseBool(values.get('help') ?? 'false')) return { kind: 'help' };
  const options: FlareOptions = { caseId: positional[0] ?? '', email: values.get('email') ?? '', send: parseBool(values.get('send') ?? 'false') ?? false };
  if (flavour === 'agent') {
    options.local = parseBool(values.get('local') ?? 'false') ?? false;
    options.profile = parseGoInt(values.get('profile') ?? '-1') ?? -1;
  }
  return { kind: 'run', options };
}

/**
 * pflag's FlagUsages: one line per visible flag, sorted by name, the usage column two spaces past
 * the longest "  -x, --name type" part, "(default …)" when the default is not the zero value.
 */
export function flagUsages(flags: readonly FlagDef[]): string {
  const lines = [...flags]
    .filter((f) => !f.hidden)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => {
      let left = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
      if (f.kind !== 'bool') left += ` ${f.kind}`;
      if (f.noOptDefault !== undefined) left += `[="${f.noOptDefault}"]`;
      const def = f.defaultValue === undefined ? '' : f.kind === 'string' ? ` (default "${f.defaultValue}")` : ` (default ${f.defaultValue})`;
      return { left, usage: f.usage + def };
    });
  const width = Math.max(...lines.map((l) => l.left.length)) + 1;
  return lines.map((l) => `${l.left}${' '.repeat(width - l.left.length)}  ${l.usage}\n`).join('');
}

/** cobra's help for the command (Short, usage line, local and inherited flags). */
export const FLARE_HELP = `Collect a flare and send it to Datadog

Usage:
  datadog-security-agent flare [caseID] [flags]

Flags:
  -e, --email string   Your email
  -h, --help           help for flare
  -s, --send           Automatically send flare (don't prompt for confirmation)

Global Flags:
  -c, --cfgpath stringArray      paths to yaml configuration files (default [/etc/datadog-agent/datadog.yaml,/etc/datadog-agent/security-agent.yaml])
  -n, --no-color                 disable color output
      --sysprobe-config string   path to system-probe.yaml config (default "/etc/datadog-agent/system-probe.yaml")
`;

/** cobra's help for `agent flare` (its Use is `filepath.Base(os.Args[0])`, "agent" in the image). */
export const CORE_FLARE_HELP = `Collect a flare and send it to Datadog

Usage:
  agent flare [caseID] [flags]

Flags:
${flagUsages(CORE_FLARE_FLAGS)}
Global Flags:
${flagUsages(CORE_ROOT_FLAGS)}`;

/** The case id the backend answers with: the one given (digits, as an int), or a new case's. */
export function responseCaseId(caseId: string, newCase: () => number): number {
  return /^\d{1,15}$/.test(caseId) ? Number(caseId) : newCase();
}

/** The upload URL's host, as config.AddAgentVersionToDomain makes it for "flare" (7.50.3 → 7-50-3-flare.agent.datadoghq.com). */
export function flareIntakeURL(agentVersion: string, caseId: string): string {
  const host = /^\d+\.\d+\.\d+/.test(agentVersion)
    ? `${agentVersion.replace(/^(\d+)\.(\d+)\.(\d+).*$/, '$1-$2-$3')}-flare.agent.datadoghq.com`
    : 'app.datadoghq.com';
  return `https://${host}/support/flare${caseId ? `/${caseId}` : ''}`;
}
