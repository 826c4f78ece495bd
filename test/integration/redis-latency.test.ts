/**
 * The bot starts cleanly however slowly Redis answers: 12 starts through a TCP proxy that adds
 * 0–400 ms to every chunk each way (before, about 1 start in 3 crashed with "Stream isn't
 * writeable and enableOfflineQueue options is false": reconcile ran before the client was ready).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/bot/app.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { type RedisProxy, startRedisProxy } from '../support/redis-proxy.ts';
import { missing } from '../support/redis-topologies.ts';

const why = missing('redis-server');
if (why && process.env.CI) throw new Error(`[redis-latency] required in CI: ${why}`);
if (why) console.warn(`[redis-latency] skipped: ${why}`);
const suite = why ? describe.skip : describe;

const STARTS = 12;
const AT_ONCE = 4;
const TOKEN = 'xoxb-latency-test';
let redis: PrivateRedis;
let proxy: RedisProxy;
let emu: SlackEmulator;

suite('a slow Redis at start', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
    proxy = await startRedisProxy({ target: redis.port, delayMs: () => Math.random() * 400 });
    emu = await SlackEmulator.start({ token: TOKEN });
  });
  afterAll(async () => {
    await emu?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it(`${STARTS} bot starts with 0–400 ms added to every Redis reply and request: none fails`, async () => {
    const clusters = parseClustersFile('clusters:\n  slow-a: { kind: host }\n  slow-b: { kind: host }\n', 'test config');
    const outcomes: string[] = [];
    for (let round = 0; round < STARTS / AT_ONCE; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: AT_ONCE }, async () => {
          const bot = createBot({
            botToken: TOKEN,
            signingSecret: 'latency-signing-secret',
            slackApiUrl: emu.url,
            redisUrl: proxy.url,
            clusters,
            logger: pino({ level: 'silent' }),
          });
          try {
            await bot.start({ port: 0, host: '127.0.0.1' });
            await bot.reconcile(); // and it works once started
          } finally {
            await bot.stop();
          }
        }),
      );
      outcomes.push(...results.map((r) => (r.status === 'fulfilled' ? 'ok' : String((r.reason as Error).message))));
    }
    expect(outcomes).toEqual(Array(STARTS).fill('ok'));
    expect(proxy.accepted).toBeGreaterThan(STARTS); // every start went through the proxy
  }, 120_000);
});
