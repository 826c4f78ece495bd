/**
 * The setup the scheduled-check e2e tests share: a private Redis, the Kubernetes simulator (its
 * kubeconfig written to a temporary directory), the Slack emulator, and as many real bots (with
 * `every 1m` shortened to about a second by their test-only `schedules.minuteMs`) and real workers
 * as a test starts; plus the audit log read back from Redis, `kubectl` against the simulator, and
 * the waits on what a schedule's runs leave behind.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { type Bot, createBot } from '../../src/bot/app.ts';
import { type AuditEntry, RedisAuditLog } from '../../src/bot/state/audit.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';
import { type SlackMessage, SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { BOT_TOKEN, SIGNING_SECRET } from './harness.ts';
import { type PrivateRedis, startRedis } from './redis.ts';

/** The `kubectl` binary on PATH, if any (the tests that patch the DaemonSet skip without it). */
export const kubectlPath = (process.env.PATH ?? '')
  .split(delimiter)
  .map((d) => join(d, 'kubectl'))
  .find((p) => existsSync(p));

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ScheduleRig {
  redis: PrivateRedis;
  sim: Simulator;
  emu: SlackEmulator;
  /** A plain Redis client for reading what bots and workers wrote. */
  reader: Redis;
  /** The simulator's kubeconfig, for the clusters file. */
  kubeconfig: string;
  /** Starts one more bot replica on the rig's Redis and emulator, and the signer of requests to it. */
  startBot(clustersYaml: string): Promise<{ bot: Bot; signer: SlackSigner }>;
  startWorker(clustersYaml: string): Promise<WorkerProcess>;
  /** Stops every worker, then every bot, started so far (Redis, simulator and emulator stay). */
  stopAll(): Promise<void>;
  /** `kubectl` against the simulator (needs `kubectlPath`). */
  kubectl(args: string[]): Promise<KubectlResult>;
  /** The audit log, oldest first. */
  audit(): Promise<AuditEntry[]>;
  /** The audit entries of finished runs of a schedule (written once per job, when its result is closed). */
  runsOf(id: string): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

export interface ScheduleRigOptions {
  /** The simulator's fleet file, and its name in error messages. */
  fleet: string;
  fleetName: string;
}

export async function startScheduleRig(o: ScheduleRigOptions): Promise<ScheduleRig> {
  const dir = mkdtempSync(join(tmpdir(), `cws-${o.fleetName}-`));
  const kubeconfig = join(dir, 'kubeconfig');
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const bots: Bot[] = [];
  const workers: WorkerProcess[] = [];
  const redis = await startRedis();
  const sim = await startSimulator({ fleet: parseFleet(o.fleet, o.fleetName) });
  await sim.writeKubeconfig(kubeconfig);
  const emu = await SlackEmulator.start({ token: BOT_TOKEN });
  const reader = new Redis(redis.url, { maxRetriesPerRequest: 2 });
  const auditLog = new RedisAuditLog(reader);
  const rig: ScheduleRig = {
    redis,
    sim,
    emu,
    reader,
    kubeconfig,
    async startBot(yaml) {
      const bot = createBot({
        botToken: BOT_TOKEN,
        signingSecret: SIGNING_SECRET,
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
      const signer = new SlackSigner({
        secret: SIGNING_SECRET,
        url: `http://127.0.0.1:${port}/slack/events`,
        responseUrlBase: emu.responseUrl('').replace(/\/$/, ''),
      });
      return { bot, signer };
    },
    async startWorker(yaml) {
      const w = await startWorkers({ clusters: parseClustersFile(yaml, 'test config'), connection: blockingOptions(redis.url), logger });
      workers.push(w);
      return w;
    },
    async stopAll() {
      for (const w of workers.splice(0)) await w.close();
      for (const b of bots.splice(0)) await b.stop();
    },
    kubectl(args) {
      return new Promise((resolve) => {
        execFile(
          kubectlPath!,
          ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', ...args],
          { timeout: 20_000, env: { ...process.env, KUBECONFIG: kubeconfig } },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      });
    },
    audit: async () => (await auditLog.recent(5_000)).reverse(),
    runsOf: async (id) => (await rig.audit()).filter((e) => e.command.endsWith(`(scheduled ${id})`) && !e.command.startsWith('schedule ')),
    async close() {
      await rig.stopAll();
      reader.disconnect();
      await emu.close();
      await sim.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Resolves with `fn`'s value once it is truthy (an event in Redis the emulator cannot see). */
export async function until<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once schedule `id` has at least `n` finished runs in the audit log. */
export const runsReached = (rig: ScheduleRig, id: string, n: number, what: string, timeoutMs?: number) =>
  until(async () => (await rig.runsOf(id)).length >= n, what, timeoutMs);

/** `kubectl set env` on the agent's DaemonSet (`NAME=value` sets, `NAME-` removes), in container `container`. */
export const setAgentEnv = (rig: ScheduleRig, container: string, assignment: string) =>
  rig.kubectl(['-n', 'datadog', 'set', 'env', 'ds/datadog-agent', '-c', container, assignment]);

export const textOf = (m: SlackMessage | undefined) => JSON.stringify(m?.blocks ?? []);
export const ackText = (r: { json?: unknown; body?: string }) => JSON.stringify(r.json ?? r.body ?? '');

/**
 * Creates a schedule with a `/cws schedule …` command; `id` is the schedule ID its confirmation
 * names ('' when it names none), `text` the confirmation.
 */
export async function createSchedule(signer: SlackSigner, command: string, userId: string, channelId: string): Promise<{ id: string; text: string }> {
  const text = ackText(await signer.command(command, { userId, channelId }));
  return { id: /sc-[0-9a-f]{8}/.exec(text)?.[0] ?? '', text };
}
