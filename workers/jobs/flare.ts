import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { collapseFileList, reviewArchiveAsync } from '../flare/archive.ts';
import { type FlareLocks, flareLockScope, heartbeat, redisLocks } from '../../src/contract/flare-lock.ts';
import { maskSecrets } from '../../src/core/flare/secrets.ts';
import { flareDecisionKey } from '../../src/contract/queues.ts';
import { FlareJobData, type FailureCode, type FlareProgress, type FlareResult } from '../../src/contract/jobs.ts';
import { AgentNotFoundError, ExecTimeoutError, formatSeconds, TargetError } from '../targets/errors.ts';
import type { AgentContainer, AgentRef, AgentTarget, ExecSession } from '../targets/types.ts';

/**
 * Which flare the agent's layout gives: `security-agent flare` in the security-agent container, or,
 * in a pod without one (the newer system-probe-only layouts), the core agent's `agent flare` in the
 * `agent` container (src/sim/FLARE-SOURCES.md §8: same `-e`, path line, `[y/N]` prompt, abort and
 * upload lines, exit codes; its archive is in /tmp of the agent container, so it is read, hashed and
 * removed there). The review-before-upload steps are the same for both. On a host the layout is
 * known only when the command starts: a security-agent that is not installed there falls back to
 * the core agent's `agent flare` (runFlare; FLARE-SOURCES.md §9); so does a Docker container (one container
 * running every agent process, as the `datadog/agent` image does: FLARE-SOURCES.md §10).
 */
export interface FlareFlavour {
  binary: 'security-agent' | 'agent';
  container: AgentContainer;
}
export function flareFlavour(target: AgentTarget, agent: AgentRef): FlareFlavour {
  const names = target.containerNames ?? { securityAgent: 'security-agent', systemProbe: 'system-probe' };
  if (agent.containers && !agent.containers.includes(names.securityAgent) && agent.containers.includes('agent')) return { binary: 'agent', container: 'agent' };
  return { binary: 'security-agent', container: 'securityAgent' };
}

export interface FlareDeps {
  target: AgentTarget;
  /**
   * The cluster worker's one shared, non-blocking Redis client: the lock and the decision of
   * every open review go through it (polled), so open reviews open no connections of their own.
   */
  redis: Redis;
  buildTimeoutMs: number;
  uploadTimeoutMs: number;
  failure: (code: FailureCode, message: string, hint?: string) => string;
  /** Aborted when the worker shuts down: open reviews are answered "no". */
  shutdown?: AbortSignal;
  /** How long to wait for the bot to take the per-node lock after enqueueing (tests shorten it). */
  lockWaitMs?: number;
  /** The per-node flare locks; default: in Redis (`redis`), as the bot takes them. */
  locks?: FlareLocks;
}

/* Strings of the real `security-agent flare` and core `agent flare` (src/sim/FLARE-SOURCES.md §1–4, §8): the same. */
const ARCHIVE_LINE = /^(\/\S+\.zip) is going to be uploaded to Datadog/m;
const CONFIRM_PROMPT = /Are you sure you want to upload a flare\? \[y\/N\]/;
const UPLOADED = /Your logs were successfully uploaded\. For future reference, your internal case id is (\d+)/;
/** `security-agent flare` when the security-agent process does not answer (FLARE-SOURCES.md §1 step 4, §9): it builds locally. */
const SECURITY_AGENT_NOT_RUNNING = /The agent was unable to make a full flare: .*\n(?:.*\n)*?Initiating flare locally, some logs will be missing\./;
const MAX_ARCHIVE = 512 * 1024 * 1024;
/** `sha256sum FILE` (GNU coreutils, busybox): "<64 hex>  FILE", a leading "\" when the name is escaped. */
const SHA256SUM_LINE = /^\\?([0-9a-f]{64}) [ *]/;

/** The last lines of agent output, with every secret masked: the only way agent text reaches a result. */
const tail = (s: string, n = 6) =>
  maskSecrets(
    s
      .split(/\r?\n/)
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-n)
      .join('\n'),
  ).slice(0, 2000);

/** How often an open review looks for its decision (one LPOP on the shared client). */
const DECISION_POLL_MS = 250;

const short = (sha: string) => `${sha.slice(0, 12)}…`;

type Digest = { sha256: string; bytes?: number; via: 'sha256sum' | 'cat' } | { missing: true } | { error: string };

/**
 * Stage 1 builds the archive with the agent's own `flare`, kept waiting at its confirmation
 * prompt (stdin open), reads the archive through a second exec and publishes the review as
 * progress, with the archive's size and SHA-256. Stage 2 answers the prompt: before "y", the
 * file at the archive's path is hashed again on the agent; only the reviewed bytes get a "y"
 * (anything else: "n", and the result says why). Cancel and expiry answer "n" and remove the
 * archive only if the file is still the reviewed one. One flare per node at a time (lock.ts),
 * held from before the build to the end. If this worker dies, the session ends, the agent reads
 * EOF and aborts: nothing leaves the node, and the lock lapses.
 */
export async function processFlare(job: Job, d: FlareDeps): Promise<FlareResult> {
  const data = FlareJobData.parse(job.data);
  const jobId = job.id!;
  const redis = () => d.redis;
  const locks = d.locks ?? redisLocks(d.redis);
  let scope = data.lock?.scope;
  try {
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
    if (!agent)
      throw new UnrecoverableError(
        d.failure('no_agent', `no agent found${data.node ? ` on node ${data.node}` : ''} in ${data.cluster}`, 'Check the node name with `/cws selftest`.'),
      );
    if (agent.unavailable) throw new UnrecoverableError(d.failure('agent_unavailable', agent.unavailable, 'Pick another node or restart the agent first.'));
    const base = {
      kind: 'flare' as const,
      cluster: data.cluster,
      node: agent.node,
      pod: agent.pod,
      ...(data.caseId ? { caseId: data.caseId } : {}),
      command: `${flareFlavour(d.target, agent).binary} flare`,
    };

    scope ??= flareLockScope(data.cluster, d.target.kind, agent.node);
    const lock = await locks.acquire(scope, { job: jobId, by: data.requestedBy, node: agent.node }, d.lockWaitMs);
    if (!lock.held) {
      scope = undefined; // not ours: never released by this job
      const h = lock.holder;
      return {
        ...base,
        stage: 'failed',
        reason: 'busy',
        agentOutput: `a flare is already under review on ${h?.node ?? agent.node}${h ? ` (job ${h.job})` : ''}: this one was not started and nothing was built.`,
        ...(h ? { heldBy: { user: h.by, job: h.job } } : {}),
      };
    }
    const stopBeat = heartbeat(locks, scope, jobId);
    try {
      return await runFlare(job, d, data, agent, base, redis);
    } finally {
      stopBeat();
    }
  } finally {
    if (scope) await locks.release(scope, jobId).catch(() => undefined);
  }
}

type Base = Pick<FlareResult, 'kind' | 'cluster' | 'node' | 'pod' | 'caseId' | 'command'>;

class SecurityAgentNotRunning extends Error {
  override message = 'security-agent is not running (its flare fell back to a partial local build)';
}

/**
 * Opens the flare and waits for its path line. A host without security-agent (not installed, or
 * installed and not running while the core agent is there) gets the core agent's flare.
 */
async function startFlare(
  job: Job,
  d: FlareDeps,
  data: FlareJobData,
  agent: AgentRef,
  base: Base,
): Promise<{ f: FlareFlavour; base: Base; session: ExecSession; built: RegExpExecArray | null }> {
  let f = flareFlavour(d.target, agent);
  const open = async (fl: FlareFlavour) => {
    const argv = [fl.binary, 'flare', ...(data.caseId ? [data.caseId] : []), '-e', data.email];
    const session = await d.target.openSession!(agent, argv, { container: fl.container });
    try {
      const built = await session.waitForOutput(ARCHIVE_LINE, d.buildTimeoutMs).catch((e) => (e instanceof ExecTimeoutError ? null : Promise.reject(e)));
      return { session, built };
    } catch (err) {
      session.close();
      throw err;
    }
  };
  // Host and Docker targets see no pod layout: the fallback is decided from what the command did (FLARE-SOURCES.md §9, §10).
  const fallsBack = (d.target.kind === 'host' || d.target.kind === 'docker') && f.binary === 'security-agent';
  const coreAgentInstalled = async () => (await (d.target as { hasProgram?: (p: string) => boolean | Promise<boolean> }).hasProgram?.('agent')) === true;
  try {
    const first = await open(f);
    // A host whose security-agent is installed but not running (the newer direct-send layouts): its flare
    // falls back to a partial local build; the core agent's flare is the one that holds the logs. That
    // archive was never reviewed: the agent is told no and the file removed before the core agent builds.
    const out = first.session.output();
    if (!(fallsBack && first.built && SECURITY_AGENT_NOT_RUNNING.test(`${out.stdout}\n${out.stderr}`) && (await coreAgentInstalled())))
      return { f, base, ...first };
    await first.session.waitForOutput(CONFIRM_PROMPT, 30_000).catch(() => null);
    await answer(first.session, 'n');
    first.session.close();
    await d.target.exec(agent, ['rm', '-f', first.built[1]!], { timeoutMs: 30_000, container: f.container }).catch(() => undefined);
    throw new SecurityAgentNotRunning();
  } catch (err) {
    if (!(err instanceof SecurityAgentNotRunning) && !(err instanceof AgentNotFoundError && fallsBack)) throw err;
    f = { binary: 'agent', container: 'agent' };
    const next = { ...base, command: 'agent flare' };
    await job.updateProgress({ stage: 'building', node: agent.node, pod: agent.pod, command: next.command } satisfies FlareProgress);
    try {
      return { f, base: next, ...(await open(f)) };
    } catch (err2) {
      if (err2 instanceof AgentNotFoundError)
        throw new AgentNotFoundError(
          `${err.message}, and no core agent either (${err2.message})`,
          d.target.kind === 'docker'
            ? "Check the cluster's `container` setting: it must name the container of the agent image."
            : "Check the cluster's `binary` setting.",
        );
      throw err2;
    }
  }
}

async function runFlare(job: Job, d: FlareDeps, data: FlareJobData, agent: AgentRef, base0: Base, redis: () => Redis): Promise<FlareResult> {
  await job.updateProgress({ stage: 'building', node: agent.node, pod: agent.pod, command: base0.command } satisfies FlareProgress);
  const { f, base, session, built } = await startFlare(job, d, data, agent, base0);
  try {
    if (!built) {
      const out = session.output();
      return {
        ...base,
        stage: 'failed',
        reason: 'build_failed',
        agentOutput: tail(`${out.stdout}\n${out.stderr}`) || `the flare was not built within ${formatSeconds(d.buildTimeoutMs)}`,
      };
    }
    const path = built[1]!;
    // What the bot shows and stores of the path: masked like everything else from the node.
    const shownPath = maskSecrets(path);
    const prompt = await session.waitForOutput(CONFIRM_PROMPT, 30_000).catch(() => null);
    if (!prompt) {
      const out = session.output();
      return {
        ...base,
        stage: 'failed',
        reason: 'build_failed',
        agentOutput: tail(`${out.stdout}\n${out.stderr}`) || 'the agent did not ask for confirmation',
      };
    }

    // The archive's digest on the agent, then its bytes through a second exec: both must agree.
    const before = await digestOnAgent(d.target, agent, path, f.container);
    const cat = await d.target.exec(agent, ['cat', path], { timeoutMs: 120_000, binary: true, maxBytes: MAX_ARCHIVE, container: f.container });
    if (cat.exitCode !== 0 || !cat.stdoutBytes) {
      await answer(session, 'n');
      // stderr only, masked: stdout is the archive's bytes, which never leave the worker unscanned.
      return {
        ...base,
        stage: 'failed',
        reason: 'build_failed',
        agentOutput: `could not read ${shownPath} on the agent (exit code ${cat.exitCode}): ${tail(cat.stderr, 2) || 'no error message'}. The agent was told no; nothing was sent.`,
      };
    }
    const bytes = cat.stdoutBytes;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if ('error' in before || 'missing' in before || before.sha256 !== sha256) {
      await answer(session, 'n');
      const why =
        'error' in before
          ? `its SHA-256 could not be computed on the agent (${before.error})`
          : 'missing' in before
            ? 'it was not there when hashed on the agent'
            : `it changed while it was being read (SHA-256 on the agent ${short(before.sha256)}, of the bytes read ${short(sha256)}${bytes.length >= MAX_ARCHIVE ? `; the archive is over ${MAX_ARCHIVE / 1024 / 1024} MiB` : ''})`;
      return { ...base, stage: 'failed', reason: 'build_failed', agentOutput: `${shownPath}: ${why}. The agent was told no; nothing was sent.` };
    }
    let review;
    try {
      review = await reviewArchiveAsync(bytes);
    } catch (err) {
      await answer(session, 'n');
      return {
        ...base,
        stage: 'failed',
        reason: 'build_failed',
        agentOutput: maskSecrets(`${shownPath}: ${(err as Error).message}. The agent was told no; nothing was sent.`),
      };
    }
    const archive = { path: shownPath, name: basename(shownPath), bytes: review.bytes, files: review.files.length, sha256 };
    await job.updateData({ ...data, reviewStarted: true, archivePath: shownPath });
    await job.updateProgress({
      stage: 'review',
      node: agent.node,
      pod: agent.pod,
      archive,
      fileList: collapseFileList(review.files),
      findings: review.findings.slice(0, 20),
      findingsTotal: review.findingsTotal,
      notScanned: review.notScanned.slice(0, 50),
      expiresAt: data.expiresAt,
      command: base.command,
    } satisfies FlareProgress);

    const decision = await waitForDecision(redis(), flareDecisionKey(job.id!), Date.parse(data.expiresAt), session, d.shutdown);
    if (decision === 'send') {
      await job.updateProgress({ stage: 'sending', node: agent.node, pod: agent.pod, archive, command: base.command } satisfies FlareProgress);
      // Uploaded = reviewed: the agent sends the file at `path` after "y"; check that it still is that file.
      const now = await digestOnAgent(d.target, agent, path, f.container);
      if (!('sha256' in now) || now.sha256 !== sha256 || (now.bytes !== undefined && now.bytes !== review.bytes)) {
        await answer(session, 'n');
        const found =
          'sha256' in now
            ? `it now has SHA-256 ${short(now.sha256)}, the reviewed one ${short(sha256)}`
            : 'missing' in now
              ? 'the file is gone'
              : `its SHA-256 could not be checked (${now.error})`;
        return {
          ...base,
          stage: 'failed',
          reason: 'archive_changed',
          archive,
          agentOutput: tail(session.output().stdout, 1),
          warning: `The file at ${shownPath} is not the archive that was reviewed (${found}), so the agent was told no: nothing was sent.`,
        };
      }
      session.write('y\n');
      let res;
      try {
        res = await session.result(d.uploadTimeoutMs);
      } catch (err) {
        if (!(err instanceof ExecTimeoutError)) throw err;
        return {
          ...base,
          stage: 'failed',
          reason: 'upload_failed',
          archive,
          agentOutput: `the upload did not finish within ${formatSeconds(d.uploadTimeoutMs)}; the session was closed. ${tail(session.output().stdout, 2)}`,
        };
      }
      const out = `${res.stdout}\n${res.stderr}`;
      const ok = UPLOADED.exec(out);
      // Between the check and the agent reading the file there is a moment: look again, and say so if it moved.
      const after = await digestOnAgent(d.target, agent, path, f.container);
      const moved =
        'sha256' in after && after.sha256 !== sha256
          ? {
              warning: `The file at ${shownPath} changed during the upload (SHA-256 now ${short(after.sha256)}): what Datadog received may not be the reviewed archive.`,
            }
          : {};
      if (ok && res.exitCode === 0) return { ...base, stage: 'sent', reason: 'sent', archive, caseId: ok[1]!, agentOutput: ok[0], ...moved };
      return { ...base, stage: 'failed', reason: 'upload_failed', archive, agentOutput: tail(out.slice(Math.max(0, out.search(CONFIRM_PROMPT)))), ...moved };
    }
    if (decision === 'ended') {
      const out = session.output();
      return {
        ...base,
        stage: 'failed',
        reason: 'session_lost',
        archive,
        agentOutput: `the agent's flare ended before a decision: ${tail(`${out.stdout}\n${out.stderr}`, 3)}`,
      };
    }
    await answer(session, 'n');
    if (decision === 'shutdown')
      return {
        ...base,
        stage: 'cancelled',
        reason: 'session_lost',
        archive,
        agentOutput: `the worker shut down before a decision; the agent was told no and nothing was sent (the archive stays at ${shownPath}).`,
      };
    // Remove our own archive only: the file at the path must still be the reviewed one.
    const removal = await removeIfReviewed(d.target, agent, path, sha256, f.container);
    return {
      ...base,
      stage: 'cancelled',
      reason: decision === 'expired' ? 'expired' : 'cancelled',
      archive,
      archiveRemoved: removal === 'removed',
      ...(removal === 'replaced' ? { archiveReplaced: true } : removal === 'missing' ? { archiveMissing: true } : {}),
      agentOutput: tail(session.output().stdout, 1),
    };
  } finally {
    session.close();
  }
}

/**
 * SHA-256 of the file at `path` on the agent, computed there by `sha256sum`. Where the agent has
 * no sha256sum (a minimal image), the bytes are read with `cat` and hashed here — the size comes
 * with them then. Never throws: an exec that fails is an `error` (and the caller answers "n").
 */
export async function digestOnAgent(target: AgentTarget, agent: AgentRef, path: string, container: AgentContainer = 'securityAgent'): Promise<Digest> {
  let r;
  try {
    r = await target.exec(agent, ['sha256sum', path], { timeoutMs: 120_000, container });
  } catch (err) {
    if (!(err instanceof TargetError) || !/executable file not found|not found|no such file or directory/i.test(err.message))
      return { error: maskSecrets((err as Error).message).slice(0, 300) };
    r = undefined;
  }
  if (r && r.exitCode === 0) {
    const m = SHA256SUM_LINE.exec(r.stdout);
    return m ? { sha256: m[1]!, via: 'sha256sum' } : { error: `unexpected sha256sum output: ${tail(r.stdout, 1).slice(0, 120)}` };
  }
  if (r && r.exitCode === 1 && /No such file or directory/.test(r.stderr)) return { missing: true };
  if (r && r.exitCode !== 126 && r.exitCode !== 127) return { error: `sha256sum exit code ${r.exitCode}: ${tail(r.stderr, 1) || 'no error message'}` };
  // No sha256sum on the agent: the same exec that reads the archive, hashed here.
  const cat = await target.exec(agent, ['cat', path], { timeoutMs: 120_000, binary: true, maxBytes: MAX_ARCHIVE, container }).catch((err: Error) => err);
  if (cat instanceof Error) return { error: maskSecrets(cat.message).slice(0, 300) };
  if (cat.exitCode === 0 && cat.stdoutBytes)
    return { sha256: createHash('sha256').update(cat.stdoutBytes).digest('hex'), bytes: cat.stdoutBytes.length, via: 'cat' };
  if (/No such file or directory/.test(cat.stderr)) return { missing: true };
  return { error: `cat exit code ${cat.exitCode}: ${tail(cat.stderr, 1) || 'no error message'}` };
}

/** `rm -f` of the archive if the file at `path` is still the reviewed one; otherwise it is left alone. */
async function removeIfReviewed(
  target: AgentTarget,
  agent: AgentRef,
  path: string,
  sha256: string,
  container: AgentContainer,
): Promise<'removed' | 'replaced' | 'missing' | 'failed'> {
  const now = await digestOnAgent(target, agent, path, container);
  if ('missing' in now) return 'missing';
  if (!('sha256' in now)) return 'failed';
  if (now.sha256 !== sha256) return 'replaced';
  const rm = await target.exec(agent, ['rm', '-f', path], { timeoutMs: 30_000, container }).catch(() => undefined);
  return rm?.exitCode === 0 ? 'removed' : 'failed';
}

async function answer(session: ExecSession, text: string): Promise<void> {
  session.write(`${text}\n`);
  session.endStdin();
  await session.result(30_000).catch(() => undefined);
}

/**
 * Waits for the decision (polling the shared client: no blocking command holds a connection per
 * review), the expiry, or the end of the agent's command.
 */
async function waitForDecision(
  redis: Redis,
  key: string,
  expiresAt: number,
  session: ExecSession,
  shutdown?: AbortSignal,
): Promise<'send' | 'cancel' | 'expired' | 'ended' | 'shutdown'> {
  let ended = false;
  void session.result(24 * 3600_000).then(
    () => (ended = true),
    () => (ended = true),
  );
  for (;;) {
    if (ended) return 'ended';
    if (shutdown?.aborted) return 'shutdown';
    const left = expiresAt - Date.now();
    if (left <= 0) return 'expired';
    const got = await redis.lpop(key).catch(() => null);
    if (got === 'send' || got === 'cancel') return got;
    await new Promise((r) => setTimeout(r, Math.min(DECISION_POLL_MS, Math.max(20, left))));
  }
}
