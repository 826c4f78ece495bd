/**
 * A private `redis-server` child on a free loopback port, in a throw-away directory, stopped
 * with its owner: the sandbox's Redis when REDIS_URL is not set (no persistence), and every test
 * file's (`persistence: 'aof'` with `appendfsync always`, so what was written before kill()
 * survives restart() on the same port and directory). With `args` or `sentinel`, one node of a
 * Redis Cluster, a replica or a Sentinel (test/support/redis-topologies.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/env.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM: no RDB save), then removes the directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash. The directory is kept for restart(). */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (stopping it gracefully first if it runs). */
  restart(): Promise<void>;
}

export interface PrivateRedisOptions {
  binary?: string;
  /** 'none' (default): no RDB, no AOF. 'aof': append-only file, fsync on every write. */
  persistence?: 'none' | 'aof';
  /**
   * More server arguments, e.g. `['--cluster-enabled', 'yes']` or `['--replicaof', '127.0.0.1', '6380']`,
   * or a function of the port (`--port 0 --tls-port <port>`: TLS only); tests of Redis topologies.
   */
  args?: string[] | ((port: number) => string[]);
  /**
   * Runs `redis-sentinel` (or `binary`) with these lines as its configuration file, written in
   * its directory (a Sentinel rewrites it): e.g. `sentinel monitor …`.
   */
  sentinel?: string[];
}

/** The one line `npm start` prints when there is no Redis to use. */
export class RedisNotInstalledError extends ConfigError {
  constructor() {
    super('redis-server: not found on PATH; install it (sudo apt-get install redis-server) or set REDIS_URL to a running Redis');
  }
}

const READY = 'Ready to accept connections';
const SENTINEL_READY = '+monitor master';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

class PortTakenError extends Error {}

export async function startPrivateRedis(opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const binary = opts.binary ?? (opts.sentinel ? 'redis-sentinel' : 'redis-server');
  const persistence = opts.persistence ?? 'none';
  const dir = await mkdtemp(join(tmpdir(), 'cws-redis-'));
  const conf = join(dir, 'sentinel.conf');
  if (opts.sentinel) await writeFile(conf, `${opts.sentinel.join('\n')}\n`);
  const extra = (p: number) => (typeof opts.args === 'function' ? opts.args(p) : (opts.args ?? []));
  const spawnIt = (p: number) => spawnRedis(binary, p, dir, persistence, extra(p), opts.sentinel ? conf : undefined);
  let current: ChildProcess | undefined;
  let port = 0;
  try {
    // The free port may be taken again before redis binds it: try another.
    for (let attempt = 1; !current; attempt++) {
      port = await freeLoopbackPort();
      try {
        current = await spawnIt(port);
      } catch (err) {
        if (!(err instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  // If this process exits without stop() (an uncaught error, process.exit), the child goes too.
  const onExit = () => {
    current?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;
  const halt = async (signal: NodeJS.Signals) => {
    const c = current;
    current = undefined;
    if (c) await terminate(c, signal);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      if (stopped) throw new Error('PrivateRedis.kill(): already stopped');
      await halt('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('PrivateRedis.restart(): already stopped (its directory is gone)');
      await halt('SIGTERM');
      // The port was ours a moment ago; if something else took it we cannot move (clients hold the URL).
      let lastErr: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          current = await spawnIt(port);
          return;
        } catch (err) {
          lastErr = err;
          if (!(err instanceof PortTakenError)) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`PrivateRedis.restart(): port ${port} stayed in use`, { cause: lastErr });
    },
  };
}

function spawnRedis(binary: string, port: number, dir: string, persistence: 'none' | 'aof', extra: string[], sentinelConf?: string): Promise<ChildProcess> {
  const durability = persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  // A Sentinel takes its configuration file first; it says it is ready once it monitors its master.
  const conf = sentinelConf ? [sentinelConf] : [];
  const args = [...conf, '--port', String(port), '--bind', '127.0.0.1', '--save', '', ...durability, '--dir', dir, '--daemonize', 'no', ...extra];
  const ready = sentinelConf ? SENTINEL_READY : READY;
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop Redis last,
    // after the bot and the worker let go of it (else they log connection errors on the way out).
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(child);
    };
    // Kept reading after readiness so the child never blocks on a full pipe; only the start-up text is kept.
    const onData = (chunk: Buffer) => {
      if (settled) return;
      output += chunk.toString('utf8');
      if (output.includes(ready)) settle();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) =>
      settle(
        err.code === 'ENOENT'
          ? binary === 'redis-server'
            ? new RedisNotInstalledError()
            : new Error(`${binary}: not found on PATH`)
          : new Error(`cannot start ${binary}: ${err.message}`),
      ),
    );
    child.once('exit', (code, signal) => {
      const why = `redis-server exited before it was ready on port ${port} (code ${code}, signal ${signal}): ${output.trim().split('\n').slice(-3).join(' | ')}`;
      settle(/Address already in use/i.test(output) ? new PortTakenError(why) : new Error(why));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new Error(`redis-server was not ready within ${START_TIMEOUT_MS / 1000} s on port ${port}`));
    }, START_TIMEOUT_MS);
  });
}

/** Sends `signal` and waits for the process to exit (SIGKILL after STOP_TIMEOUT_MS). */
function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/** Asks the kernel for a free loopback port (it may be taken again before it is bound; callers retry). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}
