/**
 * Redis connections per process, counted with CLIENT LIST for 1 and 20 served clusters: a
 * worker holds one shared client plus one blocking connection per cluster's BullMQ Worker
 * (before: 4 per cluster); the bot one fail-fast client plus one per cluster's QueueEvents, and
 * two for the BullMQ Worker of schedule ticks (its client and its blocking connection).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/bot/app.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { startWorkers } from '../../workers/main.ts';
import { missing, until } from '../support/redis-topologies.ts';

const why = missing('redis-server');
if (why && process.env.CI) throw new Error(`[redis-connections] required in CI: ${why}`);
if (why) console.warn(`[redis-connections] skipped: ${why}`);
const suite = why ? describe.skip : describe;

const TOKEN = 'xoxb-connections-test';
const dir = mkdtempSync(join(tmpdir(), 'cws-conns-'));
let redis: PrivateRedis;
let probe: Redis;
let emu: SlackEmulator;

/** Connections other than the probe's. */
async function connections(): Promise<string[]> {
  const list = String(await probe.client('LIST'));
  return list
    .trim()
    .split('\n')
    .filter((l) => !/ name=probe /.test(l));
}

suite('Redis connections per process', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
    probe = new Redis(redis.url, { connectionName: 'probe' });
    emu = await SlackEmulator.start({ token: TOKEN });
    copyFileSync(join(import.meta.dirname, '../support/fake-agent/security-agent'), join(dir, 'security-agent'));
    writeFileSync(join(dir, 'selftest-mode'), 'ok\n');
  });
  afterAll(async () => {
    probe?.disconnect();
    await emu?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([1, 20])(
    '%i clusters: the worker holds clusters + 1, the bot clusters + 3',
    async (n) => {
      const yaml = `clusters:\n${Array.from({ length: n }, (_, i) => `  c${i}: { kind: host, binary: ${join(dir, 'security-agent')} }`).join('\n')}\n`;
      const clusters = parseClustersFile(yaml, 'test config');
      const before = (await connections()).length;
      const worker = await startWorkers({ clusters, connection: blockingOptions(redis.url), logger: pino({ level: 'silent' }) });
      const bot = createBot({
        botToken: TOKEN,
        signingSecret: 'connections-secret',
        slackApiUrl: emu.url,
        redisUrl: redis.url,
        clusters,
        logger: pino({ level: 'silent' }),
      });
      try {
        const workerConns = await until('worker connections settle', async () => {
          const c = (await connections()).length - before;
          return c >= n + 1 ? c : undefined;
        });
        await bot.start({ port: 0, host: '127.0.0.1' });
        await bot.reconcile(); // uses Queues and the tracker: no new connection
        await new Promise((r) => setTimeout(r, 300));
        const total = (await connections()).length - before;
        const botConns = total - workerConns;
        console.log(`[redis-connections] ${n} clusters: worker ${workerConns}, bot ${botConns}, together ${total}`);
        expect(workerConns).toBeLessThanOrEqual(n + 1);
        expect(botConns).toBeLessThanOrEqual(n + 3);
      } finally {
        await bot.stop();
        await worker.close();
      }
      await until('connections closed', async () => (await connections()).length === before);
    },
    60_000,
  );
});
