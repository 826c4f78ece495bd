/**
 * The baselines a power user has without the bot, over the same simulated fleet: real `kubectl` (on
 * PATH) against the simulator's kubeconfig, in its own process as in the fan-out bench.
 *
 * - parallel: `kubectl get pods -o name | xargs -P 50 -I{} kubectl exec {} -c security-agent -- security-agent runtime self-test`
 *   over every pod, timed from start to the last exec's end;
 * - sequential: the same exec one pod after the other, measured on a few pods and extrapolated to the
 *   fleet (running it on all of them would take fleet × latency; labelled as extrapolated).
 *
 * Loopback only, bounded: each command is killed after `timeoutMs`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchFleetYaml, startSimProcess } from './selftest.ts';

export interface KubectlLoops {
  kubectlVersion: string;
  agents: number;
  parallelism: number;
  parallelMs: number;
  /** Lines `Runtime self test: OK` the parallel loop printed (one per agent when every exec worked). */
  parallelOk: number;
  sequentialSample: number;
  sequentialPerPodMs: number;
}

export const PARALLEL_LOOP = (p: number) =>
  `kubectl get pods -o name | xargs -P ${p} -I{} kubectl exec {} -c security-agent -- security-agent runtime self-test`;

function run(cmd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ stdout: string; code: number | null; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // Its own process group, so the timeout ends xargs and every kubectl it started.
    const child = spawn('sh', ['-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      reject(new Error(`${cmd} did not finish within ${timeoutMs / 1000} s: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, code, ms: performance.now() - t0 });
    });
  });
}

export function kubectlAvailable(): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function benchKubectlLoops(agents: number, latencyMs: number, parallelism = 50, sequentialSample = 5, timeoutMs = 600_000): Promise<KubectlLoops> {
  const kubectlVersion = kubectlAvailable();
  if (!kubectlVersion) throw new Error('kubectl is not on PATH: the kubectl baselines need the real kubectl');
  const dir = mkdtempSync(join(tmpdir(), 'cws-bench-kubectl-'));
  const fleetPath = join(dir, 'fleet.yaml');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(fleetPath, benchFleetYaml(agents, latencyMs));
  const sim = await startSimProcess(fleetPath, kubeconfig);
  // No cache directory of the user's: kubectl's discovery cache goes to the run's own directory.
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir };
  try {
    // Warm-up (not timed): kubectl's first run fills its discovery cache.
    await run('kubectl get pods -o name >/dev/null', env, 60_000);
    const par = await run(PARALLEL_LOOP(parallelism), env, timeoutMs);
    const parallelOk = par.stdout.split('\n').filter((l) => l.trim() === 'Runtime self test: OK').length;

    const pods = (await run('kubectl get pods -o name', env, 60_000)).stdout.split('\n').filter(Boolean).slice(0, sequentialSample);
    const seq = await run(
      `for p in ${pods.join(' ')}; do kubectl exec "$p" -c security-agent -- security-agent runtime self-test || exit 1; done`,
      env,
      timeoutMs,
    );
    if (seq.code !== 0) throw new Error(`the sequential kubectl loop failed (${seq.code})`);
    return {
      kubectlVersion,
      agents,
      parallelism,
      parallelMs: par.ms,
      parallelOk,
      sequentialSample: pods.length,
      sequentialPerPodMs: seq.ms / pods.length,
    };
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
