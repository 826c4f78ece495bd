/**
 * `npm run bench`: every figure is measured in this run, with its baseline from the same run.
 * `npm run bench -- SECTION` runs one section (ack, tls-floor, selftest, selftest-no-status,
 * selftest-2-replicas, selftest-all-in-one, busy-workspace, fanout-goals). fanout-goals (issue 19): the
 * 1000 × 2 s fan-out under `npm start` (peak RSS), the same fleet through a parallel `kubectl exec`
 * loop (`xargs -P 50`, real kubectl on PATH) and a sequential one (a few pods, extrapolated), and the
 * TLS floor, with the ratios and the goals; BENCH_CONCURRENCY overrides the cluster's concurrency for
 * it (to measure the default). busy-workspace: 12 fleet self-tests
 * at once (12 clusters × 60 agents × 2 s, 12 users, 3 per channel in 4 channels) in one
 * workspace, against the Slack emulator with its rate limits on: calls answered 429, chat calls,
 * and the slowest job's final result against a lone job's. Knobs for investigating, not for the
 * figures: BENCH_AGENTS, BENCH_LATENCY_MS, BENCH_REPLICAS, BENCH_BUSY_JOBS, BENCH_BUSY_AGENTS,
 * BENCH_BUSY_CHANNELS, and node flags for the processes it starts (BENCH_WORKER_NODE_ARGS,
 * BENCH_START_NODE_ARGS, BENCH_SIM_NODE_ARGS, e.g. `--cpu-prof`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchAck } from './ack.ts';
import { loadavg } from 'node:os';
import { benchBusyWorkspace } from './busy-workspace.ts';
import { benchKubectlLoops, PARALLEL_LOOP } from './kubectl-loops.ts';
import { type BenchLayout, benchSelftest } from './selftest.ts';
import { benchTlsFloor } from './tls-floor.ts';

const f = (n: number) => `${n.toFixed(1)} ms`;

/** Each section runs in a fresh process, so RSS and CPU figures do not carry over between them. */
function runSection(section: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), section], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_BUILT: '1' },
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench section ${section} exited with ${code}`))));
  });
}

async function main() {
  const section = process.argv[2];
  // The worker and the simulator run as `npm run worker` / `npm run sim` do: from the bundle,
  // built once per run (the sections run by a whole run are told it is built).
  if (process.env.BENCH_BUILT !== '1') {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit', cwd: fileURLToPath(new URL('..', import.meta.url)) });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build exited with ${code}`))));
    });
  }
  if (!section) {
    for (const s of ['ack', 'tls-floor', 'selftest', 'selftest-no-status', 'selftest-2-replicas', 'selftest-all-in-one', 'busy-workspace', 'fanout-goals'])
      await runSection(s);
    return;
  }
  if (section === 'ack') {
    const { bot, baseline } = await benchAck();
    console.log('\n== slash-command ack at 50 commands/s (500 commands, open loop) ==');
    console.log(`baseline (Bolt acking at once): p50 ${f(baseline.p50)}  p99 ${f(baseline.p99)}  max ${f(baseline.max)}`);
    console.log(`cws bot (parse, authorise, enqueue, audit): p50 ${f(bot.p50)}  p99 ${f(bot.p99)}  max ${f(bot.max)}`);
    console.log(`ratio p99 bot/baseline: ${(bot.p99 / baseline.p99).toFixed(2)}x   target: p99 < 50 ms -> ${bot.p99 < 50 ? 'met' : 'NOT met'}`);
  }
  if (section === 'tls-floor') {
    const t = await benchTlsFloor(500);
    console.log(`\n== floor: ${t.handshakes} concurrent TLS handshakes to a local server (every exec session starts with one) ==`);
    console.log(
      `wall ${t.wallMs.toFixed(0)} ms, client CPU ${t.clientCpuMsEach.toFixed(2)} ms each; a 1000-agent self-test opens one session per agent (with readStatus too: self-test and status share it through the image's sh)`,
    );
  }
  if (section === 'busy-workspace') {
    const r = await benchBusyWorkspace(
      Number(process.env.BENCH_BUSY_JOBS ?? 12),
      Number(process.env.BENCH_BUSY_AGENTS ?? 60),
      Number(process.env.BENCH_LATENCY_MS ?? 2000),
      Number(process.env.BENCH_BUSY_CHANNELS ?? 4),
    );
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const perMin = (r: number) => `${Math.round(r * 60)}/min`;
    const limits = r.limits
      ? `its rate limits ON (chat.update ${r.limits.update.capacity} at once then ${perMin(r.limits.update.refillPerSec)} per workspace; chat.postMessage ${r.limits.postPerChannel.capacity} at once then ${perMin(r.limits.postPerChannel.refillPerSec)} per channel; 429 with Retry-After)`
      : 'its rate limits OFF (this emulator does not enforce them: the 429 figure means nothing)';
    const sorted = [...r.finalsMs].sort((a, b) => a - b);
    const slowest = sorted.at(-1)!;
    const ratio = slowest / r.loneMs;
    const total = Object.values(r.chatCalls).reduce((a, b) => a + b, 0);
    const per = Object.entries(r.chatCalls)
      .map(([m, n]) => `${n} ${m}`)
      .join(', ');
    console.log(
      `\n== busy workspace: ${r.jobs} fleet self-tests at once (${r.jobs} clusters x ${r.agents} agents x ${r.latencyMs / 1000} s, one worker process), ${r.jobs} users, ${Math.ceil(r.jobs / r.channels.length)} per channel in ${r.channels.length} channels (${r.channels.join(', ')}), one workspace; Slack emulator with ${limits} ==`,
    );
    console.log(
      `lone job (same run, alone in the workspace, after one warm-up job): final after ${s(r.loneMs)}, ${r.loneChatCalls} chat calls; another lone job after the busy phase: ${s(r.loneAfterMs)}`,
    );
    console.log(
      `${r.jobs} jobs at once: finals after ${s(sorted[0]!)} .. ${s(slowest)} (median ${s(sorted[Math.floor(sorted.length / 2)]!)}), ${r.ok}/${r.jobs * r.agents} agents OK; slowest / lone = ${ratio.toFixed(2)}x   goal <= 2x -> ${ratio <= 2 ? 'met' : 'NOT met'}`,
    );
    const worst = (xs: number[]) => Math.max(...xs);
    console.log(
      `of which the worker (command -> job finished): ${s(Math.min(...r.jobsMs))} .. ${s(worst(r.jobsMs))}; the bot and Slack (job finished -> final applied): up to ${s(worst(r.slackLagMs))} (lone job: ${s(r.loneSlackLagMs)})`,
    );
    console.log(
      `calls answered 429: ${r.answered429} (whole run: ${r.answered429Run})   goal 0 -> ${r.limits ? (r.answered429Run === 0 ? 'met' : 'NOT met') : 'not measured (limits off)'}`,
    );
    console.log(`chat calls for the ${r.jobs} jobs: ${total} (${per}); progress states merged instead of sent: ${r.coalesced}`);
  }
  if (section === 'fanout-goals') {
    // Issue 19, point 4: the fan-out as `npm start` runs it, against what a power user has without the bot.
    const agents = Number(process.env.BENCH_AGENTS ?? 1000);
    const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 2000);
    const load = () =>
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    const load0 = load();
    const fan = await benchSelftest(
      agents,
      latencyMs,
      10,
      true,
      { kind: 'all-in-one' },
      process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined,
    );
    const load1 = load();
    const k = await benchKubectlLoops(agents, latencyMs, 50, Number(process.env.BENCH_KUBECTL_SEQUENTIAL ?? 5));
    const load2 = load();
    const tlsFloor = await benchTlsFloor(500);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const seqMs = k.sequentialPerPodMs * agents;
    const vsSeq = seqMs / fan.wallMs;
    const vsPar = k.parallelMs / fan.wallMs;
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `\n== fan-out goals (issue 19): ${agents} agents x ${latencyMs / 1000} s, self-test then status (agent 7.50.3: in one exec session through the image's sh), simulator in its own process; kubectl ${k.kubectlVersion} ==`,
    );
    console.log(`machine load average (1, 5, 15 min): before ${load0}; after the fan-out ${load1}; after the kubectl loops ${load2}`);
    console.log(
      `npm start (bot + worker, one process), concurrency ${fan.concurrency}: ${s(fan.wallMs)} (${fan.ok}/${agents} OK), ${fan.execSessions} exec sessions (${(fan.execSessions / agents).toFixed(2)} per agent), peak RSS ${fan.peakRssMb.toFixed(0)} MB (idle ${fan.idleRssMb.toFixed(0)} MB)`,
    );
    console.log(`parallel kubectl loop \`${PARALLEL_LOOP(k.parallelism)}\`: ${s(k.parallelMs)} (${k.parallelOk}/${agents} OK)`);
    console.log(
      `sequential kubectl loop: ${s(k.sequentialPerPodMs)} per pod, measured on ${k.sequentialSample} pods -> ${s(seqMs)} for ${agents} (extrapolated)`,
    );
    console.log(
      `TLS floor: ${tlsFloor.handshakes} concurrent handshakes in ${tlsFloor.wallMs.toFixed(0)} ms, client CPU ${tlsFloor.clientCpuMsEach.toFixed(2)} ms each (${fan.execSessions} sessions = ${((fan.execSessions * tlsFloor.clientCpuMsEach) / 1000).toFixed(2)} s of handshake CPU in the worker)`,
    );
    console.log(`goal <= 5 s for ${agents} x ${latencyMs / 1000} s: ${s(fan.wallMs)} -> ${met(fan.wallMs <= 5000)}`);
    console.log(`goal >= 400x the sequential loop: ${vsSeq.toFixed(0)}x -> ${met(vsSeq >= 400)}`);
    console.log(`goal >= 10x the parallel kubectl loop: ${vsPar.toFixed(1)}x -> ${met(vsPar >= 10)}`);
    console.log(`goal npm start <= 200 MB RSS: ${fan.peakRssMb.toFixed(0)} MB -> ${met(fan.peakRssMb <= 200)}`);
  }
  if (section.startsWith('selftest')) {
    const agents = Number(process.env.BENCH_AGENTS ?? 1000);
    {
      const readStatus = section !== 'selftest-no-status';
      const layout: BenchLayout =
        section === 'selftest-all-in-one'
          ? { kind: 'all-in-one' }
          : { kind: 'workers', replicas: section === 'selftest-2-replicas' ? 2 : Number(process.env.BENCH_REPLICAS ?? 1) };
      const r = await benchSelftest(
        agents,
        Number(process.env.BENCH_LATENCY_MS ?? 2000),
        10,
        readStatus,
        layout,
        process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined,
      );
      const who =
        r.layout.kind === 'all-in-one'
          ? 'bot + worker in one process (npm start)'
          : r.layout.replicas === 1
            ? 'one worker process'
            : `${r.layout.replicas} worker replicas sharing it`;
      const seqTotal = r.sequentialPerPodMs * r.agents;
      console.log(
        `\n== cluster self-test: ${r.agents} agents x ${r.latencyMs / 1000} s, concurrency ${r.concurrency}${process.env.BENCH_CONCURRENCY ? '' : ' (default)'}, readStatus ${r.readStatus} (${r.readStatus ? 'self-test and status' : 'self-test only'}), ${who}; simulator in its own process ==`,
      );
      console.log(
        `wall time: ${(r.wallMs / 1000).toFixed(2)} s   (${r.ok}/${r.agents} OK), ${r.execSessions} exec sessions (${(r.execSessions / r.agents).toFixed(2)} per agent)`,
      );
      console.log(
        `ideal ceil(${r.agents}/${r.concurrency}) x ${r.latencyMs / 1000} s = ${(r.idealMs / 1000).toFixed(1)} s  -> ratio ${(r.wallMs / r.idealMs).toFixed(2)}x   goal <= 1.2x -> ${r.wallMs <= 1.2 * r.idealMs ? 'met' : 'NOT met'}`,
      );
      console.log(
        `sequential loop: ${(r.sequentialPerPodMs / 1000).toFixed(2)} s per pod (measured on ${r.sequentialSample} pods) -> ${(seqTotal / 1000).toFixed(0)} s for ${r.agents}; speed-up ${(seqTotal / r.wallMs).toFixed(0)}x   DESIGN target <= 10 s and >= 200x -> ${r.wallMs <= 10_000 && seqTotal / r.wallMs >= 200 ? 'met' : 'NOT met'}`,
      );
      console.log(`Slack chat calls for the job: ${r.slackChatCalls}   goal <= 40 -> ${r.slackChatCalls <= 40 ? 'met' : 'NOT met'}`);
      const rssOf = r.layout.kind === 'all-in-one' ? 'bot + worker RSS' : r.layout.replicas > 1 ? 'worker RSS (largest replica)' : 'worker RSS';
      console.log(
        `${rssOf}: idle ${r.idleRssMb.toFixed(0)} MB, peak ${r.peakRssMb.toFixed(0)} MB (+${(r.peakRssMb - r.idleRssMb).toFixed(0)} MB for the job)   goal <= 200 MB -> ${r.peakRssMb <= 200 ? 'met' : 'NOT met'}`,
      );
      if (r.layout.kind === 'workers') console.log(`bot process (bot + Slack emulator + this script) peak RSS: ${r.benchPeakRssMb.toFixed(0)} MB`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
