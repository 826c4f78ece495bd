import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCommandLimiter } from '../../src/bot/state/command-limiter.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

let redis: PrivateRedis;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

describe('RedisCommandLimiter', () => {
  it('lets a user start N commands per window, then says when to retry; a refusal spends nothing', async () => {
    const limiter = new RedisCommandLimiter(client, { perUser: { commands: 3, windowSec: 60 }, perCluster: { commands: 100, windowSec: 60 } });
    for (let i = 0; i < 3; i++) expect(await limiter.take('U1', 'a')).toEqual({ ok: true });
    const refused = await limiter.take('U1', 'a');
    expect(refused).toMatchObject({ ok: false, scope: 'user', limit: 3, windowSec: 60 });
    expect(refused.ok === false && refused.retryAfterSec).toBeGreaterThan(55);
    // Another user is not affected, on the same cluster.
    expect(await limiter.take('U2', 'a')).toEqual({ ok: true });
    expect(await client.get('cws:{limits}:cluster:a')).toBe('4');
  });

  it('bounds a cluster across users', async () => {
    const limiter = new RedisCommandLimiter(client, { perUser: { commands: 100, windowSec: 60 }, perCluster: { commands: 2, windowSec: 30 } });
    expect(await limiter.take('U3', 'b')).toEqual({ ok: true });
    expect(await limiter.take('U4', 'b')).toEqual({ ok: true });
    expect(await limiter.take('U5', 'b')).toMatchObject({ ok: false, scope: 'cluster', limit: 2, windowSec: 30 });
    // The refused user spent nothing.
    expect(await client.get('cws:{limits}:user:U5')).toBeNull();
  });

  it('lets commands through when Redis does not answer, and says so', async () => {
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const errors: unknown[] = [];
    expect(await new RedisCommandLimiter(dead, undefined, (e) => errors.push(e)).take('U1', 'a')).toEqual({ ok: true });
    expect(errors).toHaveLength(1);
    dead.disconnect();
  });
});
