/**
 * How many concurrent exec sessions one simulator process sustains through client-node.
 *   node --import tsx test/sim/concurrency.bench.ts [agents=1000] [latencyMs=2000] [rounds=1]
 * Starts `src/sim/main.ts` as its own process with an N-node fleet, lists the agent pods,
 * runs `security-agent runtime self-test` in all of them at once, and reports wall time,
 * failures, and the simulator's peak RSS (VmHWM) and CPU time. Bounded: every exec has a
 * deadline, and the simulator is stopped at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execCollect, within } from './support.ts';

const agents = Number(process.argv[2] ?? 1000);
const latencyMs = Number(process.argv[3] ?? 2000);
const rounds = Number(process.argv[4] ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'cws-sim-bench-'));
const fleet = join(dir, 'fleet.yaml');
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(fleet, `name: bench\nnodes:\n  count: ${agents}\n  selftest: { latencyMs: ${latencyMs} }\n`);

const child = spawn(
  process.execPath,
  [
    ...(process.env.SIM_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SIM_PROF] : []),
    '--import',
    'tsx',
    'src/sim/main.ts',
    '--fleet',
    fleet,
    '--kubeconfig',
    kubeconfig,
  ],
  {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const procStatus = (field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const cpuSeconds = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

try {
  await within(
    new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/kubeconfig: /.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
    }),
    60_000,
    'the simulator to start',
  );
  const idleRss = procStatus('VmRSS');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'datadog', labelSelector: 'app.kubernetes.io/component=agent' });
  const names = pods.items.map((p) => p.metadata!.name!);
  console.log(`simulator up: ${names.length} agent pods, RSS ${idleRss.toFixed(0)} MB idle`);

  for (let r = 1; r <= rounds; r++) {
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const results = await Promise.allSettled(
      names.map((pod) =>
        execCollect(kc, 'datadog', pod, 'security-agent', ['security-agent', 'runtime', 'self-test'], {
          timeoutMs: latencyMs + 60_000,
          upgradeTimeoutMs: 60_000,
        }),
      ),
    );
    const wall = performance.now() - t0;
    const ok = results.filter((x) => x.status === 'fulfilled' && x.value.status?.status === 'Success' && x.value.stdout === 'Runtime self test: OK\n').length;
    const failures = results.filter((x) => x.status === 'rejected').map((x) => String((x as PromiseRejectedResult).reason));
    console.log(
      `round ${r}: ${names.length} concurrent execs × ${latencyMs} ms → ${ok} OK, ${failures.length} failed, wall ${(wall / 1000).toFixed(2)} s; ` +
        `simulator peak RSS ${procStatus('VmHWM').toFixed(0)} MB, CPU ${(cpuSeconds() - cpu0).toFixed(2)} s; client RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`,
    );
    if (failures.length) console.log(`  first failure: ${failures[0]}`);
  }
} finally {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
