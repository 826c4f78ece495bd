/**
 * Connected to a master that is then demoted (a failover behind one endpoint, as a managed Redis
 * does: the name now leads to the promoted replica), writes answer READONLY. Our clients
 * reconnect — to the new master — and resend, instead of failing on the old one for ever; a
 * BullMQ Worker on them goes on taking jobs.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConnection } from '../../src/config/redis.ts';
import { type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';
import { type RedisProxy, startRedisProxy } from '../support/redis-proxy.ts';
import { missing, on, until } from '../support/redis-topologies.ts';

const why = missing('redis-server');
if (why && process.env.CI) throw new Error(`[redis-readonly] required in CI: ${why}`);
if (why) console.warn(`[redis-readonly] skipped: ${why}`);
const suite = why ? describe.skip : describe;

let a: PrivateRedis;
let b: PrivateRedis;
let proxy: RedisProxy;

/** b becomes the master, a its replica; new connections through the proxy now reach b. */
async function failover() {
  await on(b.port, 'REPLICAOF', 'NO', 'ONE');
  await on(a.port, 'REPLICAOF', '127.0.0.1', b.port);
  proxy.retarget(b.port);
  await until('a is a replica of b', async () => /master_link_status:up/.test(await on<string>(a.port, 'INFO', 'replication')));
}

suite('READONLY after a failover', () => {
  beforeAll(async () => {
    a = await startPrivateRedis();
    b = await startPrivateRedis({ args: ['--replicaof', '127.0.0.1', String(a.port)] });
    await until('b in sync', async () => /master_link_status:up/.test(await on<string>(b.port, 'INFO', 'replication')));
  }, 30_000);
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('our client reconnects and resends the write; a plain one keeps failing on the demoted master', async () => {
    proxy = await startRedisProxy({ target: a.port });
    const ours = redisConnection(proxy.url).client('shared', 'cws:test');
    const plain = new Redis(proxy.url, { maxRetriesPerRequest: null });
    plain.on('error', () => {});
    try {
      expect(await ours.set('ro:before', '1')).toBe('OK');
      expect(await plain.set('ro:before', '1')).toBe('OK');
      await failover();

      expect(await ours.set('ro:after', 'ours')).toBe('OK'); // READONLY from a, reconnected to b, resent
      expect(await on(b.port, 'GET', 'ro:after')).toBe('ours');
      for (let i = 0; i < 3; i++) await expect(plain.set('ro:plain', 'x')).rejects.toThrow(/READONLY/);
    } finally {
      ours.disconnect();
      plain.disconnect();
      await proxy.close();
    }
  });

  it('a BullMQ Worker on our shared client takes jobs again after the failover', async () => {
    await failoverBack();
    proxy = await startRedisProxy({ target: a.port });
    const shared = redisConnection(proxy.url).client('shared', 'cws:test');
    shared.on('error', () => {});
    const queue = new Queue('{ro-test}', { connection: shared });
    const done: string[] = [];
    const worker = new Worker('{ro-test}', async (job) => void done.push(job.name), { connection: shared });
    worker.on('error', () => {});
    try {
      await worker.waitUntilReady();
      await queue.add('before', {});
      await until('job before', async () => done.includes('before'));
      await failover();
      await queue.add('after', {});
      await until('job after', async () => done.includes('after'), 20_000);
    } finally {
      await worker.close();
      await queue.close();
      shared.disconnect();
      await proxy.close();
    }
  }, 40_000);
});

/** Back to a master, b its replica (for the next test). */
async function failoverBack() {
  await on(a.port, 'REPLICAOF', 'NO', 'ONE');
  await on(b.port, 'REPLICAOF', '127.0.0.1', a.port);
  await until('b is a replica of a', async () => /master_link_status:up/.test(await on<string>(b.port, 'INFO', 'replication')));
}
