/**
 * The bundle that `npm start`, `npm run worker` and `npm run sim` run (scripts/build.mjs):
 * built here into its own folder, then the simulator and a worker run from it as processes
 * and a cluster self-test goes through them end to end (enqueued by the operator CLI).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../src/sandbox/redis.ts';
import { SlackSigner, signSlackRequest } from '../../src/sandbox/signer.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { finalSelftest } from '../support/harness.ts';
import { prepareHostAgent } from '../support/host-agent.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';
import { startWorkerProcess } from '../support/worker-process.ts';

const ROOT = join(import.meta.dirname, '../..');
const OUT = `.tmp/dist-test-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'cws-bundle-'));
const children: ChildProcess[] = [];
let redis: PrivateRedis;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr }),
    );
  });
}

function startSim(fleet: string, kubeconfig: string): Promise<void> {
  const child = spawn(process.execPath, [join(OUT, 'sim.js'), '--fleet', fleet, '--kubeconfig', kubeconfig], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/kubeconfig: .*\n/.test(out)) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`bundled simulator exited (${code}):\n${out}`)));
  });
}

beforeAll(async () => {
  const built = await run(['scripts/build.mjs', '--outdir', OUT]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
  redis = await startRedis();
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
  rmSync(join(ROOT, OUT), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('the bundle (npm start / npm run worker / npm run sim)', () => {
  it('runs the simulator and a worker from plain JavaScript, and a cluster self-test goes through them', async () => {
    const kubeconfig = join(dir, 'small.kubeconfig');
    await startSim('test/fixtures/fleets/small.yaml', kubeconfig);
    const configPath = join(dir, 'cws.yaml');
    writeFileSync(configPath, `clusters:\n  small: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: small }\n`);
    children.push(
      await startWorkerProcess({
        redisUrl: redis.url,
        configPath,
        built: join(OUT, 'main.js'),
        nodeArgs: ['--max-semi-space-size=4', '--max-old-space-size=192'],
      }),
    );

    const r = await run([join(ROOT, 'bin/cws.mjs'), 'selftest', 'small', '--json'], { REDIS_URL: redis.url, CWS_CONFIG: configPath });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cluster: 'small', total: 3, ok: 3, failed: 0 });
  });

  it('npm start with Slack credentials runs bot and worker against Slack, and serves no sandbox', async () => {
    const agent = await prepareHostAgent({ selftest: 'ok' });
    const emu = await SlackEmulator.start({ token: 'xoxb-bundle' });
    try {
      const configPath = join(dir, 'real.yaml');
      writeFileSync(configPath, `clusters:\n  real-host: { kind: host, binary: ${agent.binary} }\n`);
      const [port, sandboxPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
      const env = {
        ...process.env,
        SLACK_BOT_TOKEN: 'xoxb-bundle',
        SLACK_SIGNING_SECRET: 'bundle-secret',
        SLACK_API_URL: emu.url,
        PORT: String(port),
        SANDBOX_PORT: String(sandboxPort),
        REDIS_URL: redis.url,
        CWS_CONFIG: configPath,
        LOG_LEVEL: 'info',
      };
      const child = spawn(process.execPath, [join(OUT, 'main.js'), 'all'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const check = (d: Buffer) => ((out += d.toString()), /bot listening on :\d+/.test(out) && resolve());
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${out}`)));
      });
      const signer = new SlackSigner({
        secret: 'bundle-secret',
        url: `http://127.0.0.1:${port}/slack/events`,
        responseUrlBase: emu.responseUrl('').replace(/\/$/, ''),
      });
      // Malformed bodies, validly signed or not: each answered with a 4xx, and the process stays up.
      const now = () => Math.floor(Date.now() / 1000);
      const send = (body: string, type = 'application/x-www-form-urlencoded', ts = now()) =>
        signer.raw(body, { ...signSlackRequest('bundle-secret', body, ts), 'content-type': type });
      const hostile: [string, string | undefined, number][] = [
        ['payload=null', undefined, 400],
        ['null', 'application/json', 400],
        ['payload=%7B', undefined, 400],
        ['payload=%5B%5D', undefined, 400],
        ['{"a":1}', 'application/json', 400],
        ['text=hi', undefined, 400],
        ['x'.repeat(2 * 1024 * 1024), undefined, 413],
      ];
      for (const [body, type, status] of hostile) expect((await send(body, type)).status, body.slice(0, 40)).toBe(status);
      // Signed five minutes and more in the future, or unsigned: refused.
      expect((await send('command=%2Fcws&text=help', undefined, now() + 400)).status).toBe(401);
      expect((await signer.raw('command=%2Fcws&text=help', {})).status).toBe(401);
      // A replay of the same signed command runs once; a Slack retry is acknowledged, not run.
      const body = new URLSearchParams({
        command: '/cws',
        text: 'selftest real-host',
        channel_id: 'CBUNDLE2',
        user_id: 'U0REPLAY',
        response_url: emu.responseUrl('replay'),
        trigger_id: '1.2.3',
      }).toString();
      const headers = { ...signSlackRequest('bundle-secret', body), 'content-type': 'application/x-www-form-urlencoded' };
      expect((await signer.raw(body, headers)).status).toBe(200);
      expect((await signer.raw(body, headers)).status).toBe(200);
      expect((await signer.raw(body, { ...headers, 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
      await emu.waitFor((e) => finalSelftest(e, 'CBUNDLE2'));

      expect((await signer.command('selftest real-host', { channelId: 'CBUNDLE1' })).status).toBe(200);
      const final = await emu.waitFor((e) => finalSelftest(e, 'CBUNDLE1'));
      expect(final.metadata?.event_payload).toMatchObject({ cluster: 'real-host', ok: 1 });
      expect(emu.messages('CBUNDLE2').filter((m) => m.metadata?.event_type === 'cws_selftest_result')).toHaveLength(1);
      expect(child.exitCode).toBeNull();
      await expect(fetch(`http://127.0.0.1:${sandboxPort}/`)).rejects.toThrow(); // nothing listens there
      child.kill('SIGTERM');
      expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    } finally {
      await emu.close();
      agent.cleanup();
    }
  });

  it('loads Bolt, client-node and dockerode only when a role or a cluster kind needs them', () => {
    // The entry and the chunks it imports statically are what every process loads at start.
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(join(ROOT, OUT, file), 'utf8');
      for (const m of code.matchAll(/^import\s(?:[^'"]*?\sfrom\s)?["']([^"']+)["'];?$/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('./')) visit(spec.slice(2));
        else packages.add(spec);
      }
    };
    visit('main.js');
    expect(packages).toContain('ioredis');
    for (const heavy of ['@slack/bolt', '@slack/web-api', '@kubernetes/client-node', 'dockerode', 'bullmq']) expect(packages).not.toContain(heavy);
  });
});
