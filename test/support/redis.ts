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
 * Otherwise a `redis-server` child runs on a free loopback port with AOF (`appendfsync always`) in a fresh temp
 * dir, so data written before kill() (SIGKILL) survives restart() (same port, same dir).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM → SHUTDOWN without RDB save), then removes the data dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash. The data dir is kept for restart(). */
  kill(): Promise<void>;
  /** Starts the server again on the same port and dir (stopping it gracefully first if it is running). */
  restart(): Promise<void>;
}

const READY = 'Ready to accept connections';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_PORT_ATTEMPTS = 5;

/** Children and data dirs not yet cleaned up; handled synchronously if the test process exits without stop(). */
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

class PortInUseError extends Error {}

export async function startRedis(): Promise<PrivateRedis> {
  const external = process.env.REDIS_URL;
  if (external) return externalRedis(external);

  const dir = await mkdtemp(join(tmpdir(), 'cws-redis-'));
  installExitHook();
  liveDirs.add(dir);
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        child = await spawnRedis(port, dir);
        break;
      } catch (err) {
        if (err instanceof PortInUseError && attempt < MAX_PORT_ATTEMPTS) continue;
        throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }

  let current: ChildProcess | undefined = child;
  let stopped = false;

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
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
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
    async kill() {
      if (stopped) throw new Error('PrivateRedis.kill(): already stopped');
      await halt('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('PrivateRedis.restart(): already stopped (its data dir is gone)');
      await halt('SIGTERM');
      // The port was ours a moment ago; if something else grabbed it we cannot move (clients hold the URL).
      let lastErr: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          current = await spawnRedis(port, dir);
          return;
        } catch (err) {
          lastErr = err;
          if (!(err instanceof PortInUseError)) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`PrivateRedis.restart(): port ${port} stayed in use`, { cause: lastErr });
    },
  };
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

/** Asks the kernel for a free loopback port (it may be taken again before redis binds it; callers retry). */
function freePort(): Promise<number> {
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

function spawnRedis(port: number, dir: string): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--dir', dir,
    '--daemonize', 'no',
  ];
  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });

    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        reject(err);
      } else {
        liveChildren.add(child);
        child.once('exit', () => liveChildren.delete(child));
        resolve(child);
      }
    };
    // Stays attached after readiness so the child never blocks on a full pipe; output is only kept until then.
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      output += chunk.toString('utf8');
      if (output.includes(READY)) settle();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);

    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') settle(new Error('redis-server not found: apt-get install redis-server'));
      else settle(new Error(`failed to spawn redis-server: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      const msg = `redis-server exited before it was ready (code ${code}, signal ${signal}) on port ${port}:\n${output}`;
      settle(/Address already in use/i.test(output) ? new PortInUseError(msg) : new Error(msg));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new Error(`redis-server not ready within ${START_TIMEOUT_MS} ms on port ${port}; output:\n${output}`));
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
