/**
 * A private redis-server per test file.
 *
 *   let redis: PrivateRedis;
 *   beforeAll(async () => { redis = await startRedis(); });
 *   afterAll(() => redis.stop());
 *
 * With REDIS_URL set, that server is used instead: stop() is a no-op, kill()/restart() throw, and nothing is
 * ever flushed (use unique key prefixes / queue names in tests).
 *
 * Otherwise the sandbox's private redis-server (src/sandbox/redis.ts) with AOF (`appendfsync always`), so
 * data written before kill() (SIGKILL) survives restart() (same port, same dir).
 */
import { type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';

export type { PrivateRedis };

export async function startRedis(): Promise<PrivateRedis> {
  const external = process.env.REDIS_URL;
  if (external) return externalRedis(external);
  return startPrivateRedis({ persistence: 'aof' });
}

function externalRedis(url: string): PrivateRedis {
  let port = 6379;
  try {
    const parsed = new URL(url);
    if (parsed.port) port = Number(parsed.port);
  } catch {
    // keep the default; ioredis will report a bad URL itself
  }
  const impossible = (what: string) => async (): Promise<never> => {
    throw new Error(`PrivateRedis.${what}() is not possible with REDIS_URL (${url}); skip this test when REDIS_URL is set`);
  };
  return {
    url,
    port,
    async stop() {
      // Not ours: leave it running and untouched.
    },
    kill: impossible('kill'),
    restart: impossible('restart'),
  };
}
