/**
 * The agent's flare scrubber, as far as the simulated flare needs it (pkg/util/scrubber, 7.4x–7.5x
 * era; see FLARE-SOURCES.md §5). Pure.
 *
 * - `scrubBytes`: line by line, comment lines (`^\s*#`) are dropped, blank lines kept, the
 *   single-line replacers applied in order, lines re-joined with "\n" — so the result has no
 *   trailing newline — then the multi-line replacers (PEM blocks) run on the whole text.
 * - `scrubYaml` (files whose name contains ".yaml"): the YAML is loaded, values under api/app key
 *   names become `***…last5`, under password/token names `********`, it is marshalled again the
 *   way yaml.v2 does (sorted keys, sequences not indented, so comments and layout are gone), and
 *   `scrubBytes` runs on that. A scrubbed key therefore reads `api_key: '***************************b0a99'`
 *   in a YAML file and `api_key: "***************************b0a99"` in any other text.
 */
import { parseDocument, stringify } from 'yaml';

const DEFAULT_REPLACEMENT = '********';
const stars = (n: number) => '*'.repeat(n);

/** pkg/util/scrubber HideKeyExceptLastFiveChars: only 32- and 40-character keys keep their last five. */
export function hideKeyExceptLastFiveChars(key: string): string {
  if (key.length !== 32 && key.length !== 40) return DEFAULT_REPLACEMENT;
  return stars(key.length - 5) + key.slice(-5);
}

interface Replacer {
  re: RegExp;
  hints?: string[];
  repl: string;
}

// In the agent's order (default.go AddDefaultReplacers), then the flare builder's own replacer.
const SINGLE_LINE: Replacer[] = [
  { re: /(api_?key=)\b[a-zA-Z0-9]+([a-zA-Z0-9]{5})\b/g, hints: ['api_key', 'apikey'], repl: `$1${stars(27)}$2` },
  { re: /(ap(?:p|plication)_?key=)\b[a-zA-Z0-9]+([a-zA-Z0-9]{5})\b/g, hints: ['app_key', 'appkey', 'application_key'], repl: `$1${stars(35)}$2` },
  { re: /\bBearer [a-fA-F0-9]{59}([a-fA-F0-9]{5})\b/g, hints: ['Bearer'], repl: `Bearer ${stars(59)}$1` },
  { re: /(-|:|,|\[|\{)(\s+)?\b[a-fA-F0-9]{27}([a-fA-F0-9]{5})\b/g, repl: `$1$2"${stars(27)}$3"` },
  { re: /\b[a-fA-F0-9]{27}([a-fA-F0-9]{5})\b/g, repl: `${stars(27)}$1` },
  { re: /(-|:|,|\[|\{)(\s+)?\b[a-fA-F0-9]{35}([a-fA-F0-9]{5})\b/g, repl: `$1$2"${stars(35)}$3"` },
  { re: /\b[a-fA-F0-9]{35}([a-fA-F0-9]{5})\b/g, repl: `${stars(35)}$1` },
  { re: /([A-Za-z][A-Za-z0-9+\-.]+:\/\/|\b)([^:\s]+):([^\s|"]+)@/g, repl: `$1$2:${DEFAULT_REPLACEMENT}@` },
  { re: /(\s*(\w|_|-)*(pass(word)?|pwd)(\w|_|-)*\s*:).+/g, hints: ['pass', 'pwd'], repl: `$1 "${DEFAULT_REPLACEMENT}"` },
  { re: /(^\s*(\w|_|-)*token\s*:).+/g, hints: ['token'], repl: `$1 "${DEFAULT_REPLACEMENT}"` },
  {
    re: /(\s*(community_string|auth_?[Kk]ey|priv_?[Kk]ey|community|authentication_key|privacy_key)\s*:).+/g,
    hints: ['community', 'authKey', 'authkey', 'auth_key', 'privKey', 'privkey', 'priv_key', 'authentication_key', 'privacy_key'],
    repl: `$1 "${DEFAULT_REPLACEMENT}"`,
  },
  // comp/core/flare/helpers/builder.go: other services' api_key fields, but not an already scrubbed one.
  { re: /api_key\s*:\s*[a-zA-Z0-9\\/^\][(){}!|%:;"~><=#@$_\-+]{2,}/g, repl: `api_key: "${DEFAULT_REPLACEMENT}"` },
];
const MULTI_LINE: Replacer[] = [{ re: /-----BEGIN (?:.*)-----[A-Za-z0-9=+/\s]*-----END (?:.*)-----/g, hints: ['BEGIN'], repl: DEFAULT_REPLACEMENT }];

const COMMENT = /^\s*#.*$/;
const BLANK = /^\s*$/;

function applyReplacers(text: string, replacers: readonly Replacer[]): string {
  let out = text;
  for (const r of replacers) {
    if (r.hints && !r.hints.some((h) => out.includes(h))) continue;
    out = out.replace(r.re, r.repl);
  }
  return out;
}

/** bufio.ScanLines: split on "\n", drop one trailing "\r", no empty token after a final newline. */
export function scanLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export function scrubBytes(text: string): string {
  let out = '';
  let first = true;
  for (const line of scanLines(text)) {
    if (BLANK.test(line)) {
      out += '\n';
    } else if (!COMMENT.test(line)) {
      if (!first) out += '\n';
      out += applyReplacers(line, SINGLE_LINE);
      first = false;
    }
  }
  return applyReplacers(out, MULTI_LINE);
}

const API_KEY_NAME = /api_key/;
const APP_KEY_NAME = /app(lication)?_?key/;
const OTHER_SECRET_NAME = /(pass(word)?|pwd)|token$|^(community_string|auth_?[Kk]ey|priv_?[Kk]ey|community|authentication_key|privacy_key)$/;

function scrubValue(key: string, value: unknown): unknown {
  if (API_KEY_NAME.test(key) || APP_KEY_NAME.test(key)) {
    return typeof value === 'string' ? (value.trim() === '' ? '' : hideKeyExceptLastFiveChars(value.trim())) : DEFAULT_REPLACEMENT;
  }
  if (OTHER_SECRET_NAME.test(key)) return DEFAULT_REPLACEMENT;
  return walk(value);
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, scrubValue(k, v)]));
  }
  return value;
}

/** yaml.v2's Marshal, near enough: sorted keys, two-space maps, sequences at their key's column, single quotes when quoting. */
export function marshalYamlV2(value: unknown): string {
  if (value === null || value === undefined) return 'null\n';
  return stringify(value, { sortMapEntries: true, indentSeq: false, singleQuote: true, lineWidth: 80 });
}

export function scrubYaml(text: string): string {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (text.length === 0 || doc.errors.length > 0) return scrubBytes(text);
  return scrubBytes(marshalYamlV2(walk(doc.toJS())));
}

/** What the flare builder does to a file it adds (`scrub`: AddFile/CopyFileTo; not for logs). */
export function scrubForFlare(name: string, text: string): string {
  return name.includes('.yaml') ? scrubYaml(text) : scrubBytes(text);
}
