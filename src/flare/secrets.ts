/**
 * Looks for secrets that survived the agent's scrubber in a flare's text files. The agent
 * replaces keys with `***************************abcde`; anything that still looks like a key,
 * token, password or private key is reported — by file, line and kind, never with its value.
 */
export interface SecretFinding {
  file: string;
  line: number;
  kind: string;
  /** The line with the secret masked: safe to show in Slack. */
  preview: string;
}

interface Rule {
  kind: string;
  re: RegExp;
  /** Index of the capture group holding the secret itself (masked in the preview). */
  group: number;
}

const RULES: Rule[] = [
  { kind: 'Datadog API key', re: /\b(?:api_?key|DD_API_KEY)\b["']?\s*[:=]\s*["']?([0-9a-f]{32})\b/i, group: 1 },
  { kind: 'Datadog application key', re: /\b(?:app(?:lication)?_?key|DD_APP_KEY)\b["']?\s*[:=]\s*["']?([0-9a-f]{40})\b/i, group: 1 },
  { kind: 'AWS access key', re: /\b((?:AKIA|ASIA)[0-9A-Z]{16})\b/, group: 1 },
  { kind: 'Slack token', re: /\b(xox[abposr]-[0-9A-Za-z-]{10,})\b/, group: 1 },
  { kind: 'GitHub token', re: /\b(gh[pousr]_[0-9A-Za-z]{36,})\b/, group: 1 },
  { kind: 'bearer token', re: /\b[Bb]earer\s+([A-Za-z0-9\-._~+/]{20,}=*)/, group: 1 },
  { kind: 'private key', re: /(-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----)/, group: 1 },
  {
    kind: 'password',
    re: /\b(?:password|passwd|pwd|secret|token)\b["']?\s*[:=]\s*["']?([^\s"'*][^\s"']{5,})/i,
    group: 1,
  },
  { kind: 'credentials in a URL', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/*]{3,})@/i, group: 1 },
];

/** Values the scrubber leaves, and placeholders people use, that are not secrets. */
const BENIGN = /^(\*+[A-Za-z0-9]{0,5}|<[^>]+>|\$\{[^}]+\}|ENC\[[^\]]+\]|changeme|none|null|true|false|redacted|\[redacted\])$/i;

export function mask(line: string, secret: string): string {
  const shown = secret.length > 8 ? `${secret.slice(0, 2)}${'*'.repeat(Math.min(20, secret.length - 4))}${secret.slice(-2)}` : '*'.repeat(secret.length);
  const masked = line.split(secret).join(shown).trim();
  return masked.length > 160 ? `${masked.slice(0, 160)}…` : masked;
}

export function scanText(file: string, text: string, limit = 50): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length && findings.length < limit; i++) {
    const line = lines[i]!;
    if (line.length > 10_000) continue;
    for (const rule of RULES) {
      const m = rule.re.exec(line);
      const secret = m?.[rule.group];
      if (!m || !secret || BENIGN.test(secret)) continue;
      findings.push({ file, line: i + 1, kind: rule.kind, preview: mask(line, secret) });
      break;
    }
  }
  return findings;
}

/** True when the bytes look like text worth scanning (no NULs in the first KiB, mostly printable). */
export function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 1024);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return false;
    if (b < 9 || (b > 13 && b < 32)) odd++;
  }
  return odd <= n * 0.05;
}
