/**
 * Graceful shutdown (issue 18, point 3): `npm start` (the built bundle, bot and worker in one
 * process) gets SIGTERM while a self-test runs in a slow agent. It stops taking work, finishes
 * the running exec — or, when it outlasts the grace, hands the job back to the queue — and exits
 * 0 within 25 s; the result is then posted exactly once, by the same process before it exits or
 * by the replica that takes over.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const OUT = `.tmp/dist-ops-shutdown-${process.pid}`;
const TOKEN = 'xoxb-ops-shutdown';
const SECRET = 'ops-shutdown-signing-secret';
const dir = mkdtempSync(join(tmpdir(), 'cws-ops-shutdown-'));
const children: ChildProcess[] = [];

let redis: PrivateRedis;
let emu: SlackEmulator;
let agent: HostAgent;
let configPath: string;
/** The slow agent: `runtime self-test` waits `delay` seconds (re-read every 0.2 s; 0 ends the wait), after touching `started`. */
let slow: { binary: string; delay(seconds: number): void; started: string };

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 60_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stderr }),
    );
  });
}

interface Proc {
  child: ChildProcess;
  port: number;
  ops: string;
  log: () => string;
  exit: Promise<number | null>;
}

/** `node dist/main.js all` with Slack credentials (bot and worker in one process, as `npm start` runs them). */
async function startAll(): Promise<Proc> {
  const [port, opsPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const child = spawn(process.execPath, [join(OUT, 'main.js'), 'all'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      CWS_CONFIG: configPath,
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: emu.url,
      PORT: String(port),
      OPS_PORT: String(opsPort),
      OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = (d: Buffer) => ((out += d.toString()), /bot listening on :\d+/.test(out) && resolve());
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exit.then((code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${out.slice(-3000)}`)));
  });
  return { child, port, ops: `http://127.0.0.1:${opsPort}`, log: () => out, exit };
}

const signerFor = (p: Proc) =>
  new SlackSigner({ secret: SECRET, url: `http://127.0.0.1:${p.port}/slack/events`, responseUrlBase: emu.responseUrl('').replace(/\/$/, '') });

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const finals = (channel: string) => emu.messages(channel).filter((m) => m.metadata?.event_type === 'cws_selftest_result');

beforeAll(async () => {
  const built = await run(['scripts/build.mjs', '--outdir', OUT]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
  redis = await startRedis();
  emu = await SlackEmulator.start({ token: TOKEN });
  agent = await prepareHostAgent({ selftest: 'ok' });
  // Named security-agent, in its own folder: the host target runs argv[0] from the configured binary's folder.
  mkdirSync(join(dir, 'slow'));
  const binary = join(dir, 'slow', 'security-agent');
  const started = join(dir, 'slow', 'started');
  const delayFile = join(dir, 'slow', 'delay');
  writeFileSync(
    binary,
    [
      '#!/bin/sh',
      `if [ "$1" = runtime ]; then`,
      `  echo $$ >> '${started}'`,
      `  end=$(( $(date +%s) + $(cat '${delayFile}') ))`,
      `  while [ "$(date +%s)" -lt "$end" ] && [ "$(cat '${delayFile}')" != 0 ]; do sleep 0.2; done`,
      'fi',
      `exec '${agent.binary}' "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(binary, 0o755);
  slow = { binary, started, delay: (s) => writeFileSync(delayFile, `${s}\n`) };
  configPath = join(dir, 'cws.yaml');
  writeFileSync(configPath, `clusters:\n  slow-host: { kind: host, binary: ${binary} }\n`);
}, 90_000);

afterAll(async () => {
  slow?.delay(0);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await emu?.close();
  agent?.cleanup();
  await redis?.stop();
  rmSync(join(ROOT, OUT), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/**
 * SIGTERM once the agent's exec has started; returns how long the process took to exit, and its
 * code. /readyz answers 503 "shutting down" while it drains.
 */
async function terminateDuringExec(p: Proc, channel: string): Promise<{ code: number | null; ms: number }> {
  rmSync(slow.started, { force: true });
  expect((await signerFor(p).command('selftest slow-host', { channelId: channel })).status).toBe(200);
  await waitFor(() => existsSync(slow.started), 'the exec to start').catch((err: Error) => {
    throw new Error(`${err.message}; the process logged:\n${p.log().slice(-3000)}`);
  });
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  await waitFor(() => p.log().includes('shutting down'), 'the shutdown to begin', 5000);
  const ready = await fetch(`${p.ops}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.text()).toMatch(/^shutting down$/m);
  const code = await p.exit;
  return { code, ms: Date.now() - t0 };
}

describe('SIGTERM during a self-test (npm start, the built bundle)', () => {
  it('waits for the running exec, exits 0, and the result is posted exactly once', async () => {
    slow.delay(3);
    const first = await startAll();
    const { code, ms } = await terminateDuringExec(first, 'CSTOP1');
    expect(code).toBe(0);
    expect(ms).toBeGreaterThan(1000); // it waited for the exec
    expect(ms).toBeLessThan(25_000);
    // The agent's job, and the fan-out's parent when the signal comes before it waits for its child.
    expect(first.log()).toMatch(/worker: no longer taking jobs; waiting for [12] running/);
    expect(first.log()).toMatch(/worker: every running job finished/);
    expect(first.log()).toMatch(/"msg":"shut down"/);
    expect(first.log()).not.toMatch(/handed back/);
    // The agent's part is done; the fan-out's parent (which writes the summary) runs on the next
    // worker to take it: a replica started now posts the result, once.
    const posted = finals('CSTOP1').length;
    const next = await startAll();
    await emu.waitFor(() => finals('CSTOP1').length > 0 || undefined, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate, if any were coming
    expect(finals('CSTOP1')).toHaveLength(1);
    expect(finals('CSTOP1')[0]!.metadata?.event_payload).toMatchObject({ cluster: 'slow-host', ok: 1, total: 1 });
    console.info(`[ops-shutdown] the result was posted by ${posted ? 'the stopping process' : 'the next replica'}`);
    next.child.kill('SIGTERM');
    expect(await next.exit).toBe(0);
  }, 90_000);

  it('hands back an exec that outlasts the grace, exits 0 within 25 s, and another replica posts the result once', async () => {
    slow.delay(300);
    const first = await startAll();
    const { code, ms } = await terminateDuringExec(first, 'CSTOP2');
    expect(code).toBe(0);
    expect(ms).toBeGreaterThan(17_000); // HAND_BACK_AFTER_MS
    expect(ms).toBeLessThan(25_000);
    expect(first.log()).toMatch(/worker: 1 jobs still running after 18000 ms were handed back to the queue/);
    expect(finals('CSTOP2')).toHaveLength(0);

    slow.delay(0); // the next attempt (and the stopped process's orphaned exec) ends at once
    const next = await startAll();
    await emu.waitFor(() => finals('CSTOP2').length > 0 || undefined, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(finals('CSTOP2')).toHaveLength(1);
    expect(finals('CSTOP2')[0]!.metadata?.event_payload).toMatchObject({ cluster: 'slow-host', ok: 1, total: 1 });
    // One message in the channel: the job's, edited to its result (nothing posted twice).
    expect(emu.messages('CSTOP2').filter((m) => !m.thread_ts)).toHaveLength(1);
    next.child.kill('SIGTERM');
    expect(await next.exit).toBe(0);
  }, 120_000);
});
