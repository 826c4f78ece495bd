/**
 * A scheduled self-test that speaks only on change, end to end (issue 19 point 3): the real bot
 * (`every 1m` shortened to about a second by its test-only `schedules.minuteMs`), the real worker,
 * the Slack emulator and the Kubernetes simulator, whose self-test answers follow each pod's
 * system-probe configuration (src/sim/selftest-config.ts; SOURCES.md §6). The DaemonSet is patched
 * with real `kubectl set env`: `DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED=false` on system-probe
 * makes the new pods answer "self-tests are disabled", and the schedule posts which nodes changed —
 * not node-3, whose system-probe runs without the runtime module from the start (its client's dial
 * error is the same before and after) — then posts again when the env var is removed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/bot/app.ts';
import { type AuditEntry, RedisAuditLog } from '../../src/bot/state/audit.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';
import { type SlackMessage, SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

const SECRET = 'test-signing-secret-0123456789';
const TOKEN = 'xoxb-test-token';
const OWNER = 'USCHGOWN';
const CH = 'CSCHGST1';
const ENV = 'DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED';

const kubectlPath = (process.env.PATH ?? '')
  .split(delimiter)
  .map((d) => join(d, 'kubectl'))
  .find((p) => existsSync(p));

const FLEET = `name: sched-stc
agent:
  image: "gcr.io/datadoghq/agent:7.50.3"
nodes:
  count: 3
  selftest: { latencyMs: 100 }
  overrides:
    node-3:
      agent: { containers: { system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "false" } } } }
`;

const dir = mkdtempSync(join(tmpdir(), 'cws-schedule-stc-'));
const kubeconfig = join(dir, 'kubeconfig');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let redis: PrivateRedis;
let sim: Simulator;
let emu: SlackEmulator;
let reader: Redis;
let auditLog: RedisAuditLog;
let bot: Bot | undefined;
let worker: WorkerProcess | undefined;
let signer: SlackSigner;
let scheduleId = '';

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      kubectlPath!,
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', ...args],
      { timeout: 20_000, env: { ...process.env, KUBECONFIG: kubeconfig } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Oldest first. */
const audit = async (): Promise<AuditEntry[]> => (await auditLog.recent(5_000)).reverse();
/** The audit entries of finished runs of a schedule (written once per job, when its result is closed). */
const runsOf = async (id: string) => (await audit()).filter((e) => e.command.endsWith(`(scheduled ${id})`) && !e.command.startsWith('schedule '));
/** Resolves with `fn`'s value once it is truthy (an event in Redis the emulator cannot see). */
async function until<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const results = () => emu.messages(CH).filter((m) => m.metadata?.event_type === 'cws_selftest_result');
const textOf = (m: SlackMessage) => JSON.stringify(m.blocks ?? []);
const ackText = (r: { json?: unknown; body?: string }) => JSON.stringify(r.json ?? r.body ?? '');
type Row = { node: string; status: string; message?: string };
const rowsOf = (m: SlackMessage) => m.metadata!.event_payload.results as Row[];
const statusOf = (m: SlackMessage) => Object.fromEntries(rowsOf(m).map((r) => [r.node, r.status]));

/**
 * The change messages posted from result index `from` on, until one reports `want` for every node.
 * A run under way while the DaemonSet rolls may see part of the fleet old and part new; then the
 * change arrives in two messages. Every message in between must be a change message.
 */
async function changesUntil(from: number, want: Record<string, string>): Promise<SlackMessage[]> {
  const done = await emu.waitFor(
    () =>
      results()
        .slice(from)
        .find((m) => Object.entries(want).every(([n, s]) => statusOf(m)[n] === s)),
    { timeoutMs: 30_000 },
  );
  return results().slice(from, results().indexOf(done) + 1);
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ fleet: parseFleet(FLEET, 'sched-stc') });
  await sim.writeKubeconfig(kubeconfig);
  emu = await SlackEmulator.start({ token: TOKEN });
  reader = new Redis(redis.url, { maxRetriesPerRequest: 2 });
  auditLog = new RedisAuditLog(reader);
  const yaml = `clusters:\n  sc-stc: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, selftest: { timeoutMs: 10000 }, access: { run: [${OWNER}] } }\n`;
  bot = createBot({
    botToken: TOKEN,
    signingSecret: SECRET,
    slackApiUrl: emu.url,
    redisUrl: redis.url,
    clusters: parseClustersFile(yaml, 'test config'),
    logger,
    jobPolicy: { attempts: 1, backoffMs: 100 },
    notifier: { minIntervalMs: 100, baseBackoffMs: 50 },
    reconcileIntervalMs: 1_000,
    schedules: { minuteMs: 1_000 },
  });
  const port = (await bot.start(0))!;
  signer = new SlackSigner({ secret: SECRET, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: emu.responseUrl('').replace(/\/$/, '') });
  worker = await startWorkers({ clusters: parseClustersFile(yaml, 'test config'), connection: blockingOptions(redis.url), logger });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await bot?.stop();
  reader?.disconnect();
  await emu?.close();
  await sim?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!kubectlPath)('/cws schedule selftest: a change in the agent’s configuration', () => {
  it('posts the first result, then nothing while every node answers the same', async () => {
    const ack = ackText(await signer.command('schedule selftest sc-stc every 1m', { userId: OWNER, channelId: CH }));
    scheduleId = /sc-[0-9a-f]{8}/.exec(ack)?.[0] ?? '';
    expect(scheduleId, ack).not.toBe('');

    const first = await emu.waitFor(() => results()[0], { timeoutMs: 30_000 });
    expect(textOf(first)).toContain(`Scheduled self-test \`${scheduleId}\``);
    expect(textOf(first)).toContain('first run');
    expect(statusOf(first)).toEqual({ 'node-1': 'ok', 'node-2': 'ok', 'node-3': 'error' });
    // node-3's system-probe has no runtime module: its client cannot dial the socket.
    expect(rowsOf(first).find((r) => r.node === 'node-3')?.message).toContain('system-probe unreachable');

    await until(async () => (await runsOf(scheduleId)).length >= 3, 'three finished runs');
    expect(results()).toHaveLength(1);
    expect(emu.messages(CH)).toHaveLength(1);
  }, 60_000);

  it('after `kubectl set env … -c system-probe DD_RUNTIME_SECURITY_CONFIG_SELF_TEST_ENABLED=false`, posts the nodes whose verdict changed', async () => {
    const patched = await kubectl(['-n', 'datadog', 'set', 'env', 'ds/datadog-agent', '-c', 'system-probe', `${ENV}=false`]);
    expect(patched.code, patched.stderr).toBe(0);
    expect(patched.stdout).toContain('daemonset.apps/datadog-agent env updated');
    const rollout = await kubectl(['-n', 'datadog', 'rollout', 'status', 'ds/datadog-agent', '--timeout=20s']);
    expect(rollout.code, rollout.stderr).toBe(0);

    const changes = await changesUntil(1, { 'node-1': 'error', 'node-2': 'error', 'node-3': 'error' });
    const all = changes.map(textOf).join('\n');
    for (const c of changes) expect(textOf(c)).toContain('*changed* since');
    expect(all).toContain('`node-1`: ok → error');
    expect(all).toContain('`node-2`: ok → error');
    expect(all).not.toContain('`node-3`:');
    const last = changes.at(-1)!;
    for (const node of ['node-1', 'node-2']) expect(rowsOf(last).find((r) => r.node === node)?.message).toContain('self-tests are disabled');
    expect(textOf(last)).toContain(`/archives/${CH}/p`);
  }, 60_000);

  it('stays silent while the patch stays, and posts again when the env var is removed', async () => {
    const posted = results().length;
    const before = (await runsOf(scheduleId)).length;
    await until(async () => (await runsOf(scheduleId)).length >= before + 2, 'two more runs');
    expect(results()).toHaveLength(posted);

    const reverted = await kubectl(['-n', 'datadog', 'set', 'env', 'ds/datadog-agent', '-c', 'system-probe', `${ENV}-`]);
    expect(reverted.code, reverted.stderr).toBe(0);
    const changes = await changesUntil(posted, { 'node-1': 'ok', 'node-2': 'ok', 'node-3': 'error' });
    const all = changes.map(textOf).join('\n');
    expect(all).toContain('`node-1`: error → ok');
    expect(all).toContain('`node-2`: error → ok');
    expect(all).not.toContain('`node-3`:');

    expect(ackText(await signer.command(`schedule delete ${scheduleId}`, { userId: OWNER, channelId: CH }))).toContain('Deleted');
  }, 60_000);
});
