/**
 * Cluster self-test at scale: N agents whose self-test takes `latencyMs`, on the Kubernetes
 * API simulator, in its own process. Either the worker(s) run as `npm run worker` runs them and
 * the bot (with the Slack emulator) runs here, or bot and worker run in one process as
 * `npm start` runs them; the measured process's RSS is read from /proc (VmRSS, VmHWM).
 * Compared in the same run with the ideal ceil(N/concurrency) × latency and with a
 * sequential one-pod-at-a-time loop over the same simulator (measured on a sample of pods,
 * extrapolated to N — running it on all N would take N × latency).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClustersFile, type KubernetesClusterConfig } from '../src/config/clusters.ts';
import { freeLoopbackPort } from '../src/sandbox/redis.ts';
import { SlackSigner } from '../src/sandbox/signer.ts';
import { SlackEmulator } from '../src/sandbox/slack-api.ts';
import { BOT_TOKEN, finalSelftest, SIGNING_SECRET, startHarness } from '../test/support/harness.ts';
import { startRedis } from '../test/support/redis.ts';
import { startWorkerProcess } from '../test/support/worker-process.ts';
import { execSessionsIn } from '../src/sim/server.ts';
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
  /** Measured process's RSS with everything loaded and connected, before the job: the modules' own footprint. */
  idleRssMb: number;
  /** This script's process (with the workers layout: the bot and the Slack emulator), for comparison. */
  benchPeakRssMb: number;
  readStatus: boolean;
  layout: BenchLayout;
  ok: number;
  /** Exec sessions the fan-out opened (the simulator's apiserver_request_total for pods/exec, code 101, read with kubectl). */
  execSessions: number;
}

const ROOT = join(import.meta.dirname, '..');

/**
 * The node flags of an npm script that runs the bundle, read from package.json so the bench
 * measures exactly what `npm run worker` (and manifests/worker.yaml) or `npm start` run: a 4 MB
 * semi-space keeps the young generation small, and a 192 MB old space makes V8 collect the
 * burst's garbage before it grows the heap (without them the peak RSS is some 40-60 MB higher).
 */
function nodeFlagsOf(script: 'worker' | 'start'): string[] {
  const line = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[script] ?? '';
  const m = / node ((?:--[\w-]+=?\S* )*)dist\/main\.js/.exec(line);
  if (!m) throw new Error(`package.json scripts.${script} does not run dist/main.js: ${line}`);
  return m[1]!.split(' ').filter(Boolean);
}
export const WORKER_NODE_ARGS = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? nodeFlagsOf('worker');
const START_NODE_ARGS = process.env.BENCH_START_NODE_ARGS?.split(' ').filter(Boolean) ?? nodeFlagsOf('start');

export async function startSimProcess(fleetPath: string, kubeconfig: string): Promise<{ stop: () => void }> {
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_SIM_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/sim.js', '--fleet', fleetPath, '--kubeconfig', kubeconfig],
    {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
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

/** Which processes run the bot and the worker in the measured run. */
export type BenchLayout =
  /** The bot (with the Slack emulator) in this process; `replicas` worker processes as `npm run worker` runs them. */
  | { kind: 'workers'; replicas: number }
  /** Bot and worker in one process, as `npm start` runs them against Slack (here the emulator). */
  | { kind: 'all-in-one' };

interface Stack {
  emu: SlackEmulator;
  signer: SlackSigner;
  /** The processes whose RSS is the figure (the largest one is reported). */
  measured: ChildProcess[];
  close(): Promise<void>;
}

async function workersStack(yaml: string, configPath: string, concurrency: number, replicas: number): Promise<Stack> {
  const h = await startHarness({ clustersYaml: yaml, minIntervalMs: 1000, withWorker: false });
  // Replicas split the default concurrency, so the ideal (and the total in flight) stays the same.
  const workers = await Promise.all(
    Array.from({ length: replicas }, () =>
      startWorkerProcess({
        redisUrl: h.redis.url,
        configPath,
        lockMs: 30_000,
        built: true,
        nodeArgs: WORKER_NODE_ARGS,
        env: { WORKER_CONCURRENCY: String(Math.ceil(concurrency / replicas)) },
      }),
    ),
  );
  return {
    emu: h.emu,
    signer: h.signer,
    measured: workers,
    async close() {
      await Promise.all(workers.map(stopChild));
      await h.close();
    },
  };
}

async function allInOneStack(configPath: string): Promise<Stack> {
  const redis = await startRedis();
  const emu = await SlackEmulator.start({ token: BOT_TOKEN });
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, [...START_NODE_ARGS, 'dist/main.js', 'all'], {
    cwd: ROOT,
    env: {
      ...process.env,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: emu.url,
      PORT: String(port),
      REDIS_URL: redis.url,
      CWS_CONFIG: configPath,
      WORKER_LOCK_MS: '30000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Ready when the bot answers on its port (it starts after the worker).
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode})`);
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 600) throw new Error('npm start did not come up within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    emu,
    signer: new SlackSigner({ secret: SIGNING_SECRET, url: `http://127.0.0.1:${port}/slack/events`, responseUrlBase: emu.responseUrl('').replace(/\/$/, '') }),
    measured: [child],
    async close() {
      await stopChild(child);
      await emu.close();
      await redis.stop();
    },
  };
}

/**
 * The bench fleet: `agents` nodes whose self-test answers OK after `latencyMs`, with the simulator's
 * default agent image (gcr.io/datadoghq/agent:7.50.3: a probe-era tester, so the worker reads
 * `security-agent status` after each OK, src/core/selftest/version.ts — in the same exec session, through
 * the image's sh: workers/targets/chain.ts).
 */
export const benchFleetYaml = (agents: number, latencyMs: number) =>
  `name: bench-k\nnodes:\n  count: ${agents}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: ${latencyMs} }\n`;

/** Exec sessions the simulator has opened so far, as its /metrics counts them (`kubectl get --raw /metrics`). */
export function execSessionsOpened(kubeconfig: string): Promise<number> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], { timeout: 30_000 }, (err, stdout) => {
      if (err) return reject(err);
      resolve(execSessionsIn(stdout));
    }),
  );
}

export const stopChild = (c: ChildProcess) => new Promise<unknown>((r) => (c.exitCode !== null ? r(c.exitCode) : (c.once('exit', r), c.kill('SIGTERM'))));

export async function benchSelftest(
  agents = 1000,
  latencyMs = 2000,
  sequentialSample = 10,
  readStatus = true,
  layout: BenchLayout = { kind: 'workers', replicas: 1 },
  /** The cluster's `concurrency`; absent: the default (src/config/clusters.ts). */
  concurrency?: number,
): Promise<SelftestBench> {
  const dir = mkdtempSync(join(tmpdir(), 'cws-bench-'));
  const fleetPath = join(dir, 'fleet.yaml');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(fleetPath, benchFleetYaml(agents, latencyMs));
  const sim = await startSimProcess(fleetPath, kubeconfig);
  const yaml = `clusters:\n  bench-k: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: bench-k, selftest: { readStatus: ${readStatus} }${concurrency ? `, concurrency: ${concurrency}` : ''} }\n`;
  const cfg = parseClustersFile(yaml).clusters['bench-k'] as KubernetesClusterConfig;
  const configPath = join(dir, 'clusters.yaml');
  writeFileSync(configPath, yaml);
  const stack = layout.kind === 'workers' ? await workersStack(yaml, configPath, cfg.concurrency, layout.replicas) : await allInOneStack(configPath);
  try {
    const idleRss = Math.max(...stack.measured.map((w) => procStatusKb(w.pid!, 'VmRSS'))) * 1024;
    let benchPeak = process.memoryUsage().rss;
    const sampler = setInterval(() => (benchPeak = Math.max(benchPeak, process.memoryUsage().rss)), 50);
    const sessions0 = await execSessionsOpened(kubeconfig);
    const t0 = performance.now();
    await stack.signer.command('selftest bench-k', { channelId: 'CBENCHK' });
    const final = await stack.emu.waitFor((e) => finalSelftest(e, 'CBENCHK'), { timeoutMs: 600_000, pollMs: 20 });
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    const execSessions = (await execSessionsOpened(kubeconfig)) - sessions0;
    const peak = Math.max(...stack.measured.map((w) => procStatusKb(w.pid!, 'VmHWM'))) * 1024;
    const slackChatCalls = stack.emu.calls.filter((c) => c.method.startsWith('chat.') && c.args.channel === 'CBENCHK').length;

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
      benchPeakRssMb: benchPeak / 1024 / 1024,
      readStatus,
      layout,
      ok: Number(final.metadata!.event_payload.ok),
      execSessions,
    };
  } finally {
    await stack.close();
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
