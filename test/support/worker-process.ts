import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/**
 * A real worker process, resolved once it says it is ready: `src/main.ts worker` under tsx, or
 * with `built` a bundle (`dist/main.js` as `npm run worker` runs it; build it first).
 */
export function startWorkerProcess(opts: {
  redisUrl: string;
  configPath: string;
  lockMs?: number;
  env?: NodeJS.ProcessEnv;
  built?: boolean | string;
  nodeArgs?: string[];
}): Promise<ChildProcess> {
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(opts.built ? [typeof opts.built === 'string' ? opts.built : 'dist/main.js', 'worker'] : ['--import', 'tsx', 'src/main.ts', 'worker']),
  ];
  const child = spawn(process.execPath, args, {
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
