import { basename } from 'node:path';
import { type Job, UnrecoverableError } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { collapseFileList, reviewArchive } from '../../src/flare/archive.ts';
import { flareDecisionKey } from '../../src/jobs/queues.ts';
import { FlareJobData, type FlareProgress, type FlareResult } from '../../src/jobs/schemas.ts';
import { ExecTimeoutError, formatSeconds } from '../targets/errors.ts';
import type { AgentRef, AgentTarget, ExecSession } from '../targets/types.ts';

export interface FlareDeps {
  target: AgentTarget;
  redis: RedisOptions;
  buildTimeoutMs: number;
  uploadTimeoutMs: number;
  failure: (code: string, message: string, hint?: string) => string;
  /** Aborted when the worker shuts down: open reviews are answered "no". */
  shutdown?: AbortSignal;
}

/* Strings of the real `security-agent flare` (src/sim/FLARE-SOURCES.md). */
const ARCHIVE_LINE = /^(\/\S+\.zip) is going to be uploaded to Datadog/m;
const CONFIRM_PROMPT = /Are you sure you want to upload a flare\? \[y\/N\]/;
const UPLOADED = /Your logs were successfully uploaded\. For future reference, your internal case id is (\d+)/;
const MAX_ARCHIVE = 512 * 1024 * 1024;

const tail = (s: string, n = 6) => s.split(/\r?\n/).map((l) => l.trimEnd()).filter(Boolean).slice(-n).join('\n');

/**
 * Stage 1 builds the archive with the agent's own `flare`, kept waiting at its confirmation
 * prompt (stdin open), reads the archive through a second exec and publishes the review as
 * progress. Stage 2 answers the prompt: "y" uploads exactly the reviewed archive with the
 * agent's uploader; "n" (cancel, expiry) aborts and the archive is removed. If this worker
 * dies, the session ends, the agent reads EOF and aborts: nothing leaves the node.
 */
export async function processFlare(job: Job, d: FlareDeps): Promise<FlareResult> {
  const data = FlareJobData.parse(job.data);
  if (data.reviewStarted) {
    // This job is running again after its worker stopped mid-review.
    return {
      kind: 'flare',
      cluster: data.cluster,
      node: data.node ?? '?',
      pod: '?',
      stage: 'failed',
      reason: 'session_lost',
      agentOutput: `The worker holding the flare session stopped before a decision; the agent's prompt saw the session end and aborted, so nothing was sent.${
        data.archivePath ? ` The archive is still on the node at ${data.archivePath}.` : ''
      }`,
    };
  }
  if (!d.target.openSession) throw new UnrecoverableError(d.failure('unsupported', `flares are not supported on ${d.target.kind} targets`));
  const agents = await d.target.listAgents(data.node ? { node: data.node } : undefined);
  const agent: AgentRef | undefined = agents[0];
  if (!agent) throw new UnrecoverableError(d.failure('no_agent', `no agent found${data.node ? ` on node ${data.node}` : ''} in ${data.cluster}`, 'Check the node name with `/cws selftest`.'));
  if (agent.unavailable) throw new UnrecoverableError(d.failure('agent_unavailable', agent.unavailable, 'Pick another node or restart the agent first.'));
  const base = { kind: 'flare' as const, cluster: data.cluster, node: agent.node, pod: agent.pod, ...(data.caseId ? { caseId: data.caseId } : {}) };
  await job.updateProgress({ stage: 'building', node: agent.node, pod: agent.pod } satisfies FlareProgress);

  const argv = ['security-agent', 'flare', ...(data.caseId ? [data.caseId] : []), '-e', data.email];
  const session = await d.target.openSession(agent, argv, { container: 'securityAgent' });
  try {
    const built = await session.waitForOutput(ARCHIVE_LINE, d.buildTimeoutMs).catch((e) => (e instanceof ExecTimeoutError ? null : Promise.reject(e)));
    if (!built) {
      const out = session.output();
      return { ...base, stage: 'failed', reason: 'build_failed', agentOutput: tail(`${out.stdout}\n${out.stderr}`) || `the flare was not built within ${formatSeconds(d.buildTimeoutMs)}` };
    }
    const path = built[1]!;
    const prompt = await session.waitForOutput(CONFIRM_PROMPT, 30_000).catch(() => null);
    if (!prompt) {
      const out = session.output();
      return { ...base, stage: 'failed', reason: 'build_failed', agentOutput: tail(`${out.stdout}\n${out.stderr}`) || 'the agent did not ask for confirmation' };
    }

    const cat = await d.target.exec(agent, ['cat', path], { timeoutMs: 120_000, binary: true, maxBytes: MAX_ARCHIVE, container: 'securityAgent' });
    if (cat.exitCode !== 0 || !cat.stdoutBytes) {
      await answer(session, 'n');
      return { ...base, stage: 'failed', reason: 'build_failed', agentOutput: `could not read ${path} on the agent: ${tail(cat.stderr || cat.stdout, 2)}` };
    }
    let review;
    try {
      review = reviewArchive(cat.stdoutBytes);
    } catch (err) {
      await answer(session, 'n');
      return { ...base, stage: 'failed', reason: 'build_failed', agentOutput: `${path}: ${(err as Error).message}` };
    }
    const archive = { path, name: basename(path), bytes: review.bytes, files: review.files.length };
    await job.updateData({ ...data, reviewStarted: true, archivePath: path });
    await job.updateProgress({
      stage: 'review',
      node: agent.node,
      pod: agent.pod,
      archive,
      fileList: collapseFileList(review.files),
      findings: review.findings.slice(0, 20),
      skipped: review.skipped,
      expiresAt: data.expiresAt,
    } satisfies FlareProgress);

    const decision = await waitForDecision(d.redis, flareDecisionKey(job.id!), Date.parse(data.expiresAt), session, d.shutdown);
    if (decision === 'send') {
      await job.updateProgress({ stage: 'sending', node: agent.node, pod: agent.pod, archive } satisfies FlareProgress);
      session.write('y\n');
      let res;
      try {
        res = await session.result(d.uploadTimeoutMs);
      } catch (err) {
        if (!(err instanceof ExecTimeoutError)) throw err;
        return { ...base, stage: 'failed', reason: 'upload_failed', archive, agentOutput: `the upload did not finish within ${formatSeconds(d.uploadTimeoutMs)}; the session was closed. ${tail(session.output().stdout, 2)}` };
      }
      const out = `${res.stdout}\n${res.stderr}`;
      const ok = UPLOADED.exec(out);
      if (ok && res.exitCode === 0) return { ...base, stage: 'sent', reason: 'sent', archive, caseId: ok[1]!, agentOutput: ok[0] };
      return { ...base, stage: 'failed', reason: 'upload_failed', archive, agentOutput: tail(out.slice(out.search(CONFIRM_PROMPT))) };
    }
    if (decision === 'ended') {
      const out = session.output();
      return { ...base, stage: 'failed', reason: 'session_lost', archive, agentOutput: `the agent's flare ended before a decision: ${tail(`${out.stdout}\n${out.stderr}`, 3)}` };
    }
    await answer(session, 'n');
    if (decision === 'shutdown')
      return { ...base, stage: 'cancelled', reason: 'session_lost', archive, agentOutput: `the worker shut down before a decision; the agent was told no and nothing was sent (the archive stays at ${path}).` };
    const rm = await d.target.exec(agent, ['rm', '-f', path], { timeoutMs: 30_000, container: 'securityAgent' }).catch(() => undefined);
    return {
      ...base,
      stage: 'cancelled',
      reason: decision === 'expired' ? 'expired' : 'cancelled',
      archive,
      archiveRemoved: rm?.exitCode === 0,
      agentOutput: tail(session.output().stdout, 1),
    };
  } finally {
    session.close();
  }
}

async function answer(session: ExecSession, text: string): Promise<void> {
  session.write(`${text}\n`);
  session.endStdin();
  await session.result(30_000).catch(() => undefined);
}

/** Blocks on the decision list until a decision, the expiry, or the end of the agent's command. */
async function waitForDecision(
  opts: RedisOptions,
  key: string,
  expiresAt: number,
  session: ExecSession,
  shutdown?: AbortSignal,
): Promise<'send' | 'cancel' | 'expired' | 'ended' | 'shutdown'> {
  const redis = new Redis({ ...opts, maxRetriesPerRequest: null });
  redis.on('error', () => {});
  let ended = false;
  void session.result(24 * 3600_000).then(
    () => (ended = true),
    () => (ended = true),
  );
  try {
    for (;;) {
      if (ended) return 'ended';
      if (shutdown?.aborted) return 'shutdown';
      const left = expiresAt - Date.now();
      if (left <= 0) return 'expired';
      const got = await redis.blpop(key, Math.min(0.5, Math.max(0.05, left / 1000)));
      if (got?.[1] === 'send' || got?.[1] === 'cancel') return got[1];
    }
  } finally {
    redis.disconnect();
  }
}
