import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from './env.ts';

/** Options both ioredis and BullMQ accept (BullMQ's typing of retryStrategy is narrower). */
export type RedisConnection = Omit<RedisOptions, 'retryStrategy'>;

/** ioredis options from a redis:// or rediss:// URL (user, password, db, TLS). */
export function redisOptions(url: string, extra: RedisConnection = {}): RedisConnection {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...extra,
  };
}

/** For BullMQ workers and QueueEvents: blocking commands must never give up. */
export const blockingOptions = (url: string): RedisConnection => redisOptions(url, { maxRetriesPerRequest: null });

/** For the bot's fast path: fail fast instead of queueing commands while Redis is down. */
export const fastFailOptions = (url: string): RedisConnection =>
  redisOptions(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });

/** Start-up check: one clear configuration error when Redis is not there, instead of retries forever. */
export async function assertRedisReachable(url: string): Promise<void> {
  const probe = new Redis({ ...blockingOptions(url), lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // The socket error (e.g. ECONNREFUSED) says more than connect()'s "Connection is closed", and an
  // error event nobody listens to would be printed by ioredis as "Unhandled error event".
  let socketError: Error | undefined;
  probe.on('error', (err: Error) => (socketError ??= err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new ConfigError(`REDIS_URL: cannot reach Redis (${(socketError ?? (err as Error)).message})`);
  } finally {
    probe.disconnect();
  }
}
