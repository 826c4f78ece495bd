/**
 * A scheduled self-test end to end (issue 19 point 3), two bot replicas and two workers from the
 * start, each run slower (1.5 s per agent) than the ticks (`every 1m` is about a second here): the
 * first result is posted with the failing node named, later runs are silent, the ticks that come
 * while a run is still going are skipped (audited), and no two runs ever overlap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { Queue } from 'bullmq';

const SECRET = 'test-signing-secret-0123456789';
const TOKEN = 'xoxb-test-token';
const OWNER = 'USCHOWN1';
const CH = 'CSCHED01';

const FLEET = `name: sched-st
agent:
  image: "gcr.io/datadoghq/agent:7.50.3"
nodes:
  count: 3
  selftest: { latencyMs: 1500 }
  overrides:
    node-2:
      selftest: { failedTests: [datadog_agent_cws_self_test_rule_chmod] }
`;

const dir = mkdtempSync(join(tmpdir(), 'cws-schedule-st-'));
const kubeconfig = join(dir, 'kubeconfig');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let redis: PrivateRedis;
let sim: Simulator;
let emu: SlackEmulator;
let reader: Redis;
let auditLog: RedisAuditLog;
const bots: Bot[] = [];
const workers: WorkerProcess[] = [];
let signer: SlackSigner;

const clustersYaml = () =>
  `clusters:\n  sc-st: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, selftest: { timeoutMs: 10000 }, access: { run: [${OWNER}] } }\n`;

async function startBot(yaml: string): Promise<{ bot: Bot; signer: SlackSigner }> {
  const bot = createBot({
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
  bots.push(bot);
  return {
    bot,
    signer: new SlackSigner({ secret: SECRET, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: emu.responseUrl('').replace(/\/$/, '') }),
  };
}

async function startWorker(yaml: string): Promise<WorkerProcess> {
  const w = await startWorkers({ clusters: parseClustersFile(yaml, 'test config'), connection: blockingOptions(redis.url), logger });
  workers.push(w);
  return w;
}

async function stopAll(): Promise<void> {
  for (const w of workers.splice(0)) await w.close();
  for (const b of bots.splice(0)) await b.stop();
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
const results = (channel: string) => emu.messages(channel).filter((m) => m.metadata?.event_type === 'cws_selftest_result');
const textOf = (m: SlackMessage) => JSON.stringify(m.blocks ?? []);
const ackText = (r: { json?: unknown; body?: string }) => JSON.stringify(r.json ?? r.body ?? '');

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ fleet: parseFleet(FLEET, 'sched-st') });
  await sim.writeKubeconfig(kubeconfig);
  emu = await SlackEmulator.start({ token: TOKEN });
  reader = new Redis(redis.url, { maxRetriesPerRequest: 2 });
  auditLog = new RedisAuditLog(reader);
  const yaml = clustersYaml();
  ({ signer } = await startBot(yaml));
  await startBot(yaml);
  await startWorker(yaml);
  await startWorker(yaml);
}, 60_000);

afterAll(async () => {
  await stopAll();
  reader?.disconnect();
  await emu?.close();
  await sim?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('/cws schedule selftest with two replicas', () => {
  it('posts the first result naming the failing node, then stays silent; skips the ticks of a run still going; never overlaps', async () => {
    const ack = ackText(await signer.command('schedule selftest sc-st every 1m', { userId: OWNER, channelId: CH }));
    const id = /sc-[0-9a-f]{8}/.exec(ack)?.[0] ?? '';
    expect(id, ack).not.toBe('');

    const first = await emu.waitFor(() => results(CH)[0], { timeoutMs: 30_000 });
    const t = textOf(first);
    expect(t).toContain(`Scheduled self-test \`${id}\``);
    expect(t).toContain('first run');
    expect(t).toContain('node-2');
    const rows = first.metadata!.event_payload.results as { node: string; status: string }[];
    expect(rows.find((r) => r.node === 'node-2')?.status).toBe('failed');
    expect(rows.filter((r) => r.status === 'ok')).toHaveLength(2);

    await until(async () => (await runsOf(id)).length >= 4, 'four finished runs', 60_000);
    expect(results(CH)).toHaveLength(1);
    expect(emu.messages(CH)).toHaveLength(1);

    const entries = (await audit()).filter((e) => e.command.includes(`(scheduled ${id})`));
    const tickEntries = entries.filter((e) => e.command.startsWith('schedule '));
    const ticks = tickEntries.map((e) => /^tick (\S+?):?(\s|$)/.exec(e.detail ?? '')?.[1]);
    expect(ticks.every(Boolean)).toBe(true);
    expect(new Set(ticks).size).toBe(ticks.length); // each tick handled by one replica
    // Runs take longer than a tick: the ticks meanwhile were skipped, saying which run was still going.
    const skipped = tickEntries.filter((e) => e.outcome === 'answered');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped[0]!.detail).toMatch(/skipped, the previous run \(st-[0-9a-f-]+\) is still going/);
    // queued, finished, queued, finished…: a run starts only after the previous one was closed.
    const seq = entries.filter((e) => e.outcome === 'queued' || !e.command.startsWith('schedule '));
    for (let i = 0; i < seq.length; i++)
      if (seq[i]!.outcome === 'queued' && seq[i + 1]) expect(seq[i + 1]!.jobId, `run ${seq[i]!.jobId} overlapped another`).toBe(seq[i]!.jobId);
    const finished = seq.filter((e) => !e.command.startsWith('schedule ')).map((e) => e.jobId);
    expect(new Set(finished).size).toBe(finished.length);

    expect(ackText(await signer.command(`schedule delete ${id}`, { userId: OWNER, channelId: CH }))).toContain('Deleted');
  }, 90_000);
});
