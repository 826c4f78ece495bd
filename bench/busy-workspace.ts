/**
 * A busy workspace: N fleet self-tests at once (default 12 clusters × 60 agents × 2 s), started
 * by N users in a few channels of one workspace, against the Slack emulator with Slack's rate
 * limits ON (its default: chat.update tier 3 per workspace, chat.postMessage per channel, 429
 * with Retry-After). The bot (and its one pacer) and the emulator run in this process, the
 * worker as `npm run worker` runs it, the simulator in its own process; the N clusters are N
 * entries of the bot's config pointing at one simulated fleet.
 *
 * Measured in one run: a lone job first (after one warm-up job, so neither figure pays for JIT
 * or first connections), then the N jobs at once, then a second lone job (printed, to show how
 * much this machine's noise moves a figure); each job's time runs from its slash command to the
 * moment the emulator applied its final message (the one carrying the `cws_selftest_result`
 * metadata), and is split at the job's BullMQ `finishedOn`: the worker's part (N clusters share
 * one worker process and one simulator here, where a real workspace's clusters each have their
 * own) and the bot's and Slack's part (the pacer, 429s).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlackMessage } from '../src/sandbox/slack-api.ts';
import { startHarness } from '../test/support/harness.ts';
import { startWorkerProcess } from '../test/support/worker-process.ts';
import { startSimProcess, stopChild, WORKER_NODE_ARGS } from './selftest.ts';

export interface BusyWorkspaceBench {
  jobs: number;
  agents: number;
  latencyMs: number;
  channels: string[];
  /** The emulator's figures, when it enforces limits (printed for context; the bot is not told them). */
  limits?: { update: { capacity: number; refillPerSec: number }; postPerChannel: { capacity: number; refillPerSec: number } };
  loneMs: number;
  /** A second lone job, after the busy phase: how much the machine's own noise moves the figure. */
  loneAfterMs: number;
  /** Per busy job, command to final message, ms, in start order. */
  finalsMs: number[];
  /** Per busy job, the worker's part: command to the job finished (BullMQ finishedOn). */
  jobsMs: number[];
  /** Per busy job, the bot's and Slack's part: job finished to final message applied. */
  slackLagMs: number[];
  loneSlackLagMs: number;
  /** Calls the emulator answered 429, in the busy phase and in the whole run. */
  answered429: number;
  answered429Run: number;
  /** Bot's Web API chat.* calls in the busy phase (all methods: posts, edits, thread replies). */
  chatCalls: Record<string, number>;
  loneChatCalls: number;
  /** Progress states the notifier merged into a later one instead of sending. */
  coalesced: number;
  ok: number;
}

interface Limited {
  limiter?: {
    config: { methods: Record<string, { capacity: number; refillPerSec: number }>; postMessagePerChannel: { capacity: number; refillPerSec: number } };
  };
}

export async function benchBusyWorkspace(jobs = 12, agents = 60, latencyMs = 2000, channelCount = 4): Promise<BusyWorkspaceBench> {
  const dir = mkdtempSync(join(tmpdir(), 'cws-bench-busy-'));
  const fleetPath = join(dir, 'fleet.yaml');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    fleetPath,
    `name: busy\nnodes:\n  count: ${agents}\n  selftest: { stdout: "Runtime self test: OK\\n", exitCode: 0, latencyMs: ${latencyMs} }\n`,
  );
  const sim = await startSimProcess(fleetPath, kubeconfig);
  const busy = Array.from({ length: jobs }, (_, i) => `busy-${i + 1}`);
  const clusters = ['warm', 'lone', 'lone-after', ...busy];
  const yaml = `clusters:\n${clusters.map((c) => `  ${c}: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: busy }\n`).join('')}`;
  const configPath = join(dir, 'clusters.yaml');
  writeFileSync(configPath, yaml);
  const channels = Array.from({ length: channelCount }, (_, i) => `CBUSY${i + 1}`);

  const h = await startHarness({ clustersYaml: yaml, minIntervalMs: 1000, withWorker: false });
  const worker = await startWorkerProcess({ redisUrl: h.redis.url, configPath, lockMs: 30_000, built: true, nodeArgs: WORKER_NODE_ARGS });
  try {
    const finals = new Map<string, { at: number; wall: number; ok: number; jobId: string }>();
    const seen = (m: SlackMessage) => {
      if (m.metadata?.event_type !== 'cws_selftest_result') return;
      const cluster = String(m.metadata.event_payload.cluster);
      if (!finals.has(cluster))
        finals.set(cluster, {
          at: performance.now(),
          wall: Date.now(),
          ok: Number(m.metadata.event_payload.ok),
          jobId: String(m.metadata.event_payload.jobId),
        });
    };
    h.emu.setMaxListeners(4 * jobs + 20); // one waitFor per job
    h.emu.on('message_updated', seen);
    h.emu.on('message_posted', seen);
    const finishedOn = async (cluster: string, jobId: string): Promise<number> => {
      const job = await h.bot.services.producer.getJob(cluster, jobId);
      if (!job?.finishedOn) throw new Error(`job ${jobId} of ${cluster}: no finishedOn`);
      return job.finishedOn;
    };
    const wall0 = new Map<string, number>();
    const run = async (cluster: string, channel: string, user: string): Promise<number> => {
      const t0 = performance.now();
      wall0.set(cluster, Date.now());
      const res = await h.signer.command(`selftest ${cluster}`, { channelId: channel, userId: user });
      if (res.status !== 200) throw new Error(`/cws selftest ${cluster}: HTTP ${res.status}`);
      return t0;
    };
    const finalOf = (cluster: string) => h.emu.waitFor(() => finals.get(cluster), { timeoutMs: 180_000, pollMs: 10 });
    const settled = () => h.emu.waitFor(() => h.bot.notifier.backlog === 0, { timeoutMs: 60_000, pollMs: 20 });
    const chatCallsSince = (mark: number) => h.emu.calls.slice(mark).filter((c) => c.method.startsWith('chat.'));

    await run('warm', 'CWARM', 'UWARM0001');
    await finalOf('warm');
    await settled();

    const loneMark = h.emu.calls.length;
    const loneT0 = await run('lone', 'CLONE', 'ULONE0001');
    const lone = await finalOf('lone');
    const loneMs = lone.at - loneT0;
    const loneSlackLagMs = lone.wall - (await finishedOn('lone', lone.jobId));
    await settled();
    const loneChatCalls = chatCallsSince(loneMark).length;

    const mark = h.emu.calls.length;
    const coalescedBefore = h.bot.notifier.stats.coalesced;
    const t0s = await Promise.all(busy.map((c, i) => run(c, channels[i % channels.length]!, `UBUSY${String(i + 1).padStart(4, '0')}`)));
    const done = await Promise.all(busy.map((c) => finalOf(c)));
    await settled();
    const finished = await Promise.all(busy.map((c, i) => finishedOn(c, done[i]!.jobId)));
    const calls = h.emu.calls.slice(mark);
    const chatCalls: Record<string, number> = {};
    for (const c of calls) if (c.method.startsWith('chat.')) chatCalls[c.method] = (chatCalls[c.method] ?? 0) + 1;
    const afterT0 = await run('lone-after', 'CLONE', 'ULONE0002');
    const loneAfterMs = (await finalOf('lone-after')).at - afterT0;
    const cfg = (h.emu as unknown as Limited).limiter?.config;
    const update = cfg?.methods['chat.update'];
    return {
      jobs,
      agents,
      latencyMs,
      channels,
      ...(cfg && update ? { limits: { update, postPerChannel: cfg.postMessagePerChannel } } : {}),
      loneMs,
      loneAfterMs,
      finalsMs: done.map((d, i) => d.at - t0s[i]!),
      jobsMs: finished.map((f, i) => f - wall0.get(busy[i]!)!),
      slackLagMs: done.map((d, i) => d.wall - finished[i]!),
      loneSlackLagMs,
      answered429: calls.filter((c) => c.status === 429).length,
      answered429Run: h.emu.calls.filter((c) => c.status === 429).length,
      chatCalls,
      loneChatCalls,
      coalesced: h.bot.notifier.stats.coalesced - coalescedBefore,
      ok: done.reduce((n, d) => n + d.ok, 0),
    };
  } finally {
    await stopChild(worker);
    await h.close();
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
