/**
 * The operations endpoints on OPS_PORT (issue 18, point 3), served by real processes of the
 * built bundle as `npm start`, `npm run bot` and `npm run worker` run it: /livez, /readyz (a real
 * write to Redis; for the bot Slack's auth.test done; for a worker its queues consumed) flipping
 * to 503 while Redis is stopped and back after, and /metrics after a self-test, parsed from the
 * Prometheus text format.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../src/sandbox/redis.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { finalSelftest } from '../support/harness.ts';
import { type HostAgent, prepareHostAgent } from '../support/host-agent.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

const ROOT = join(import.meta.dirname, '../..');
const OUT = `.tmp/dist-ops-endpoints-${process.pid}`;
const TOKEN = 'xoxb-ops-endpoints';
const SECRET = 'ops-endpoints-signing-secret';
const dir = mkdtempSync(join(tmpdir(), 'cws-ops-'));
const children: ChildProcess[] = [];
const canKillRedis = !process.env.REDIS_URL;
if (!canKillRedis) console.warn('[ops-endpoints] the /readyz flip is skipped: REDIS_URL is set, so the test cannot stop its Redis');

let redis: PrivateRedis;
let emu: SlackEmulator;
let agent: HostAgent;
let configPath: string;

interface Proc {
  child: ChildProcess;
  ops: string;
  log: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr }),
    );
  });
}

/** `node dist/main.js <role>` from the test's bundle, resolved once its log matches `ready`. */
async function start(role: 'all' | 'bot' | 'worker', env: NodeJS.ProcessEnv, ready: RegExp): Promise<Proc> {
  const opsPort = await freeLoopbackPort();
  const child = spawn(process.execPath, [join(OUT, 'main.js'), role], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      CWS_CONFIG: configPath,
      OPS_PORT: String(opsPort),
      OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SANDBOX: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = (d: Buffer) => ((out += d.toString()), ready.test(out) && resolve());
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exit.then((code) => reject(new Error(`${role} exited (${code}) before it was ready:\n${out.slice(-3000)}`)));
  });
  return { child, ops: `http://127.0.0.1:${opsPort}`, log: () => out, exit };
}

async function get(url: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

/** Polls until `check` is true of the answer; returns that answer. */
async function until(url: string, check: (r: { status: number; body: string }) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last: { status: number; body: string } | undefined;
  while (Date.now() < deadline) {
    last = await get(url).catch((err: Error) => ({ status: 0, body: err.message, type: null }));
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}: no matching answer within ${timeoutMs} ms; last: ${last?.status} ${last?.body}`);
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of the Prometheus text format (exposition 0.0.4). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels` (undefined: none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
}

const metricsOf = async (p: Proc) => {
  const r = await get(`${p.ops}/metrics`);
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(r.body);
};

async function stop(p: Proc): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exit;
}

beforeAll(async () => {
  const built = await run(['scripts/build.mjs', '--outdir', OUT]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
  redis = await startRedis();
  emu = await SlackEmulator.start({ token: TOKEN });
  agent = await prepareHostAgent({ selftest: 'ok' });
  configPath = join(dir, 'cws.yaml');
  writeFileSync(configPath, `clusters:\n  ops-host: { kind: host, binary: ${agent.binary} }\n  ops-other: { kind: host, binary: ${agent.binary} }\n`);
}, 90_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await emu?.close();
  agent?.cleanup();
  await redis?.stop();
  rmSync(join(ROOT, OUT), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('ops endpoints on OPS_PORT (the built bundle)', () => {
  it('npm start and a lone worker: /livez, /readyz, /metrics after a self-test, /readyz 503 while Redis is stopped and 200 after', async () => {
    const port = await freeLoopbackPort();
    const all = await start(
      'all',
      { SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: emu.url, PORT: String(port), WORKER_CLUSTERS: 'ops-host' },
      /bot listening on :\d+/,
    );
    const worker = await start('worker', { WORKER_CLUSTERS: 'ops-other' }, /worker ready/);
    for (const p of [all, worker]) {
      expect(await get(`${p.ops}/livez`)).toMatchObject({ status: 200, body: 'ok\n' });
      await until(`${p.ops}/readyz`, (r) => r.status === 200 && r.body === 'ok\n');
      expect((await get(`${p.ops}/nope`)).status).toBe(404);
    }

    const signer = new SlackSigner({ secret: SECRET, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: emu.responseUrl('').replace(/\/$/, '') });
    emu.failNext('chat.update', { status: 429, retryAfterSec: 1 }); // the notifier waits it out: counted as ratelimited, then ok
    expect((await signer.command('selftest ops-host', { channelId: 'COPS1' })).status).toBe(200);
    const final = await emu.waitFor((e) => finalSelftest(e, 'COPS1'), { timeoutMs: 20_000 });
    expect(final.metadata?.event_payload).toMatchObject({ cluster: 'ops-host', ok: 1 });
    expect((await signer.command('help', { channelId: 'COPS1' })).status).toBe(200);
    expect((await signer.command('no-such-subcommand', { channelId: 'COPS1' })).status).toBe(200);

    // The job is counted once it is closed, right after its final edit: wait for that.
    let m = await metricsOf(all);
    for (let i = 0; i < 50 && value(m, 'cws_jobs_total', { kind: 'selftest', cluster: 'ops-host', outcome: 'ok' }) !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = await metricsOf(all);
    }
    expect(value(m, 'cws_commands_total', { command: 'selftest', outcome: 'queued' })).toBe(1);
    expect(value(m, 'cws_commands_total', { command: 'help', outcome: 'ok' })).toBe(1);
    expect(value(m, 'cws_commands_total', { command: 'invalid', outcome: 'invalid' })).toBe(1);
    expect(value(m, 'cws_jobs_total', { kind: 'selftest', cluster: 'ops-host', outcome: 'ok' })).toBe(1);
    expect(value(m, 'cws_job_duration_seconds_count', { kind: 'selftest', cluster: 'ops-host' })).toBe(1);
    expect(value(m, 'cws_job_duration_seconds_sum', { kind: 'selftest', cluster: 'ops-host' })).toBeGreaterThan(0);
    expect(value(m, 'cws_job_duration_seconds_bucket', { kind: 'selftest', cluster: 'ops-host', le: '+Inf' })).toBe(1);
    // `runtime self-test`, then `status` (readStatus): two execs, both ok.
    expect(value(m, 'cws_agent_execs_total', { cluster: 'ops-host', outcome: 'ok' })).toBe(2);
    expect(value(m, 'cws_slack_api_calls_total', { method: 'chat.postMessage', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'cws_slack_api_calls_total', { method: 'chat.update', outcome: 'ratelimited' })).toBe(1);
    expect(value(m, 'cws_slack_api_calls_total', { method: 'chat.update', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'])
      expect(value(m, 'cws_queue_jobs', { cluster: 'ops-host', state }), state).toEqual(expect.any(Number));
    expect(value(m, 'cws_queue_jobs', { cluster: 'ops-host', state: 'active' })).toBe(0);
    // Each worker is seen by the bot (its own in-process one, and the lone one serving ops-other).
    expect(value(m, 'cws_workers_online', { cluster: 'ops-host' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'cws_workers_online', { cluster: 'ops-other' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);

    // The lone worker: its own queue, no bot counters (their HELP and TYPE only), no exec yet.
    const w = await metricsOf(worker);
    expect(value(w, 'cws_workers_online', { cluster: 'ops-other' })).toBeGreaterThanOrEqual(1);
    expect(w.filter((s) => s.name === 'cws_commands_total' || s.name === 'cws_agent_execs_total')).toEqual([]);

    if (canKillRedis) {
      await redis.kill();
      for (const p of [all, worker]) {
        const down = await until(`${p.ops}/readyz`, (r) => r.status === 503);
        expect(down.body).toMatch(/^redis: /m);
        expect(down.body.trim().split('\n').length).toBeLessThanOrEqual(2);
        expect((await get(`${p.ops}/livez`)).status).toBe(200); // alive all the same: no restart for a Redis outage
      }
      await redis.restart();
      for (const p of [all, worker]) await until(`${p.ops}/readyz`, (r) => r.status === 200, 30_000);
    }

    for (const p of [all, worker]) {
      // On failure, the process's log says which shutdown step it was still waiting for.
      expect(await stop(p), p.log().split('\n').slice(-15).join('\n')).toBe(0);
      expect(p.log()).toMatch(/"msg":"shut down"/);
    }
  }, 120_000);

  it('npm run bot: /readyz is 503 until Slack answers auth.test, then 200', async () => {
    emu.failNext('auth.test', { latencyMs: 4000 }, 2);
    const bot = await start(
      'bot',
      { SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: emu.url, PORT: String(await freeLoopbackPort()) },
      /bot listening on :\d+/,
    );
    const waiting = await get(`${bot.ops}/readyz`);
    expect(waiting.status).toBe(503);
    expect(waiting.body).toBe('slack: auth.test has not succeeded yet\n');
    expect((await get(`${bot.ops}/livez`)).status).toBe(200);
    await until(`${bot.ops}/readyz`, (r) => r.status === 200, 15_000);
    expect(await stop(bot)).toBe(0);
  }, 60_000);

  it('npm start in sandbox mode serves them too, on loopback by default', async () => {
    const sandbox = await start('all', { SANDBOX: '1', SANDBOX_PORT: String(await freeLoopbackPort()), OPS_HOST: '', LOG_LEVEL: 'info' }, /Open http:\/\//);
    expect(sandbox.log()).toMatch(/"host":"127\.0\.0\.1"/);
    expect(await get(`${sandbox.ops}/livez`)).toMatchObject({ status: 200, body: 'ok\n' });
    await until(`${sandbox.ops}/readyz`, (r) => r.status === 200 && r.body === 'ok\n');
    const m = await metricsOf(sandbox);
    expect(value(m, 'cws_workers_online', { cluster: 'demo' })).toBeGreaterThanOrEqual(1);
    expect(await stop(sandbox)).toBe(0);
  }, 60_000);

  it('a bad OPS_PORT or OPS_HOST is one line naming the variable', async () => {
    const main = join(OUT, 'main.js');
    const bad = await run([main, 'worker'], { REDIS_URL: redis.url, CWS_CONFIG: configPath, OPS_PORT: 'ninety' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toBe('cws: configuration error: OPS_PORT: must be a port number (0-65535)\n');
    const far = await run([main, 'worker'], { REDIS_URL: redis.url, CWS_CONFIG: configPath, OPS_PORT: '0', OPS_HOST: '192.0.2.1' });
    expect(far.code).toBe(78);
    expect(far.stderr).toMatch(/^cws: configuration error: OPS_HOST: cannot listen on 192\.0\.2\.1:0 \(EADDRNOTAVAIL\)\n$/);
  }, 60_000);
});
