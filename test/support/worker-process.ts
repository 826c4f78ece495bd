import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/** A real worker process (`src/main.ts worker`), resolved once it says it is ready. */
export function startWorkerProcess(opts: { redisUrl: string; configPath: string; lockMs?: number; env?: NodeJS.ProcessEnv }): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: opts.redisUrl, CWS_CONFIG: opts.configPath, WORKER_LOCK_MS: String(opts.lockMs ?? 2000), LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker ready')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
}
