/**
 * Cluster self-test at scale: N agents whose self-test takes `latencyMs`, on the Kubernetes
 * API simulator. As deployed, the simulator, the worker and the bot (with the Slack emulator)
 * are three processes; the worker's RSS is read from its /proc status (VmRSS, VmHWM).
 * Compared in the same run with the ideal ceil(N/concurrency) × latency and with a
 * sequential one-pod-at-a-time loop over the same simulator (measured on a sample of pods,
 * extrapolated to N — running it on all N would take N × latency).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClustersFile, type KubernetesClusterConfig } from '../src/config/clusters.ts';
import { finalSelftest, startHarness } from '../test/support/harness.ts';
import { startWorkerProcess } from '../test/support/worker-process.ts';
import { KubernetesTarget } from '../workers/targets/kubernetes.ts';

export interface SelftestBench {
  agents: number;
  latencyMs: number;
  concurrency: number;
  wallMs: number;
  idealMs: number;
  sequentialPerPodMs: number;
  sequentialSample: number;
  slackChatCalls: number;
  peakRssMb: number;
  /** Worker RSS with everything loaded and connected, before the job: the modules' own footprint. */
  idleRssMb: number;
  /** The bot process (bot + Slack emulator + this script), for comparison. */
  botPeakRssMb: number;
  readStatus: boolean;
  /** Worker processes sharing the cluster's queue (the concurrency is split between them). */
  replicas: number;
  ok: number;
}

/**
 * As `npm run worker` and manifests/worker.yaml start it: a 4 MB semi-space keeps the young
 * generation small, and a 192 MB old space makes V8 collect before it grows the heap past it
 * (without it, garbage from the burst of exec sessions lifts the peak RSS by some 40 MB).
 */
const WORKER_NODE_ARGS = '--max-semi-space-size=4 --max-old-space-size=192';

async function startSimProcess(fleetPath: string, kubeconfig: string): Promise<{ stop: () => void }> {
  const child = spawn(process.execPath, [...(process.env.BENCH_SIM_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/sim.js', '--fleet', fleetPath, '--kubeconfig', kubeconfig], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/kubeconfig: /.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}): ${out}`)));
  });
  return { stop: () => child.kill('SIGTERM') };
}

export async function benchSelftest(agents = 1000, latencyMs = 2000, sequentialSample = 10, readStatus = true, replicas = 1): Promise<SelftestBench> {
  const dir = mkdtempSync(join(tmpdir(), 'cws-bench-'));
  const fleetPath = join(dir, 'fleet.yaml');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(fleetPath, `name: bench-k\nnodes:\n  count: ${agents}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: ${latencyMs} }\n`);
  const sim = await startSimProcess(fleetPath, kubeconfig);
  const yaml = `clusters:\n  bench-k: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: bench-k, selftest: { readStatus: ${readStatus} } }\n`;
  const cfg = parseClustersFile(yaml).clusters['bench-k'] as KubernetesClusterConfig;
  const configPath = join(dir, 'clusters.yaml');
  writeFileSync(configPath, yaml);
  const h = await startHarness({ clustersYaml: yaml, minIntervalMs: 1000, withWorker: false });
  // Replicas split the default concurrency, so the ideal (and the total in flight) stays the same.
  const workers = await Promise.all(
    Array.from({ length: replicas }, () =>
      startWorkerProcess({
        redisUrl: h.redis.url,
        configPath,
        lockMs: 30_000,
        built: true,
        nodeArgs: (process.env.BENCH_WORKER_NODE_ARGS ?? WORKER_NODE_ARGS).split(' ').filter(Boolean),
        env: { WORKER_CONCURRENCY: String(Math.ceil(cfg.concurrency / replicas)) },
      }),
    ),
  );
  try {
    const idleRss = Math.max(...workers.map((w) => procStatusKb(w.pid!, 'VmRSS'))) * 1024;
    let botPeak = process.memoryUsage().rss;
    const sampler = setInterval(() => (botPeak = Math.max(botPeak, process.memoryUsage().rss)), 50);
    const t0 = performance.now();
    await h.signer.command('selftest bench-k', { channelId: 'CBENCHK' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CBENCHK'), { timeoutMs: 600_000, pollMs: 20 });
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    const peak = Math.max(...workers.map((w) => procStatusKb(w.pid!, 'VmHWM'))) * 1024;
    const slackChatCalls = h.emu.calls.filter((c) => c.method.startsWith('chat.') && c.args.channel === 'CBENCHK').length;

    // Sequential baseline: the same exec, one pod after the other, as a kubectl loop would.
    const target = new KubernetesTarget(cfg);
    const pods = (await target.listAgents()).slice(0, sequentialSample);
    const s0 = performance.now();
    for (const pod of pods) await target.exec(pod, ['security-agent', 'runtime', 'self-test'], { timeoutMs: 60_000 });
    const sequentialPerPodMs = (performance.now() - s0) / pods.length;

    return {
      agents,
      latencyMs,
      concurrency: cfg.concurrency,
      wallMs,
      idealMs: Math.ceil(agents / cfg.concurrency) * latencyMs,
      sequentialPerPodMs,
      sequentialSample: pods.length,
      slackChatCalls,
      peakRssMb: peak / 1024 / 1024,
      idleRssMb: idleRss / 1024 / 1024,
      botPeakRssMb: botPeak / 1024 / 1024,
      readStatus,
      replicas,
      ok: Number(final.metadata!.event_payload.ok),
    };
  } finally {
    await Promise.all(workers.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
    await h.close();
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A field of /proc/PID/status in kB (VmRSS: now; VmHWM: the peak since the process started). */
function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}
