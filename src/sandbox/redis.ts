/**
 * The sandbox's own Redis: a `redis-server` child on a free loopback port, with no persistence
 * (no RDB, no AOF, a throw-away directory), stopped with the sandbox. Only used when REDIS_URL
 * is not set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/env.ts';

export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

/** The one line `npm start` prints when there is no Redis to use. */
export class RedisNotInstalledError extends ConfigError {
  constructor() {
    super('redis-server: not found on PATH; install it (sudo apt-get install redis-server) or set REDIS_URL to a running Redis');
  }
}

const READY = 'Ready to accept connections';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;

class PortTakenError extends Error {}

export async function startPrivateRedis(binary = 'redis-server'): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'cws-sandbox-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    // The free port may be taken again before redis binds it: try another.
    for (let attempt = 1; !child; attempt++) {
      port = await freeLoopbackPort();
      try {
        child = await spawnRedis(binary, port, dir);
      } catch (err) {
        if (!(err instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const running = child;
  // If this process exits without stop() (an uncaught error, process.exit), the child goes too.
  const onExit = () => {
    running.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await terminate(running);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function spawnRedis(binary: string, port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
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
      if (output.includes(READY)) settle();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => settle(err.code === 'ENOENT' ? new RedisNotInstalledError() : new Error(`cannot start redis-server: ${err.message}`)));
    child.once('exit', (code, signal) => {
      const why = `redis-server exited before it was ready (code ${code}, signal ${signal}): ${output.trim().split('\n').slice(-3).join(' | ')}`;
      settle(/Address already in use/i.test(output) ? new PortTakenError(why) : new Error(why));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new Error(`redis-server was not ready within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

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
