// Secrets of every shape the review's scan knows (src/flare/secrets.ts), freshly random per run,
// planted in a flare archive the fake agent hands out: several per line, in file names, in a long
// line, in a line over the scan's cap, in a binary file, in a PEM block. Tests then check that none
// of them reaches Slack, Redis or a log line in clear.
import { randomBytes } from 'node:crypto';
import { buildZip, FLARE_HOSTNAME, flareContents } from './flare-fixtures.ts';

const pick = (alphabet: string, n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DIGITS = '0123456789';

export function plantedSecrets() {
  return {
    ddApi: pick(HEX, 32),
    ddApp: pick(HEX, 40),
    ddApiEnv: pick(HEX, 32),
    awsId: `AKIA${pick(UPPER, 16)}`,
    awsSecret: pick(`${ALNUM}/+`, 40),
    slackBot: `xoxb-${pick(DIGITS, 12)}-${pick(DIGITS, 13)}-${pick(ALNUM, 24)}`,
    slackUser: `xoxp-${pick(DIGITS, 11)}-${pick(DIGITS, 11)}-${pick(DIGITS, 11)}-${pick(HEX, 32)}`,
    slackApp: `xapp-1-A${pick(UPPER, 10)}-${pick(DIGITS, 13)}-${pick(HEX, 64)}`,
    ghp: `ghp_${pick(ALNUM, 36)}`,
    gho: `gho_${pick(ALNUM, 36)}`,
    ghs: `ghs_${pick(ALNUM, 36)}`,
    ghPat: `github_pat_${pick(ALNUM, 22)}_${pick(ALNUM, 59)}`,
    ghInName: `ghp_${pick(ALNUM, 36)}`,
    urlPass: pick(ALNUM, 14),
    bearer: pick(`${ALNUM}-._~`, 48),
    yamlPass: `${pick(ALNUM, 10)} ${pick(ALNUM, 6)}`,
    jsonPass: pick(ALNUM, 18),
    envPass: pick(ALNUM, 16),
    longLinePass: pick(ALNUM, 20),
    hugeLinePass: pick(ALNUM, 20),
    binaryToken: `xoxb-${pick(DIGITS, 12)}-${pick(DIGITS, 13)}-${pick(ALNUM, 24)}`,
    pemBody1: pick(`${ALNUM}+/`, 64),
    pemBody2: pick(`${ALNUM}+/`, 64),
  };
}
export type PlantedSecrets = ReturnType<typeof plantedSecrets>;

/** A flare zip (the fake agent's layout) with every planted secret somewhere in it. */
export function plantedFlareZip(s: PlantedSecrets): Buffer {
  const files = flareContents('clean');
  files.set(
    'etc/datadog.yaml',
    `api_key: ${s.ddApi}\napp_key: ${s.ddApp}\nsite: datadoghq.com\nproxy:\n  https: http://proxyuser:${s.urlPass}@proxy.internal:3128\n`,
  );
  files.set(
    'logs/security-agent.log',
    [
      `2026-01-01 10:00:00 UTC | SECURITY | INFO | (x.go:1) | api_key=${s.ddApiEnv} password=${s.envPass} slack=${s.slackBot}`,
      `2026-01-01 10:00:01 UTC | SECURITY | INFO | (x.go:2) | curl -H "Authorization: Bearer ${s.bearer}" ${s.ghp} ${s.gho} ${s.ghs}`,
      `${'x'.repeat(20_000)} password=${s.longLinePass} ${'y'.repeat(200)}`,
      `${'z'.repeat(1024 * 1024 + 10)} password=${s.hugeLinePass}`,
      '2026-01-01 10:00:02 UTC | SECURITY | INFO | (x.go:3) | done',
      '',
    ].join('\n'),
  );
  files.set(
    'envvars.log',
    `Found the following envvars:\n -  DD_API_KEY=${s.ddApiEnv}\n -  AWS_ACCESS_KEY_ID=${s.awsId}\n -  AWS_SECRET_ACCESS_KEY=${s.awsSecret}\n -  POSTGRES_PASSWORD=${s.envPass}\n -  SLACK_APP_TOKEN=${s.slackApp}\n`,
  );
  files.set(
    'etc/credentials.json',
    `${JSON.stringify({ db: { user: 'app', password: s.jsonPass }, aws: { SecretAccessKey: s.awsSecret }, github: s.ghPat, slack_user: s.slackUser }, null, 2)}\n`,
  );
  files.set('etc/secrets.yaml', `database:\n  password: ${s.yamlPass}\n`);
  files.set('keys/tls.key', `-----BEGIN RSA PRIVATE KEY-----\n${s.pemBody1}\n${s.pemBody2}\n-----END RSA PRIVATE KEY-----\n`);
  files.set(`logs/${s.ghInName}.log`, 'a log named after a token\n');
  const entries = [...files].map(([rel, text]) => ({ name: `${FLARE_HOSTNAME}/${rel}`, data: Buffer.from(text, 'utf8') }));
  entries.push({
    name: `${FLARE_HOSTNAME}/expvar/core.bin`,
    data: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1]), Buffer.from(`\0token=${s.binaryToken}\0\x02\x03`), randomBytes(256)]),
  });
  return buildZip(entries);
}

/** Every way a secret could show: whole, past its first 4 characters (the most a mask keeps), its last 10. */
export function leaksIn(text: string, s: PlantedSecrets): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(s)) {
    for (const piece of [secret, secret.slice(4), secret.slice(-10)]) {
      if (piece.length >= 8 && text.includes(piece)) {
        found.push(`${name}: …${piece.slice(0, 6)}…`);
        break;
      }
    }
  }
  return found;
}
