/**
 * No secret from a flare archive in clear anywhere the bot writes (issue 15 points 1 and 7).
 * Secrets of every shape the scan knows are planted in the archives — several per line, in file
 * names, in a long line and in one over the scan's cap, in a binary file, in a PEM block — and the
 * flares go through review, Send and Cancel on a host agent (the fake `security-agent`) and on
 * Kubernetes (the simulator), including the ways reading an archive fails: a `cat` that prints the
 * raw bytes and exits 1 with nothing on stderr, and a file at the path that is not a zip. Then every
 * Slack call the emulator recorded, every Redis key and value of this test's private Redis, and
 * every log line of the bot and the worker (pino at trace, captured) are searched for them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { runCat } from '../../src/sim/coreutils.ts';
import { agentStatusText, delay, untilAborted } from '../../src/sim/exec.ts';
import { runFlare } from '../../src/sim/flare.ts';
import { aborting, BUILDING, CONFIRM_PROMPT, goingToBeUploaded } from '../../src/sim/flare-cli.ts';
import { flareArchivePath } from '../../src/sim/flare-archive.ts';
import { parseFleet, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { PromptReader } from '../../src/sim/stdin-reader.ts';
import { type Bot, createBot } from '../../src/bot/app.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { leaksIn, plantedFlareZip, plantedSecrets } from '../support/fake-agent/planted-secrets.ts';
import { fakeUploads } from '../support/fake-agent/uploads.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../support/harness.ts';
import { type HostAgent, prepareHostAgent } from '../support/host-agent.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';

const S = plantedSecrets();
const planted = plantedFlareZip(S);
const dir = mkdtempSync(join(tmpdir(), 'cws-flare-secrets-'));
// The fake agent writes its archives to $TMPDIR, as the real one does.
process.env.TMPDIR = join(dir, 'archives');

const logLines: string[] = [];
const logger = pino({ level: 'trace' }, new Writable({ write: (c: Buffer, _e, cb) => (logLines.push(c.toString('utf8')), cb()) }));

let redis: PrivateRedis;
let emu: SlackEmulator;
let bot: Bot;
let worker: WorkerProcess;
let signer: SlackSigner;
let sim: Simulator;
let agent: HostAgent;

/** The planted secrets as plain text: what a `cat` that fails would print. */
const plainText = Object.values(S).join(' password=');

beforeAll(async () => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(process.env.TMPDIR!, { recursive: true });
  agent = await prepareHostAgent({ flare: 'ok' });
  writeFileSync(join(agent.dir, 'fixtures', 'flare-clean.zip'), planted);

  sim = await startSimulator({
    fleet: parseFleet('name: leak-k\nnodes:\n  count: 3\n  overrides:\n    node-1: { flare: { secretIn: etc/datadog.yaml } }\n', 'leak fleet'),
  });
  // node-2: what is at the archive's path is not a zip (plain text full of secrets);
  // node-3: `cat` of the archive prints raw bytes and exits 1 with nothing on stderr.
  const hooks = { statusText: agentStatusText, delay, untilAborted };
  sim.state.exec.register({
    containers: ['security-agent'],
    argv: ['security-agent', 'flare'],
    handler: async (ctx) => {
      if (ctx.node !== 'node-2') return runFlare(ctx, hooks);
      const path = flareArchivePath(ctx.state.now(), 'info');
      ctx.stdout.write(BUILDING);
      ctx.state.podFilesByUid(ctx.pod.metadata.uid, ctx.container).write(path, new TextEncoder().encode(plainText));
      ctx.stdout.write(goingToBeUploaded(path));
      ctx.stdout.write(CONFIRM_PROMPT);
      await new PromptReader(ctx.stdin).readLine();
      ctx.stdout.write(aborting(path));
      return 0;
    },
  });
  sim.state.exec.register({
    containers: ['security-agent'],
    argv: ['cat'],
    handler: async (ctx) => {
      if (ctx.node !== 'node-3') return runCat(ctx);
      ctx.stdout.write(new TextEncoder().encode(plainText));
      return 1;
    },
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);

  const clusters = parseClustersFile(
    `clusters:\n  leak-host: { kind: host, binary: ${agent.binary} }\n  leak-k: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName} }\n`,
    'leak test',
  );
  redis = await startRedis();
  emu = await SlackEmulator.start({ token: BOT_TOKEN });
  bot = createBot({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    slackApiUrl: emu.url,
    redisUrl: redis.url,
    clusters,
    logger,
    jobPolicy: { attempts: 2, backoffMs: 200 },
    notifier: { minIntervalMs: 100, baseBackoffMs: 50 },
    reconcileIntervalMs: 2_000,
  });
  const port = (await bot.start(0))!;
  signer = new SlackSigner({ secret: SIGNING_SECRET, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: emu.responseUrl('').replace(/\/$/, '') });
  worker = await startWorkers({ clusters, connection: blockingOptions(redis.url), logger });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await bot?.stop();
  await emu?.close();
  await redis?.stop();
  await sim?.close();
  agent?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

type Payload = Record<string, unknown> & { stage: string; jobId: string; findings: number; notScanned?: number };
const flareIn = (c: string, stage: string) => () =>
  emu.messages(c).find((m) => m.metadata?.event_type === 'cws_flare_result' && (m.metadata.event_payload as Payload).stage === stage);

/** Every string of the test's Redis: keys, and values read by type (plus DUMP, which may be LZF-compressed). */
async function redisText(): Promise<string> {
  const r = new Redis(redis.url);
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      out.push(k);
      const type = await r.type(k);
      if (type === 'string') out.push((await r.get(k)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await r.hgetall(k)));
      else if (type === 'list') out.push(JSON.stringify(await r.lrange(k, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await r.smembers(k)));
      else if (type === 'zset') out.push(JSON.stringify(await r.zrange(k, '0', '-1', 'WITHSCORES')));
      else if (type === 'stream') out.push(JSON.stringify(await r.xrange(k, '-', '+')));
      const dumped = await r.dumpBuffer(k);
      if (dumped) out.push(dumped.toString('latin1'));
    }
  } while (cursor !== '0');
  r.disconnect();
  return out.join('\n');
}

describe('secrets planted in flare archives', { timeout: 120_000 }, () => {
  it('a host flare: the review flags them masked, names what it could not scan; Send uploads the archive', async () => {
    await signer.command('flare leak-host 1234567 --email ops@example.com', { channelId: 'CLEAK1', userId: 'ULEAK001' });
    const review = await emu.waitFor(flareIn('CLEAK1', 'review'), { timeoutMs: 30_000 });
    const p = review.metadata!.event_payload as Payload;
    // datadog.yaml (api, app, url), log lines 1–3 (3 + 5 + 1), envvars (5), credentials.json (4),
    // secrets.yaml, the PEM block, the file name, the binary's token.
    expect(p.findings).toBeGreaterThanOrEqual(20);
    expect(p.notScanned).toBe(2);
    const text = JSON.stringify(review.blocks);
    expect(text).toContain('possible secrets');
    expect(text).toContain('ghp_****************.log');
    expect(text).toContain('line 4 is over 1 MiB, so it was not scanned');
    expect(text).toMatch(/core\.bin.*binary \(NUL bytes\)/);
    await signer.action({ actionId: 'flare.send', value: p.jobId, userId: 'ULEAK001', channelId: 'CLEAK1', messageTs: review.ts });
    await emu.waitFor(flareIn('CLEAK1', 'sent'), { timeoutMs: 30_000 });
    // The agent uploaded the planted archive (what support receives is the requester's decision).
    const ups = fakeUploads(agent.dir);
    expect(ups).toHaveLength(1);
    expect(ups[0]!.bytes.equals(planted)).toBe(true);
  });

  it('a host flare cancelled', async () => {
    await signer.command('flare leak-host 42 --email ops@example.com', { channelId: 'CLEAK2', userId: 'ULEAK001' });
    const review = await emu.waitFor(flareIn('CLEAK2', 'review'), { timeoutMs: 30_000 });
    await signer.action({
      actionId: 'flare.cancel',
      value: (review.metadata!.event_payload as Payload).jobId,
      userId: 'ULEAK001',
      channelId: 'CLEAK2',
      messageTs: review.ts,
    });
    await emu.waitFor(flareIn('CLEAK2', 'cancelled'), { timeoutMs: 30_000 });
  });

  it('Kubernetes: a key the scrubber missed (secretIn), reviewed and cancelled', async () => {
    await signer.command('flare leak-k --node node-1 7 --email ops@example.com', { channelId: 'CLEAK3', userId: 'ULEAK001' });
    const review = await emu.waitFor(flareIn('CLEAK3', 'review'), { timeoutMs: 30_000 });
    expect((review.metadata!.event_payload as Payload).findings).toBe(2);
    await signer.action({
      actionId: 'flare.cancel',
      value: (review.metadata!.event_payload as Payload).jobId,
      userId: 'ULEAK001',
      channelId: 'CLEAK3',
      messageTs: review.ts,
    });
    await emu.waitFor(flareIn('CLEAK3', 'cancelled'), { timeoutMs: 30_000 });
  });

  it('Kubernetes: a file at the path that is not a zip, and a cat that prints raw bytes and fails, quote nothing of them', async () => {
    await signer.command('flare leak-k --node node-2 8 --email ops@example.com', { channelId: 'CLEAK4', userId: 'ULEAK001' });
    const notZip = await emu.waitFor(flareIn('CLEAK4', 'failed'), { timeoutMs: 30_000 });
    expect(JSON.stringify(notZip.blocks)).toContain('not a readable zip');
    await signer.command('flare leak-k --node node-3 9 --email ops@example.com', { channelId: 'CLEAK5', userId: 'ULEAK001' });
    const catFailed = await emu.waitFor(flareIn('CLEAK5', 'failed'), { timeoutMs: 30_000 });
    expect(JSON.stringify(catFailed.blocks)).toMatch(/could not read \S+ on the agent \(exit code 1\): no error message/);
  });

  it('none of them is in clear in any Slack call, Redis key or value, or log line', async () => {
    const slack = JSON.stringify(emu.calls);
    expect(emu.calls.length).toBeGreaterThan(10);
    const stored = await redisText();
    expect(stored).toContain('cws:audit');
    const logs = logLines.join('');
    expect(logLines.length).toBeGreaterThan(20);
    expect({ slack: leaksIn(slack, S), redis: leaksIn(stored, S), logs: leaksIn(logs, S) }).toEqual({ slack: [], redis: [], logs: [] });
    // the simulator's own keys (secretIn) as well
    for (const k of ['4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99', '9d8c7b6a5f4e3d2c1b0a99887766554433221100'])
      for (const [where, text] of Object.entries({ slack, stored, logs })) expect(text.includes(k.slice(4)), `${where} holds the simulator's key`).toBe(false);
  });
});
