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
}

export type FlareCommandLine = { kind: 'run'; options: FlareOptions } | { kind: 'help' } | { kind: 'error'; message: string };

interface FlagDef {
  name: string;
  short?: string;
  kind: 'string' | 'bool' | 'stringArray';
}

// The flare command's own flags, cobra's help flag, and the root command's persistent flags.
const FLAGS: readonly FlagDef[] = [
  { name: 'email', short: 'e', kind: 'string' },
  { name: 'send', short: 's', kind: 'bool' },
  { name: 'help', short: 'h', kind: 'bool' },
  { name: 'cfgpath', short: 'c', kind: 'stringArray' },
  { name: 'sysprobe-config', kind: 'string' },
  { name: 'no-color', short: 'n', kind: 'bool' },
];

/** strconv.ParseBool */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Go's %q of one byte (ASCII: 'x'). */
const quoteByte = (c: string) => (c === "'" ? "'\\''" : c === '\\' ? "'\\\\'" : `'${c}'`);

/** pflag's parse of the arguments after `flare` (interspersed flags and arguments, `--` ends flags). */
export function parseFlareCommandLine(args: readonly string[]): FlareCommandLine {
  const values = new Map<string, string>();
  const positional: string[] = [];
  const set = (f: FlagDef, value: string): string | undefined => {
    if (f.kind === 'bool' && parseBool(value) === undefined) {
      const shown = f.short ? `-${f.short}, --${f.name}` : `--${f.name}`;
      return `invalid argument "${value}" for "${shown}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`;
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
  return { kind: 'run', options: { caseId: positional[0] ?? '', email: values.get('email') ?? '', send: parseBool(values.get('send') ?? 'false') ?? false } };
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

/** The case id the backend answers with: the one given (digits, as an int), or a new case's. */
export function responseCaseId(caseId: string, newCase: () => number): number {
  return /^\d{1,15}$/.test(caseId) ? Number(caseId) : newCase();
}

/** The upload URL's host, as config.AddAgentVersionToDomain makes it for "flare" (7.50.3 → 7-50-3-flare.agent.datadoghq.com). */
export function flareIntakeURL(agentVersion: string, caseId: string): string {
  const host = /^\d+\.\d+\.\d+/.test(agentVersion) ? `${agentVersion.replace(/^(\d+)\.(\d+)\.(\d+).*$/, '$1-$2-$3')}-flare.agent.datadoghq.com` : 'app.datadoghq.com';
  return `https://${host}/support/flare${caseId ? `/${caseId}` : ''}`;
}
