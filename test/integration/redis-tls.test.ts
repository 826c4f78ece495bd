/**
 * `rediss://` with a private CA and a client certificate (REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE,
 * REDIS_TLS_KEY_FILE) against a redis-server that only speaks TLS and requires client
 * certificates: a self-test runs end to end, and each missing piece is one clear line.
 */
import { webcrypto } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env.ts';
import { assertRedisReachable, redisConnection } from '../../src/config/redis.ts';
import { type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';
import { missing } from '../support/redis-topologies.ts';

const why = missing('redis-server');
if (why && process.env.CI) throw new Error(`[redis-tls] required in CI: ${why}`);
if (why) console.warn(`[redis-tls] skipped: ${why}`);
const suite = why ? describe.skip : describe;

const dir = mkdtempSync(join(tmpdir(), 'cws-tls-'));
const f = (name: string) => join(dir, name);
let redis: PrivateRedis;
let url: string;
let files: { REDIS_TLS_CA_FILE: string; REDIS_TLS_CERT_FILE: string; REDIS_TLS_KEY_FILE: string };

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by that CA (ECDSA P-256, a day). */
async function certificates() {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const [notBefore, notAfter] = [new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000)];
  const serial = () =>
    Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^./, '1');
  const pem = async (k: webcrypto.CryptoKey) =>
    `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k))
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n')}\n-----END PRIVATE KEY-----\n`;
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=cws test CA',
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  writeFileSync(f('ca.crt'), ca.toString('pem'));
  for (const who of ['server', 'client'] as const) {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=cws ${who}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingAlgorithm: alg,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([who === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth], false),
        ...(who === 'server' ? [new x509.SubjectAlternativeNameExtension([{ type: 'ip' as const, value: '127.0.0.1' }])] : []),
      ],
    });
    writeFileSync(f(`${who}.crt`), cert.toString('pem'));
    writeFileSync(f(`${who}.key`), await pem(keys.privateKey));
  }
}

suite('rediss:// with a private CA and a client certificate', () => {
  beforeAll(async () => {
    await certificates();
    redis = await startPrivateRedis({
      args: (port) => [
        ...['--port', '0', '--tls-port', String(port)],
        ...['--tls-cert-file', f('server.crt'), '--tls-key-file', f('server.key'), '--tls-ca-cert-file', f('ca.crt'), '--tls-auth-clients', 'yes'],
      ],
    });
    url = `rediss://127.0.0.1:${redis.port}`;
    files = { REDIS_TLS_CA_FILE: f('ca.crt'), REDIS_TLS_CERT_FILE: f('client.crt'), REDIS_TLS_KEY_FILE: f('client.key') };
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the three files; without the client certificate or the CA it cannot', async () => {
    await expect(assertRedisReachable(url, files)).resolves.toBeUndefined();
    const c = redisConnection(url, files).client('shared', 'cws:test');
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
    await expect(assertRedisReachable(url, { REDIS_TLS_CA_FILE: files.REDIS_TLS_CA_FILE })).rejects.toThrow(
      /^REDIS_URL: cannot reach Redis at 127\.0\.0\.1:\d+/,
    );
    await expect(assertRedisReachable(url, { REDIS_TLS_CERT_FILE: files.REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: files.REDIS_TLS_KEY_FILE })).rejects.toThrow(
      /^REDIS_URL: cannot reach Redis .*(self[- ]signed|certificate)/i,
    );
  });

  it('names the variable when a file is missing, half a key pair, or TLS files without rediss://', () => {
    const conn = (u: string, env: Record<string, string>) => () => redisConnection(u, env);
    expect(conn(url, { ...files, REDIS_TLS_CA_FILE: f('nope.crt') })).toThrow(ConfigError);
    expect(conn(url, { ...files, REDIS_TLS_CA_FILE: f('nope.crt') })).toThrow(/^REDIS_TLS_CA_FILE: cannot read .*nope\.crt \(ENOENT\)$/);
    expect(conn(url, { REDIS_TLS_CERT_FILE: files.REDIS_TLS_CERT_FILE })).toThrow(/^REDIS_TLS_KEY_FILE: is required with REDIS_TLS_CERT_FILE$/);
    expect(conn(`redis://127.0.0.1:${redis.port}`, files)).toThrow(/^REDIS_TLS_CA_FILE: is for a rediss:\/\/ REDIS_URL/);
  });

  describe('a self-test end to end over TLS (bot and worker read the files from the environment)', () => {
    let h: Harness;
    const saved = { ...process.env };
    beforeAll(async () => {
      Object.assign(process.env, files);
      copyFileSync(join(import.meta.dirname, '../support/fake-agent/security-agent'), f('security-agent'));
      writeFileSync(f('selftest-mode'), 'ok\n');
      const noKill = async (): Promise<never> => {
        throw new Error('not here');
      };
      h = await startHarness({
        clustersYaml: `clusters:\n  tls-a: { kind: host, binary: ${f('security-agent')} }\n`,
        redis: { url, port: redis.port, stop: async () => {}, kill: noKill, restart: noKill },
        minIntervalMs: 100,
      });
    }, 60_000);
    afterAll(async () => {
      await h?.close();
      for (const k of Object.keys(files)) if (!(k in saved)) delete process.env[k];
    });

    it('runs', async () => {
      await h.signer.command('selftest tls-a', { channelId: 'CTLS1' });
      const final = await h.emu.waitFor((e) => finalSelftest(e, 'CTLS1'), { timeoutMs: 20_000 });
      expect(final.metadata?.event_payload).toMatchObject({ ok: 1, total: 1 });
    });
  });
});
