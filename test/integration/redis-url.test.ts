/**
 * REDIS_URL: the four forms, and one line naming the form expected for everything else (never
 * the password); at start, a URL that points at the wrong kind of server says which form to use.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseEnv, parseRedisUrl } from '../../src/config/env.ts';
import { assertRedisReachable, blockingOptions, redisConnection, urlOf } from '../../src/config/redis.ts';
import { freeLoopbackPort, type PrivateRedis, startPrivateRedis } from '../../src/sandbox/redis.ts';
import { missing, until, on } from '../support/redis-topologies.ts';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', { kind: 'standalone', host: '127.0.0.1', port: 6379, db: 0, tls: false }],
    ['redis://redis', { kind: 'standalone', host: 'redis', port: 6379, db: 0, tls: false }],
    [
      'rediss://u%40x:p%3Aw@cache.example:6380/2',
      { kind: 'standalone', host: 'cache.example', port: 6380, db: 2, tls: true, username: 'u@x', password: 'p:w' },
    ],
    ['redis://:pw@[::1]:7000', { kind: 'standalone', host: '::1', port: 7000, password: 'pw' }],
    [
      'redis+sentinel://app:pw@s1:26379,s2:26380,s3/mymaster',
      {
        kind: 'sentinel',
        master: 'mymaster',
        username: 'app',
        password: 'pw',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
          { host: 's3', port: 26379 },
        ],
      },
    ],
    ['redis+sentinel://[::1]:26379/cws', { kind: 'sentinel', master: 'cws', sentinels: [{ host: '::1', port: 26379 }] }],
    [
      'redis+cluster://:pw@n1:7000,n2:7001,n3',
      {
        kind: 'cluster',
        password: 'pw',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
          { host: 'n3', port: 6379 },
        ],
      },
    ],
  ])('%s', (url, want) => {
    expect(parseRedisUrl(url)).toMatchObject(want);
  });

  it.each([
    ['localhost:6379', /^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL .*redis\+sentinel:\/\/.*redis\+cluster:\/\//],
    ['http://u:secretpw@h:1', /^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    ['redis://u:secretpw@h:1/zero', /^REDIS_URL: the database must be a number: redis:\/\/\[user:pass@\]host\[:port\]\[\/db\]/],
    [
      'redis+sentinel://u:secretpw@h:26379',
      /^REDIS_URL: a Sentinel URL ends with the name of its master: redis\+sentinel:\/\/\[user:pass@\]host:port\[,host:port…\]\/<master>$/,
    ],
    ['redis+sentinel://u:secretpw@h:26379/a/b', /^REDIS_URL: a Sentinel URL ends with the name of its master/],
    ['redis+cluster://u:secretpw@h:7000/0', /^REDIS_URL: a cluster has no database or master name: redis\+cluster:\/\//],
    ['redis+cluster://h:7000,:x', /^REDIS_URL: each node must be host:port: redis\+cluster:\/\//],
    ['redis+cluster://h:99999', /^REDIS_URL: each node must be host:port/],
    ['redis+cluster://u:%E0%A4%A@h:1', /^REDIS_URL: the user and password must be URL-encoded/],
  ])('%s is one line naming the form, without the password', (url, re) => {
    let err: unknown;
    try {
      parseRedisUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toMatch(/secretpw|\n/);
    // parseEnv says the same, once
    expect(() => parseEnv({ REDIS_URL: url }, 'worker')).toThrow(re);
  });

  it('blockingOptions carry the URL for startWorkers, and read as the plain options of the server', () => {
    const o = blockingOptions('redis://:pw@h:7000/3');
    expect(o).toMatchObject({ host: 'h', port: 7000, db: 3, password: 'pw', maxRetriesPerRequest: null });
    expect(urlOf(o)).toBe('redis://:pw@h:7000/3');
    expect(urlOf({ ...o })).toBe('redis://:pw@h:7000/3'); // survives a spread
    expect(blockingOptions('redis+sentinel://s1:1,s2:2/m')).toMatchObject({
      sentinels: [
        { host: 's1', port: 1 },
        { host: 's2', port: 2 },
      ],
      name: 'm',
    });
    expect(redisConnection('redis+cluster://n1:1,n2:2').where).toBe('n1:1,n2:2');
  });

  it('a process started with a bad REDIS_URL prints one line and exits 78', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, REDIS_URL: 'redis+sentinel://u:secretpw@10.0.0.1:26379', OPS_PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr.trim()).toBe(
      'cws: configuration error: REDIS_URL: a Sentinel URL ends with the name of its master: redis+sentinel://[user:pass@]host:port[,host:port…]/<master>',
    );
  }, 40_000);
});

const why = missing('redis-server', 'redis-sentinel');
if (why && process.env.CI) throw new Error(`[redis-url] required in CI: ${why}`);
if (why) console.warn(`[redis-url] the start-up checks against real servers are skipped: ${why}`);

(why ? describe.skip : describe)('at start, a URL that points at the wrong kind of server', () => {
  let master: PrivateRedis;
  let replica: PrivateRedis;
  let sentinel: PrivateRedis;
  let clusterNode: PrivateRedis;
  beforeAll(async () => {
    master = await startPrivateRedis();
    replica = await startPrivateRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    sentinel = await startPrivateRedis({ sentinel: [`sentinel monitor m 127.0.0.1 ${master.port} 1`] });
    clusterNode = await startPrivateRedis({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(await freeLoopbackPort())],
    });
    await until('replica in sync', async () => /master_link_status:up/.test(await on<string>(replica.port, 'INFO', 'replication')));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([sentinel, clusterNode, replica].map((p) => p?.stop()));
    await master?.stop();
  });

  it('says which form to use', async () => {
    await expect(assertRedisReachable(master.url)).resolves.toBeUndefined();
    await expect(assertRedisReachable(`redis+sentinel://127.0.0.1:${sentinel.port}/m`)).resolves.toBeUndefined();
    await expect(assertRedisReachable(sentinel.url)).rejects.toThrow(
      new RegExp(
        `^REDIS_URL: 127\\.0\\.0\\.1:${sentinel.port} is a Sentinel; use redis\\+sentinel://127\\.0\\.0\\.1:${sentinel.port}\\[,host:port…\\]/<master>$`,
      ),
    );
    await expect(assertRedisReachable(clusterNode.url)).rejects.toThrow(/^REDIS_URL: 127\.0\.0\.1:\d+ is a Redis Cluster node; use redis\+cluster:\/\//);
    await expect(assertRedisReachable(replica.url)).rejects.toThrow(/^REDIS_URL: 127\.0\.0\.1:\d+ is a read-only replica; point at the master/);
    await expect(assertRedisReachable(`redis+sentinel://127.0.0.1:${sentinel.port}/nosuchmaster`)).rejects.toThrow(
      new RegExp(`^REDIS_URL: cannot reach Redis at 127\\.0\\.0\\.1:${sentinel.port} \\(`),
    );
    const closed = await freeLoopbackPort();
    await expect(assertRedisReachable(`redis://127.0.0.1:${closed}`)).rejects.toThrow(
      new RegExp(`^REDIS_URL: cannot reach Redis at 127\\.0\\.0\\.1:${closed} \\(.*ECONNREFUSED`),
    );
  }, 30_000);
});
