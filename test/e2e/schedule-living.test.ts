/**
 * A scheduled result that is also a living message, end to end (the real bot with `every 1m`
 * shortened to about a second, the real worker, the Slack emulator, the Kubernetes simulator):
 * unchanged runs edit a "Last checked" line onto the posted self-test result, and a restart
 * clicked on that result replaces its button with the outcome. Both stay, whichever edit comes
 * last: the restart's edits keep the line, and the unchanged runs after it keep the outcome.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/bot/app.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';
import { type SlackMessage, SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { click, type Harness } from '../support/harness.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

const SECRET = 'test-signing-secret-0123456789';
const TOKEN = 'xoxb-test-token';
const OWNER = 'USCHLIV1';
const CH = 'CSCHLIV1';

// node-2 fails its self-test whatever its pod: a restart does not change the outcome, so the runs after it stay unchanged.
const FLEET = `name: sched-live
agent:
  image: "gcr.io/datadoghq/agent:7.50.3"
nodes:
  count: 3
  overrides:
    node-2:
      selftest: { failedTests: [datadog_agent_cws_self_test_rule_chmod] }
`;

const dir = mkdtempSync(join(tmpdir(), 'cws-schedule-live-'));
const kubeconfig = join(dir, 'kubeconfig');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let redis: PrivateRedis;
let sim: Simulator;
let emu: SlackEmulator;
let bot: Bot | undefined;
let worker: WorkerProcess | undefined;
let signer: SlackSigner;

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ fleet: parseFleet(FLEET, 'sched-live') });
  await sim.writeKubeconfig(kubeconfig);
  emu = await SlackEmulator.start({ token: TOKEN });
  const yaml = `clusters:\n  sc-live: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName}, selftest: { timeoutMs: 10000 }, access: { run: [${OWNER}], remediate: [${OWNER}] } }\n`;
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
  await emu?.close();
  await sim?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const results = () => emu.messages(CH).filter((m) => m.metadata?.event_type === 'cws_selftest_result' && !m.thread_ts);
const textOf = (m: SlackMessage | undefined) => JSON.stringify(m?.blocks ?? []);
const lastChecked = (t: string) => /Last checked <!date\^(\d+)/.exec(t)?.[1];

describe('/cws schedule selftest: the posted result is a living message', () => {
  it('its "Last checked" line and a restart’s outcome both stay, whichever edit comes last', async () => {
    const ack = await signer.command('schedule selftest sc-live every 1m', { userId: OWNER, channelId: CH });
    const id = /sc-[0-9a-f]{8}/.exec(JSON.stringify(ack.json ?? ack.body ?? ''))?.[0];
    expect(id).toBeDefined();
    const first = await emu.waitFor(() => results()[0], { timeoutMs: 30_000 });
    const now = () => emu.message(CH, first.ts)!;
    // Unchanged runs: the line is edited in.
    await emu.waitFor(() => lastChecked(textOf(now())), { timeoutMs: 30_000 });

    // A restart from the result's button: its edits (under way, then done) keep the line.
    await click({ signer, emu } as unknown as Harness, now(), 'Restart agent on node-2', OWNER);
    await emu.waitFor(() => /Agent on \*node-2\* restarted by <@USCHLIV1>/.test(textOf(now())) || undefined, { timeoutMs: 30_000 });
    expect(lastChecked(textOf(now()))).toBeDefined();
    expect(textOf(now())).not.toContain('Restart agent on node-2');

    // The runs after it, unchanged: the line moves on (a later date), the restart's outcome stays.
    const at = lastChecked(textOf(now()))!;
    await emu.waitFor(() => (Number(lastChecked(textOf(now())) ?? 0) > Number(at) ? true : undefined), { timeoutMs: 30_000 });
    const t = textOf(now());
    expect(t).toMatch(/Agent on \*node-2\* restarted by <@USCHLIV1>/);
    expect(t).toContain('Re-run self-test on node-2');
    expect(t).toContain('first run'); // the schedule's notice
    expect(t.match(/Last checked/g)).toHaveLength(1);
    // Still one result in the channel (the restart's own result is in the thread).
    expect(results()).toHaveLength(1);

    expect(JSON.stringify((await signer.command(`schedule delete ${id}`, { userId: OWNER, channelId: CH })).json)).toContain('Deleted');
  }, 90_000);
});
