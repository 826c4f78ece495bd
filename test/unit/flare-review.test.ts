import { createHash, randomBytes } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { collapseFileList, MAX_ENTRY_SCAN, reviewArchive, reviewArchiveAsync } from '../../workers/flare/archive.ts';
import { LINE_CAP, maskSecrets, scanName, scanText } from '../../src/core/flare/secrets.ts';
import { listZip } from '../../workers/flare/zip.ts';

// Random secrets of every shape the scan knows (formats and sources: src/flare/secrets.ts).
const pick = (alphabet: string, n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const S = {
  ddApi: pick(HEX, 32),
  ddApp: pick(HEX, 40),
  awsId: `AKIA${pick(UPPER, 16)}`,
  awsSecret: pick(`${ALNUM}/+`, 40),
  slackBot: `xoxb-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick(ALNUM, 24)}`,
  slackApp: `xapp-1-A${pick(UPPER, 10)}-${pick('0123456789', 13)}-${pick(HEX, 64)}`,
  ghp: `ghp_${pick(ALNUM, 36)}`,
  gho: `gho_${pick(ALNUM, 36)}`,
  ghs: `ghs_${pick(ALNUM, 36)}`,
  ghPat: `github_pat_${pick(ALNUM, 22)}_${pick(ALNUM, 59)}`,
  urlPass: pick(ALNUM, 14),
  bearer: pick(`${ALNUM}-._~`, 48),
  yamlPass: `${pick(ALNUM, 10)} ${pick(ALNUM, 6)}`,
  jsonPass: pick(ALNUM, 18),
  envPass: pick(ALNUM, 16),
  pemBody1: pick(`${ALNUM}+/`, 64),
  pemBody2: pick(`${ALNUM}+/`, 64),
};

/** Every way the secret could show: whole, without its first 4 characters, its end. */
function leaks(text: string, secret: string): string[] {
  return [secret, secret.slice(4), secret.slice(-10)].filter((s) => s.length >= 8 && text.includes(s));
}

describe('secret scan: every shape', () => {
  it.each([
    [`api_key: ${S.ddApi}`, 'Datadog API key', S.ddApi],
    [`DD_API_KEY=${S.ddApi}`, 'Datadog API key', S.ddApi],
    [`app_key: "${S.ddApp}"`, 'Datadog application key', S.ddApp],
    [`DD_APP_KEY=${S.ddApp}`, 'Datadog application key', S.ddApp],
    [`aws_access_key_id = ${S.awsId}`, 'AWS access key ID', S.awsId],
    [`aws_secret_access_key = ${S.awsSecret}`, 'AWS secret access key', S.awsSecret],
    [`"SecretAccessKey": "${S.awsSecret}",`, 'AWS secret access key', S.awsSecret],
    [`slack: ${S.slackBot}`, 'Slack token', S.slackBot],
    [`SLACK_APP_TOKEN=${S.slackApp}`, 'Slack app-level token', S.slackApp],
    [`repo token ${S.ghp} in a log`, 'GitHub token', S.ghp],
    [`oauth=${S.gho}`, 'GitHub token', S.gho],
    [`installation ${S.ghs}`, 'GitHub token', S.ghs],
    [`GH=${S.ghPat}`, 'GitHub token', S.ghPat],
    [`dd_url: https://admin:${S.urlPass}@proxy.example.com:3128`, 'credentials in a URL', S.urlPass],
    [`curl -H "Authorization: Bearer ${S.bearer}" https://x`, 'bearer token', S.bearer],
    [`  password: ${S.yamlPass}`, 'password or token', S.yamlPass],
    [`{"db": {"password": "${S.jsonPass}"}}`, 'password or token', S.jsonPass],
    [`POSTGRES_PASSWORD=${S.envPass}`, 'password or token', S.envPass],
    [`--mysql_password=${S.envPass} --verbose`, 'password or token', S.envPass],
    [`client_secret: ${S.envPass}`, 'password or token', S.envPass],
  ])('finds %j', (line, kind, secret) => {
    const r = scanText('etc/datadog.yaml', `site: datadoghq.com\n${line}\n`);
    expect(r.findings.map((f) => f.kind)).toContain(kind);
    const f = r.findings.find((x) => x.kind === kind)!;
    expect(f).toMatchObject({ file: 'etc/datadog.yaml', line: 2 });
    expect(leaks(f.preview, secret)).toEqual([]);
    expect(leaks(maskSecrets(line), secret)).toEqual([]);
  });

  it('keeps at most a 4-character prefix of a key, nothing of a password', () => {
    expect(scanText('x', `api_key: ${S.ddApi}`).findings[0]!.preview).toBe(`api_key: ${S.ddApi.slice(0, 4)}****************`);
    expect(scanText('x', `token: ${S.ghp}`).findings[0]!.preview).toBe('token: ghp_****************');
    expect(scanText('x', 'password: hunter2hunter2').findings[0]!.preview).toBe('password: ****************');
    expect(scanText('x', 'pwd=abc').findings[0]!.preview).toBe('pwd=****************');
  });

  it('masks every secret of a line, whichever rule found it first', () => {
    const line = `api_key=${S.ddApi} password=${S.envPass} token: ${S.slackBot} and ${S.ghp}`;
    const r = scanText('logs/agent.log', line);
    expect(r.total).toBeGreaterThanOrEqual(3);
    for (const f of r.findings) for (const s of [S.ddApi, S.envPass, S.slackBot, S.ghp]) expect(leaks(f.preview, s)).toEqual([]);
    const masked = maskSecrets(line);
    for (const s of [S.ddApi, S.envPass, S.slackBot, S.ghp]) expect(leaks(masked, s)).toEqual([]);
  });

  it('masks overlapping matches as one span (a token under a password key, a URL inside a value)', () => {
    const line = `password: ${S.ghp} url=https://u:${S.urlPass}@h/${S.ghs}`;
    const masked = maskSecrets(line);
    for (const s of [S.ghp, S.urlPass, S.ghs]) expect(leaks(masked, s)).toEqual([]);
    expect(masked.startsWith('password: ghp_')).toBe(true); // the best rule at the span's start allows its prefix
  });

  it('masks a PEM private key block whole: no body line anywhere', () => {
    const pem = `key:\n-----BEGIN RSA PRIVATE KEY-----\n${S.pemBody1}\n${S.pemBody2}\n-----END RSA PRIVATE KEY-----\nafter\n`;
    const r = scanText('etc/key.pem', pem);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ line: 2, kind: 'private key' });
    expect(r.findings[0]!.preview).toContain('2 more lines masked');
    const masked = maskSecrets(pem);
    expect(leaks(masked, S.pemBody1)).toEqual([]);
    expect(leaks(masked, S.pemBody2)).toEqual([]);
    expect(masked).toContain('-----END RSA PRIVATE KEY-----');
    // in a JSON string, on one line (a GCP service-account key)
    const json = `{"private_key": "-----BEGIN PRIVATE KEY-----\\n${S.pemBody1}\\n-----END PRIVATE KEY-----\\n"}`;
    expect(leaks(maskSecrets(json), S.pemBody1)).toEqual([]);
    // no footer: everything after the header is masked
    expect(leaks(maskSecrets(`-----BEGIN OPENSSH PRIVATE KEY-----\n${S.pemBody1}`), S.pemBody1)).toEqual([]);
  });

  it('scans long lines, and names a line over the cap as not scanned (never shown)', () => {
    const long = `${'x'.repeat(20_000)} password=${S.envPass} ${'y'.repeat(500)}`;
    const r = scanText('logs/long.log', `a\n${long}\n`);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.preview.length).toBeLessThan(200);
    expect(leaks(r.findings[0]!.preview, S.envPass)).toEqual([]);
    const huge = `${'z'.repeat(LINE_CAP + 1)}password=${S.envPass}`;
    const h = scanText('logs/huge.log', `ok\n${huge}\n`);
    expect(h.notScanned).toEqual([{ file: 'logs/huge.log', reason: 'line 2 is over 1 MiB, so it was not scanned' }]);
    expect(leaks(maskSecrets(huge), S.envPass)).toEqual([]);
  });

  it.each([
    'api_key: "***************************abcde"',
    "api_key: '***************************b0a99'",
    'api_key: ********',
    'password: "********"',
    'password: ${DB_PASSWORD}',
    'password: <your password>',
    'password: ENC[my_secret_handle]',
    'token: ',
    'site: datadoghq.com',
    'auth_token_file_path: /etc/datadog-agent/auth_token',
    'secret_backend_command: /usr/local/bin/secrets',
    'bypass_proxy: true',
    'Authorization: Bearer ********',
    'https://datadoghq.com/account/settings',
  ])('leaves scrubbed values, placeholders and settings alone: %j', (line) => {
    expect(scanText('x', line).findings).toEqual([]);
  });

  it('finds secrets in file names and masks the name', () => {
    const n = scanName(`host/logs/${S.ghp}.log`);
    expect(n.name).toBe('host/logs/ghp_****************.log');
    expect(n.findings).toEqual([{ file: n.name, line: 0, kind: 'GitHub token', preview: n.name, where: 'name' }]);
  });
});

// ── archives ──────────────────────────────────────────────────────────────────────────────

const enc = (s: string) => strToU8(s);

describe('archive review', () => {
  const zip = zipSync({
    'node-7/etc/datadog.yaml': enc('api_key: "***************************abcde"\n'),
    'node-7/etc/system-probe.yaml': enc('runtime_security_config:\n  enabled: true\n'),
    'node-7/logs/security-agent.log': enc(`2026-11-27 INFO started\napi_key: ${S.ddApi} password=${S.envPass}\n`),
    'node-7/expvar/security-agent': new Uint8Array([0, 1, 2, 3]),
  });

  it('lists files with sizes, the archive SHA-256, and every secret left in text files', () => {
    const r = reviewArchive(zip);
    expect(r.bytes).toBe(zip.length);
    expect(r.sha256).toBe(createHash('sha256').update(zip).digest('hex'));
    expect(r.files.map((f) => f.path)).toEqual([
      'node-7/etc/datadog.yaml',
      'node-7/etc/system-probe.yaml',
      'node-7/expvar/security-agent',
      'node-7/logs/security-agent.log',
    ]);
    expect(r.findingsTotal).toBe(2);
    expect(r.findings.map((f) => [f.file, f.line, f.kind])).toEqual([
      ['node-7/logs/security-agent.log', 2, 'Datadog API key'],
      ['node-7/logs/security-agent.log', 2, 'password or token'],
    ]);
    for (const f of r.findings) expect(leaks(f.preview, S.ddApi).concat(leaks(f.preview, S.envPass))).toEqual([]);
    expect(r.notScanned).toEqual([
      { file: 'node-7/expvar/security-agent', reason: 'binary (NUL bytes): not scanned as text, only its printable strings were checked' },
    ]);
  });

  it('masks a secret in a file name in the list and reports it', () => {
    const r = reviewArchive(zipSync({ [`h/logs/${S.slackBot}.log`]: enc('hello\n'), 'h/ok.log': enc('fine\n') }));
    expect(r.files.map((f) => f.path)).toEqual(['h/logs/xoxb****************.log', 'h/ok.log']);
    expect(r.findings).toEqual([
      { file: 'h/logs/xoxb****************.log', line: 0, kind: 'Slack token', preview: 'h/logs/xoxb****************.log', where: 'name' },
    ]);
    expect(JSON.stringify(r)).not.toContain(S.slackBot.slice(4));
  });

  it('checks the printable strings of binary files', () => {
    const bin = Buffer.concat([Buffer.from([0, 1, 2, 0xff]), Buffer.from(`\0token=${S.ghp}\0\x01aws_secret_access_key=${S.awsSecret}\0`)]);
    const r = reviewArchive(zipSync({ 'h/core.bin': new Uint8Array(bin) }));
    expect(r.findings.map((f) => [f.kind, f.where])).toEqual([
      ['GitHub token', 'binary'],
      ['AWS secret access key', 'binary'],
    ]);
    expect(JSON.stringify(r)).not.toContain(S.ghp.slice(4));
    expect(JSON.stringify(r)).not.toContain(S.awsSecret.slice(4));
    expect(r.notScanned[0]!.reason).toMatch(/^binary \(NUL bytes\)/);
  });

  it('says why an entry cannot be read: encrypted, unknown method, damaged, too large; lists duplicates', () => {
    const base = zipSync({ 'h/a.log': enc(`password=${S.envPass}\n`), 'h/b.log': enc('b\n'), 'h/c.log': enc('c\n'), 'h/d.log': enc('d\n') }, { level: 0 });
    const buf = Buffer.from(base);
    const entries = listZip(buf);
    // Central directory: flags at +8, method at +10, crc at +16; the local header's method at +8.
    let p = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const central: number[] = [];
    while (p >= 0) {
      central.push(p);
      p = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), p + 4);
    }
    buf.writeUInt16LE(1, central[0]! + 8); // a.log: encrypted
    buf.writeUInt16LE(12, central[1]! + 10); // b.log: bzip2
    buf.writeUInt32LE(0xdeadbeef, central[2]! + 16); // c.log: wrong CRC
    expect(entries).toHaveLength(4);
    const r = reviewArchive(new Uint8Array(buf));
    expect(r.notScanned).toEqual([
      { file: 'h/a.log', reason: 'encrypted' },
      { file: 'h/b.log', reason: 'compressed with method 12, which the scanner cannot read' },
      { file: 'h/c.log', reason: 'damaged (CRC mismatch)' },
    ]);
    expect(r.findings).toEqual([]);

    const big = reviewArchive(zipSync({ 'h/big.log': new Uint8Array(MAX_ENTRY_SCAN + 1).fill(0x61) }, { level: 1 }));
    expect(big.notScanned).toEqual([{ file: 'h/big.log', reason: 'too large to scan (16.0 MiB; the limit is 16.0 MiB)' }]);

    // Two entries with one name: both listed (the second marked), both scanned.
    const dup = Buffer.from(zipSync({ 'h/x.log': enc('one\n'), 'h/y.log': enc(`password=${S.envPass}\n`) }, { level: 0 }));
    const at = dup.lastIndexOf(Buffer.from('h/y.log'));
    dup.write('h/x.log', at, 'latin1');
    dup.write('h/x.log', dup.indexOf(Buffer.from('h/y.log')), 'latin1');
    const d = reviewArchive(new Uint8Array(dup));
    expect(d.files.map((f) => f.path)).toEqual(['h/x.log', 'h/x.log (duplicate entry #2)']);
    expect(d.findings.map((f) => f.file)).toEqual(['h/x.log (duplicate entry #2)']);
  });

  it('the async review (a turn of the event loop per entry) gives the same review', async () => {
    expect(await reviewArchiveAsync(zip)).toEqual(reviewArchive(zip));
    await expect(reviewArchiveAsync(strToU8('not a zip'))).rejects.toThrow(/not a readable zip/);
  });

  it('rejects what is not a zip', () => {
    expect(() => reviewArchive(strToU8(`Error: no such file api_key=${S.ddApi}`))).toThrow(
      /^the archive is not a readable zip \(no end of central directory record\)$/,
    );
  });

  it('collapses long lists into folders', () => {
    const files = Array.from({ length: 60 }, (_, i) => ({ path: `h/logs/f${i}.log`, bytes: 10 })).concat([{ path: 'h/etc/datadog.yaml', bytes: 5 }]);
    expect(collapseFileList(files, 25)).toEqual([
      { label: 'h/etc/datadog.yaml', bytes: 5 },
      { label: 'h/logs/ (60 files)', bytes: 600 },
    ]);
    expect(collapseFileList(files.slice(0, 3), 25)).toHaveLength(3);
  });

  it('names what does not fit instead of dropping it (30 files at the top level, 25 lines)', () => {
    const files = Array.from({ length: 30 }, (_, i) => ({ path: `f${String(i).padStart(2, '0')}.log`, bytes: 1 }));
    const out = collapseFileList(files, 25);
    expect(out).toHaveLength(25);
    expect(out[24]).toEqual({ label: '…and 6 more files (6 entries at the top level)', bytes: 6 });
  });

  it('scans a large text entry in bounded time', () => {
    const line = '2026-01-01 12:00:00 UTC | SECURITY | INFO | (pkg/x.go:1 in f) | an event with key=value and more words\n';
    const text = line.repeat(Math.floor((MAX_ENTRY_SCAN - 100) / line.length)) + `password=${S.envPass}\n`;
    const t = Date.now();
    const r = reviewArchive(zipSync({ 'h/logs/big.log': enc(text) }, { level: 1 }));
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(r.findingsTotal).toBe(1);
  });
});
