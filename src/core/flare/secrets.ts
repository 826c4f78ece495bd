/**
 * Looks for secrets that survived the agent's scrubber in a flare's files (and names). The agent
 * replaces keys with `***************************abcde`; anything that still looks like a key,
 * token, password or private key is reported — by file, line and kind, never with its value.
 *
 * Every rule runs on every line and every match is kept (overlapping ones too): the spans of all
 * matches are merged and each merged span is masked in full, so a line holding an `api_key=…` and
 * a `password=…` shows neither. A masked span keeps at most a short prefix (4 characters of a key
 * or token, nothing of a password or private key) so a reviewer can tell which key it is.
 *
 * What cannot be scanned is said, never skipped: a line over LINE_CAP is reported "not scanned"
 * (it is never shown either). Patterns are bounded (no unbounded repetition before a literal), so
 * a scan is linear in the length of the text.
 */

export interface SecretFinding {
  /** The file's path in the archive, itself masked when its name holds a secret. */
  file: string;
  /** 1-based line; 0 when the secret is in the file's name or in a binary file's strings. */
  line: number;
  kind: string;
  /** The line with every secret masked: safe to show in Slack. */
  preview: string;
  /** Where it was found when not in a text line. */
  where?: 'name' | 'binary';
}

export interface NotScanned {
  file: string;
  reason: string;
}

export interface ScanResult {
  findings: SecretFinding[];
  /** Every secret found, including those beyond the findings kept. */
  total: number;
  notScanned: NotScanned[];
}

/** Lines longer than this are not scanned (and never shown): reported as "not scanned". */
export const LINE_CAP = 1024 * 1024;
const PREVIEW_MAX = 160;

interface Rule {
  kind: string;
  /** Global regexp with indices (`dg`); the secret is the `group`, or what `pick` returns. */
  re: RegExp;
  group?: number;
  pick?: (m: RegExpExecArray) => [number, number] | undefined;
  /** Characters of the secret kept in front of the mask (at most a quarter of it). */
  reveal: number;
  /** Cheap pre-test on the lowercased line. */
  hint?: (lower: string) => boolean;
  /** Extra test on the secret and the match (e.g. the key name of a key: value). */
  accept?: (secret: string, m: RegExpExecArray) => boolean;
}

/** Values the scrubber leaves, and placeholders people use, that are not secrets. */
const BENIGN =
  /^(?:\*+[A-Za-z0-9]{0,5}|\*+|<[^>]*>|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%\([^)]*\)s|ENC\[[^\]]*\]|changeme|none|null|nil|~|true|false|yes|no|on|off|redacted|\[redacted\]|\[hidden\]|x{3,}|\.\.\.|-|""|'')$/i;

/** Strips quotes and trailing separators to judge a value. */
function bare(v: string): string {
  return v
    .trim()
    .replace(/^["'`]+|["'`,;]+$/g, '')
    .trim();
}
const notBenign = (v: string) => {
  // `Authorization: Bearer ********`: the scheme is not the secret; what follows it is judged.
  const b = bare(v).replace(/^(?:Bearer|Basic|Token|Digest|Negotiate)\s+/i, '');
  return b.length > 0 && !BENIGN.test(b);
};

/*
 * Key names that hold a secret in `key: value`, `"key": "value"`, `KEY=value`, `--key=value`:
 * the agent's own scrubber lists (DataDog/datadog-agent pkg/util/scrubber/default.go: keys
 * containing pass/pwd, ending in token/jwt, _secret(_id), access_key, private_key; api[-_]?key,
 * ap(p|plication)[-_]?key; community_string, auth_key, priv_key, authorization; x-…-key/token/auth/
 * secret headers; dd-api-key, cookie, private-token, accesstoken, session_token), and the keyword
 * list of Yelp/detect-secrets (detect_secrets/plugins/keyword.py: password, passwd, pwd, secret,
 * token, api_key, private_key, credentials…).
 */
const SECRET_KEY_NAME =
  /(?:pass(?:word|wd|phrase|code)?|pwd|pswd)|(?:^|_)(?:token|tokens|jwt)$|token$|secret(?:_id|_key|key)?$|(?:access|private|priv|api|app|application|auth|session|signing|encryption|master|client|consumer)_?key$|(?:^|_)(?:authorization|auth|cookie|credentials?|community(?:_strings?)?|private_token|accesstoken)$|^x_.*(?:key|token|auth|secret)$/;
/** Key names that mention a secret but hold something else (a path, a setting, a reference). */
const NOT_A_SECRET_KEY =
  /(?:bypass|passthrough|pass_through|passive|compass|passenger)|_(?:file|files|path|dir|directory|env|var|command|cmd|length|len|policy|enabled|enable|required|url|uri|ref|name|names|arn|ttl|timeout|expiry|expires|expiration|lifetime|type|max|min|count|size|limit|backend(?:_\w+)?|mode|format|header|field|version|refresh_interval|rotation)$|^secret_backend/;

function keyIsSecret(name: string): boolean {
  const k = name
    .toLowerCase()
    .replace(/[-.]/g, '_')
    .replace(/^_+|_+$/g, '');
  return SECRET_KEY_NAME.test(k) && !NOT_A_SECRET_KEY.test(k);
}

/**
 * `key<sep>value`: key (optionally quoted), a separator (`:` `=` `:=` `=>`), then a quoted value
 * (JSON escapes allowed) or an unquoted one — to the end of the line after a colon (YAML plain
 * scalars hold spaces), to the next space/&/;/, after `=` (env, flags, URL queries).
 */
const KEY_VALUE =
  /(?<![A-Za-z0-9_.-])(["']?)([A-Za-z0-9_.-]{1,80})\1[ \t]{0,8}(:=|=>|=|:)[ \t]{0,8}(?:"((?:[^"\\\n]|\\.){1,512})"|'([^'\n]{1,512})'|([^\s"'&;,][^\n\r]{0,511}))/dg;

function pickKeyValue(m: RegExpExecArray): [number, number] | undefined {
  const idx = m.indices!;
  for (const g of [4, 5]) if (idx[g]) return idx[g] as [number, number];
  const u = idx[6];
  if (!u) return undefined;
  const value = m[6]!;
  let len = value.length;
  if (m[3] !== ':') {
    // env / flag / query: the value ends at the first space, &, ; or ,
    const stop = value.search(/[\s&;,]/);
    if (stop >= 0) len = stop;
  } else {
    // YAML plain scalars hold spaces: to the end of the line, a comment, or the next `key=`/`key: `.
    const stop = value.search(/\s#|\s+["']?[A-Za-z0-9_.-]{1,80}["']?[ \t]{0,8}(?:=|:\s)/);
    if (stop >= 0) len = stop;
    while (len > 0 && /\s/.test(value[len - 1]!)) len--;
  }
  return len > 0 ? [u[0], u[0] + len] : undefined;
}

const has =
  (...words: string[]) =>
  (l: string) =>
    words.some((w) => l.includes(w));

/** In priority order: when spans overlap, the first rule names the kind. */
const RULES: Rule[] = [
  // Datadog: 32-hex API keys, 40-hex application keys (the agent scrubber masks exactly these
  // lengths: pkg/util/scrubber/default.go apiKeyReplacer [a-fA-F0-9]{28}+{4}, appKeyReplacer {36}+{4}).
  {
    kind: 'Datadog API key',
    re: /(?<![A-Za-z0-9])(?:dd[_-]?api[_-]?key|api[_-]?key|apikey|x[_-]dd[_-]api[_-]key)["']?[ \t]{0,8}(?::|=|:=)[ \t]{0,8}["']?([0-9a-fA-F]{32})(?![0-9A-Za-z])/dgi,
    group: 1,
    reveal: 4,
    hint: has('api'),
  },
  {
    kind: 'Datadog application key',
    re: /(?<![A-Za-z0-9])(?:dd[_-]?app(?:lication)?[_-]?key|app(?:lication)?[_-]?key|appkey)["']?[ \t]{0,8}(?::|=|:=)[ \t]{0,8}["']?([0-9a-fA-F]{40})(?![0-9A-Za-z])/dgi,
    group: 1,
    reveal: 4,
    hint: has('app'),
  },
  // Datadog prefixed application keys and Remote Configuration keys (agent scrubber: ddapp_…, DDRCM_…).
  { kind: 'Datadog application key', re: /\bddapp_[A-Za-z0-9_]{30,80}/dg, reveal: 4, hint: has('ddapp_') },
  { kind: 'Datadog remote configuration key', re: /\bDDRCM_[A-Z0-9]{10,100}/dg, reveal: 4, hint: has('ddrcm_') },
  // AWS access key IDs: gitleaks rule aws-access-token (cmd/generate/config/rules/aws.go), prefixes
  // from AWS IAM "Unique identifiers" (AKIA long-term, ASIA temporary/STS, ABIA, ACCA).
  { kind: 'AWS access key ID', re: /\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/dg, reveal: 4, hint: has('a3t', 'akia', 'asia', 'abia', 'acca') },
  // AWS secret access keys: 40 characters of [A-Za-z0-9/+=] (Yelp/detect-secrets plugins/aws.py
  // get_secret_access_key, gitleaks aws-secret-access-key), after the names the AWS CLI and SDKs use.
  {
    kind: 'AWS secret access key',
    re: /(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|secretaccesskey)["']?[ \t]{0,8}(?::|=|:=|=>)[ \t]{0,8}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/dgi,
    group: 1,
    reveal: 4,
    hint: has('secret'),
  },
  // Slack: detect-secrets plugins/slack.py `xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+`, gitleaks slack.go
  // (bot xoxb-, user xoxp-/xoxe-, legacy xoxa-/xoxr-/xoxo-/xoxs-, config xoxe.xoxb-/xoxe.xoxp-,
  // app-level xapp-), and incoming webhooks hooks.slack.com/services/T…/B…/….
  { kind: 'Slack token', re: /\bxoxe\.xox[bp]-\d-[0-9A-Za-z]{20,300}/dg, reveal: 4, hint: has('xoxe.') },
  { kind: 'Slack token', re: /\bxox[abposre]-[0-9A-Za-z-]{8,300}/dg, reveal: 4, hint: has('xox') },
  { kind: 'Slack app-level token', re: /\bxapp-\d-[0-9A-Za-z-]{8,300}/dg, reveal: 4, hint: has('xapp-') },
  {
    kind: 'Slack webhook',
    re: /\bhooks\.slack\.com\/(?:services|workflows|triggers)\/([A-Za-z0-9_/-]{8,300})/dg,
    group: 1,
    reveal: 0,
    hint: has('hooks.slack.com'),
  },
  // GitHub: gitleaks github.go (ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_ + \w{82}); formats from
  // GitHub's "Behind GitHub's new authentication token formats" (2021-04-05).
  { kind: 'GitHub token', re: /\bgh[pousr]_[0-9A-Za-z]{36,251}/dg, reveal: 4, hint: has('gh') },
  { kind: 'GitHub token', re: /\bgithub_pat_[0-9A-Za-z_]{60,251}/dg, reveal: 4, hint: has('github_pat_') },
  // JSON Web Tokens (Kubernetes service-account tokens among them): gitleaks jwt.go `ey….ey….…`.
  { kind: 'JSON Web Token', re: /\beyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,4096}/dg, reveal: 4, hint: has('eyj') },
  // Bearer tokens: RFC 6750 §2.1 (`Bearer` 1*SP b64token); the agent scrubber's hintedBearerReplacer.
  { kind: 'bearer token', re: /\b[Bb]earer[ \t]{1,8}([A-Za-z0-9\-._~+/]{8,4096}=*)/dg, group: 1, reveal: 4, hint: has('bearer'), accept: (s) => notBenign(s) },
  // Credentials in URLs (RFC 3986 userinfo): detect-secrets plugins/basic_auth.py `://[^:]+:([^@]+)@`,
  // the agent scrubber's uriPasswordReplacer. The password is masked, the user name kept.
  {
    kind: 'credentials in a URL',
    re: /\b[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s:/@?#"'<>]{0,256}:([^\s@/?#"'<>]{1,256})@/dg,
    group: 1,
    reveal: 0,
    hint: has('://'),
    accept: (s) => notBenign(s),
  },
  // Passwords, tokens and keys under the names that hold them, in YAML, JSON, env and flag forms.
  {
    kind: 'password or token',
    re: KEY_VALUE,
    pick: pickKeyValue,
    reveal: 0,
    hint: has('pass', 'pwd', 'pswd', 'token', 'jwt', 'secret', 'key', 'auth', 'cookie', 'credential', 'community'),
    accept: (s, m) => keyIsSecret(m[2]!) && notBenign(s),
  },
];

/** A PEM private key (RFC 7468; gitleaks private-key, detect-secrets PrivateKeyDetector): header … footer. */
const PEM_BEGIN = /-{4,5} ?BEGIN ([A-Z0-9 _-]{0,60})?PRIVATE KEY(?: BLOCK)? ?-{4,5}/g;
const PEM_END = /-{4,5} ?END [A-Z0-9 _-]{0,60}PRIVATE KEY(?: BLOCK)? ?-{4,5}/g;

interface Span {
  start: number;
  end: number;
  rank: number;
  reveal: number;
}

function spansInLine(line: string, offset: number, out: Span[]): void {
  const lower = line.toLowerCase();
  for (let r = 0; r < RULES.length; r++) {
    const rule = RULES[r]!;
    if (rule.hint && !rule.hint(lower)) continue;
    rule.re.lastIndex = 0;
    let guard = 0;
    for (let m = rule.re.exec(line); m; m = rule.re.exec(line)) {
      const at = rule.pick ? rule.pick(m) : (m.indices![rule.group ?? 0] as [number, number] | undefined);
      if (at && at[1] > at[0]) {
        const secret = line.slice(at[0], at[1]);
        if (!rule.accept || rule.accept(secret, m)) out.push({ start: offset + at[0], end: offset + at[1], rank: r, reveal: rule.reveal });
      }
      // Step one character past the match's start, not its end: overlapping matches are found too.
      rule.re.lastIndex = m.index + 1;
      if (++guard > 100_000) break;
    }
  }
}

function pemSpans(text: string, out: Span[]): void {
  if (!text.includes('PRIVATE KEY')) return;
  PEM_BEGIN.lastIndex = 0;
  for (let m = PEM_BEGIN.exec(text); m; m = PEM_BEGIN.exec(text)) {
    const bodyStart = m.index + m[0].length;
    PEM_END.lastIndex = bodyStart;
    const end = PEM_END.exec(text);
    // No footer: everything after the header is treated as key material (over-masking is safe).
    const bodyEnd = end ? end.index : text.length;
    if (bodyEnd > bodyStart) out.push({ start: bodyStart, end: bodyEnd, rank: -1, reveal: 0 });
    PEM_BEGIN.lastIndex = Math.max(bodyEnd, m.index + 1);
  }
}

const PEM_KIND = 'private key';
const kindOf = (rank: number) => (rank < 0 ? PEM_KIND : RULES[rank]!.kind);

interface Merged {
  start: number;
  end: number;
  rank: number;
  reveal: number;
  /** Rank of the best rule whose match starts where the merged span starts: it decides the prefix shown. */
  startRank: number;
}

/**
 * Union of overlapping (or touching) spans. The merged span is named after its best rule, and
 * shows a prefix only if the best rule matching at its very start allows one (a key of a known
 * format under a `password:` does; a bare password does not).
 */
function merge(spans: Span[]): Merged[] {
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Merged[] = [];
  for (const s of spans) {
    const last = out.at(-1);
    if (last && s.start <= last.end) {
      if (s.end > last.end) last.end = s.end;
      if (s.rank < last.rank) last.rank = s.rank;
      if (s.start === last.start && s.rank < last.startRank) {
        last.startRank = s.rank;
        last.reveal = s.reveal;
      }
    } else out.push({ ...s, startRank: s.rank });
  }
  return out;
}

/** Stars of fixed length: a mask tells nothing of the secret's length. */
const STARS = '*'.repeat(16);

/** What replaces a secret: a short prefix (at most a quarter of it) and STARS. */
function maskOf(secret: string, reveal: number): string {
  return `${secret.slice(0, Math.min(reveal, Math.floor(secret.length / 4)))}${STARS}`;
}

const printable = (s: string) => s.replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');

/** Lines of a text: start offsets (a final newline does not open an empty line). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineIndexOf(starts: number[], pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

interface Analysis {
  merged: Merged[];
  starts: number[];
  /** 0-based indices of lines not scanned (over LINE_CAP). */
  tooLong: number[];
}

function analyse(text: string): Analysis {
  const spans: Span[] = [];
  pemSpans(text, spans);
  const starts = lineStarts(text);
  const tooLong: number[] = [];
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    let e = i + 1 < starts.length ? starts[i + 1]! - 1 : text.length;
    if (e > s && text[e - 1] === '\r') e--;
    if (e - s > LINE_CAP) {
      tooLong.push(i);
      continue;
    }
    if (e > s) spansInLine(text.slice(s, e), s, spans);
  }
  return { merged: merge(spans), starts, tooLong };
}

/** The line `i` with every merged span masked; `focus` (a merged span) reports where its mask starts. */
function maskedLine(text: string, a: Analysis, i: number, focus?: Merged): { text: string; at: number } {
  const s = a.starts[i]!;
  let e = i + 1 < a.starts.length ? a.starts[i + 1]! - 1 : text.length;
  if (e > s && text[e - 1] === '\r') e--;
  if (e - s > LINE_CAP) return { text: `[line of ${e - s} characters, not shown]`, at: 0 };
  let out = '';
  let at = 0;
  let pos = s;
  // Spans that reach into this line (merged spans are sorted and disjoint).
  let k = lowerBound(a.merged, s);
  for (; k < a.merged.length && a.merged[k]!.start < e; k++) {
    const m = a.merged[k]!;
    const from = Math.max(m.start, s);
    const to = Math.min(m.end, e);
    if (to <= from) continue;
    out += text.slice(pos, from);
    if (m === focus) at = out.length;
    out += from === m.start ? maskOf(text.slice(from, to), m.reveal) : STARS;
    pos = to;
  }
  out += text.slice(pos, e);
  return { text: out, at };
}

/** First merged span that ends after `pos`. */
function lowerBound(merged: Merged[], pos: number): number {
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (merged[mid]!.end <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A window of the masked line around `at`, printable, at most PREVIEW_MAX characters. */
function window(masked: string, at: number): string {
  const flat = printable(masked);
  if (flat.length <= PREVIEW_MAX) return flat.trim();
  const from = Math.max(0, Math.min(at - 40, flat.length - PREVIEW_MAX));
  return `${from > 0 ? '…' : ''}${flat.slice(from, from + PREVIEW_MAX).trim()}${from + PREVIEW_MAX < flat.length ? '…' : ''}`;
}

/** Scans a text file: every secret on every line, masked; lines that could not be scanned, named. */
export function scanText(file: string, text: string, limit = 200): ScanResult {
  const a = analyse(text);
  const findings: SecretFinding[] = [];
  for (const m of a.merged) {
    if (findings.length >= limit) break;
    const i = lineIndexOf(a.starts, m.start);
    const { text: masked, at } = maskedLine(text, a, i, m);
    const lastLine = lineIndexOf(a.starts, Math.max(m.start, m.end - 1));
    const more = lastLine > i ? ` … (${lastLine - i} more line${lastLine - i > 1 ? 's' : ''} masked)` : '';
    findings.push({ file, line: i + 1, kind: kindOf(m.rank), preview: `${window(masked, at)}${more}` });
  }
  const notScanned = a.tooLong.map((i) => ({ file, reason: `line ${i + 1} is over ${LINE_CAP / 1024 / 1024} MiB, so it was not scanned` }));
  return { findings, total: a.merged.length, notScanned };
}

/** Masks every secret in a text (agent output, paths, errors) before it goes anywhere. */
export function maskSecrets(text: string): string {
  if (text === '') return text;
  const a = analyse(text);
  if (a.merged.length === 0 && a.tooLong.length === 0) return text;
  const lines: string[] = [];
  for (let i = 0; i < a.starts.length; i++) lines.push(maskedLine(text, a, i).text);
  return lines.join('\n') + (text.endsWith('\n') ? '\n' : '');
}

/** A file name in the archive: masked, with what was found in it. */
export function scanName(path: string): { name: string; findings: SecretFinding[]; total: number } {
  const flat = path.replace(/[\r\n]/g, '?');
  const a = analyse(flat);
  if (a.merged.length === 0) return { name: printable(flat), findings: [], total: 0 };
  const name = printable(maskedLine(flat, a, 0).text);
  return {
    name,
    findings: a.merged.map((m) => ({ file: name, line: 0, kind: kindOf(m.rank), preview: window(name, 0), where: 'name' as const })),
    total: a.merged.length,
  };
}

/** Printable runs (like `strings -n 6`) of a binary file, one per line, to scan what text it holds. */
export function printableStrings(bytes: Uint8Array, min = 6, maxChars = 4 * 1024 * 1024): string {
  const runs: string[] = [];
  let total = 0;
  let start = -1;
  const flush = (end: number) => {
    if (start >= 0 && end - start >= min && total < maxChars) {
      const run = Buffer.from(bytes.subarray(start, Math.min(end, start + LINE_CAP))).toString('latin1');
      runs.push(run);
      total += run.length + 1;
    }
    start = -1;
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 9 || (b >= 32 && b < 127)) {
      if (start < 0) start = i;
    } else flush(i);
  }
  flush(bytes.length);
  return runs.join('\n');
}

/** Scans the printable strings of a binary file; findings say so (`where: 'binary'`). */
export function scanBinary(file: string, bytes: Uint8Array, limit = 200): ScanResult {
  const r = scanText(file, printableStrings(bytes), limit);
  return { ...r, findings: r.findings.map((f) => ({ ...f, line: 0, where: 'binary' as const })), notScanned: [] };
}

/** Why bytes are not text: a NUL byte, or too many control characters (in the first 8 KiB). */
export function binaryReason(bytes: Uint8Array): string | undefined {
  const n = Math.min(bytes.length, 8192);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return 'binary (NUL bytes)';
    if (b < 9 || (b > 13 && b < 32)) odd++;
  }
  if (odd > n * 0.05) return 'binary (control characters)';
  for (let i = n; i < bytes.length; i++) if (bytes[i] === 0) return 'binary (NUL bytes)';
  return undefined;
}

/** True when the bytes look like text worth scanning line by line. */
export function looksLikeText(bytes: Uint8Array): boolean {
  return binaryReason(bytes) === undefined;
}
