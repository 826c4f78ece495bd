import { zipSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { collapseFileList, reviewArchive } from '../../src/flare/archive.ts';
import { scanText } from '../../src/flare/secrets.ts';

describe('secret scan', () => {
  it.each([
    ['api_key: 4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99', 'Datadog API key'],
    ['DD_API_KEY=4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99', 'Datadog API key'],
    ['app_key: "0123456789abcdef0123456789abcdef01234567"', 'Datadog application key'],
    ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'AWS access key'],
    ['token: xoxb-1234567890-abcdefghijkl', 'Slack token'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc', 'bearer token'],
    ['-----BEGIN RSA PRIVATE KEY-----', 'private key'],
    ['  password: hunter2hunter2', 'password'],
    ['dd_url: https://admin:s3cr3tpass@proxy.example.com:3128', 'credentials in a URL'],
  ])('finds %j', (line, kind) => {
    const [f] = scanText('etc/datadog.yaml', `site: datadoghq.com\n${line}\n`);
    expect(f).toMatchObject({ file: 'etc/datadog.yaml', line: 2, kind });
    expect(f!.preview).not.toContain(line.includes('4f3c2b') ? '4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99' : '\u0000');
  });

  it('never shows the secret itself', () => {
    const [f] = scanText('x', 'api_key: 4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99');
    expect(f!.preview).toBe('api_key: 4f********************99');
  });

  it.each([
    'api_key: "***************************abcde"',
    'api_key: ********',
    'password: ${DB_PASSWORD}',
    'password: <your password>',
    'password: ENC[my_secret_handle]',
    'token: ',
    'site: datadoghq.com',
  ])('leaves scrubbed values and placeholders alone: %j', (line) => {
    expect(scanText('x', line)).toEqual([]);
  });
});

describe('archive review', () => {
  const zip = zipSync({
    'node-7/etc/datadog.yaml': strToU8('api_key: "***************************abcde"\n'),
    'node-7/etc/system-probe.yaml': strToU8('runtime_security_config:\n  enabled: true\n'),
    'node-7/logs/security-agent.log': strToU8('2026-11-27 INFO started\napi_key: 4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99\n'),
    'node-7/expvar/security-agent': new Uint8Array([0, 1, 2, 3]),
  });

  it('lists files with sizes and reports secrets left in text files', () => {
    const r = reviewArchive(zip);
    expect(r.bytes).toBe(zip.length);
    expect(r.files.map((f) => f.path)).toEqual(['node-7/etc/datadog.yaml', 'node-7/etc/system-probe.yaml', 'node-7/expvar/security-agent', 'node-7/logs/security-agent.log']);
    expect(r.findings).toEqual([{ file: 'node-7/logs/security-agent.log', line: 2, kind: 'Datadog API key', preview: 'api_key: 4f********************99' }]);
  });

  it('rejects what is not a zip', () => {
    expect(() => reviewArchive(strToU8('Error: no such file'))).toThrow(/not a readable zip/);
  });

  it('collapses long lists into folders', () => {
    const files = Array.from({ length: 60 }, (_, i) => ({ path: `h/logs/f${i}.log`, bytes: 10 })).concat([{ path: 'h/etc/datadog.yaml', bytes: 5 }]);
    expect(collapseFileList(files, 25)).toEqual([
      { label: 'h/etc/datadog.yaml', bytes: 5 },
      { label: 'h/logs/ (60 files)', bytes: 600 },
    ]);
    expect(collapseFileList(files.slice(0, 3), 25)).toHaveLength(3);
  });
});
