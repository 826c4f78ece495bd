import { keys } from '../../contract/keys.ts';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { FlareRequest, JobRecord, TrackedMessage } from './records.ts';

export const JobOutcome = z.object({ failedNodes: z.array(z.string()), target: z.enum(['kubernetes', 'docker', 'host']) });
export type JobOutcome = z.infer<typeof JobOutcome>;

const RECORD_TTL_S = 7 * 24 * 3600;
const RECENT_MS = 24 * 3600_000;
const MAX_RECENT = 500;

/** The last verdict of a self-test or netcheck on a cluster, for the App Home. */
export const LastVerdict = z.object({ jobId: z.string(), verdict: z.enum(['ok', 'failed', 'error', 'action_required', 'broken', 'unknown']), at: z.string() });
export type LastVerdict = z.infer<typeof LastVerdict>;

/** Who approved the change a job makes. */
export const JobApproval = z.object({ approvalId: z.string(), approvedBy: z.string() });
export type JobApproval = z.infer<typeof JobApproval>;

/** A channel linked to a cluster by `/cws incident`: who linked it, from which channel, when. */
export const IncidentLink = z.object({ channel: z.string(), by: z.string(), from: z.string(), at: z.string() });
export type IncidentLink = z.infer<typeof IncidentLink>;

// KEYS: the cluster's open flares, the user's there (sorted sets: job -> until). ARGV: now,
// until, job, cluster limit, user limit. {0} taken; {1|2, open jobs} refused (cluster | user).
const CLAIM_FLARE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return {2, redis.call('ZRANGE', KEYS[2], 0, -1)} end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return {1, redis.call('ZRANGE', KEYS[1], 0, 9)} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return {0, {}}
`;

/**
 * The bot's side of a job, kept in Redis so any bot replica (or a restarted bot) can finish it:
 * who asked, which Slack messages show it, and a per-message claim so the final result is
 * posted exactly once however many replicas see the completion event.
 */
export class JobTracker {
  constructor(private readonly redis: Redis) {}

  /** Stores who asked for the job and where; the job is open (looked after by reconcile) until closed. */
  async saveRecord(record: JobRecord): Promise<void> {
    const saved = await this.redis.set(keys.jobRecord(record.jobId), JSON.stringify(JobRecord.parse(record)), 'EX', RECORD_TTL_S, 'NX');
    await this.redis.sadd(keys.openJobs, record.jobId);
    if (saved === 'OK') await this.noteRecent(record.cluster, record.jobId);
  }

  /** The cluster's recent jobs (`/cws jobs`): its own key, trimmed to the last 24 h on each write. */
  private async noteRecent(cluster: string, jobId: string): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .zadd(keys.recentJobs(cluster), now, jobId)
      .zremrangebyscore(keys.recentJobs(cluster), '-inf', now - RECENT_MS)
      .zremrangebyrank(keys.recentJobs(cluster), 0, -(MAX_RECENT + 1))
      .expire(keys.recentJobs(cluster), Math.ceil(RECENT_MS / 1000))
      .exec();
  }

  /** The job IDs of a cluster started in the last 24 h, newest first, at most `limit`, with when. */
  async recentJobs(cluster: string, limit: number): Promise<{ jobId: string; at: number }[]> {
    const rows = await this.redis.zrevrangebyscore(keys.recentJobs(cluster), '+inf', Date.now() - RECENT_MS, 'WITHSCORES', 'LIMIT', 0, limit);
    const out: { jobId: string; at: number }[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) out.push({ jobId: rows[i]!, at: Number(rows[i + 1]) });
    return out;
  }

  /** The last verdict of a kind of job on a cluster (written where its result is rendered). */
  async saveVerdict(cluster: string, kind: 'selftest' | 'netcheck', v: Omit<LastVerdict, 'at'>): Promise<void> {
    await this.redis.set(keys.lastVerdict(cluster, kind), JSON.stringify(LastVerdict.parse({ ...v, at: new Date().toISOString() })), 'EX', RECORD_TTL_S * 4);
  }

  async lastVerdict(cluster: string, kind: 'selftest' | 'netcheck'): Promise<LastVerdict | undefined> {
    const raw = await this.redis.get(keys.lastVerdict(cluster, kind));
    const p = raw ? LastVerdict.safeParse(JSON.parse(raw)) : undefined;
    return p?.success ? p.data : undefined;
  }

  /** Channels that wait for this job's message (the requester's, and those of commands that joined it). */
  /** True the first time the channel is wanted (a later call is a retry: an earlier post may have landed). */
  async want(jobId: string, channel: string): Promise<boolean> {
    const r = await this.redis.multi().sadd(keys.jobChannels(jobId), channel).expire(keys.jobChannels(jobId), RECORD_TTL_S).exec();
    return r?.[0]?.[1] === 1;
  }

  async wanted(jobId: string): Promise<string[]> {
    return this.redis.smembers(keys.jobChannels(jobId));
  }

  /**
   * A place among the flares open on a cluster, within the cluster's and the user's limits;
   * held until `releaseFlare` (or `until`, should the bot never hear of the end).
   */
  async claimFlare(o: {
    cluster: string;
    user: string;
    jobId: string;
    until: number;
    maxOpen: number;
    maxPerUser: number;
  }): Promise<{ ok: true } | { ok: false; scope: 'cluster' | 'user'; open: string[] }> {
    const sets = [keys.openFlares(o.cluster), keys.openFlaresOf(o.cluster, o.user)];
    const r = (await this.redis.eval(CLAIM_FLARE, 2, ...sets, String(Date.now()), String(o.until), o.jobId, String(o.maxOpen), String(o.maxPerUser))) as [
      number,
      string[],
    ];
    if (r[0] === 0) return { ok: true };
    return { ok: false, scope: r[0] === 1 ? 'cluster' : 'user', open: r[1] };
  }

  async releaseFlare(cluster: string, user: string, jobId: string): Promise<void> {
    await this.redis.multi().zrem(keys.openFlares(cluster), jobId).zrem(keys.openFlaresOf(cluster, user), jobId).exec();
  }

  /** A short lock (one holder at a time, released by `unlock` or after `ttlMs`). */
  async lock(scope: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(keys.lock(scope), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(scope: string): Promise<void> {
    await this.redis.del(keys.lock(scope));
  }

  async getRecord(jobId: string): Promise<JobRecord | undefined> {
    const raw = await this.redis.get(keys.jobRecord(jobId));
    if (!raw) return undefined;
    const parsed = JobRecord.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  async addMessage(jobId: string, msg: TrackedMessage): Promise<void> {
    await this.redis
      .multi()
      .rpush(keys.jobMessages(jobId), JSON.stringify(TrackedMessage.parse(msg)))
      .expire(keys.jobMessages(jobId), RECORD_TTL_S)
      .exec();
    // Another slot (the set of open jobs): its own command, never in the job's MULTI.
    await this.redis.sadd(keys.openJobs, jobId);
  }

  async messages(jobId: string): Promise<TrackedMessage[]> {
    const raw = await this.redis.lrange(keys.jobMessages(jobId), 0, -1);
    return raw.flatMap((r) => {
      const p = TrackedMessage.safeParse(JSON.parse(r));
      return p.success ? [p.data] : [];
    });
  }

  /** True for exactly one caller per (job, message). */
  async claimFinal(jobId: string, ts: string): Promise<boolean> {
    return (await this.redis.set(keys.jobClaim(jobId, `final:${ts}`), '1', 'EX', RECORD_TTL_S, 'NX')) === 'OK';
  }

  /** Give a claim back when posting failed, so a later reconcile can try again. */
  async releaseFinal(jobId: string, ts: string): Promise<void> {
    await this.redis.del(keys.jobClaim(jobId, `final:${ts}`));
  }

  /** What the buttons of a finished self-test may act on (failing nodes, target kind). */
  async saveOutcome(jobId: string, outcome: JobOutcome): Promise<void> {
    await this.saveFacts(jobId, JobOutcome.parse(outcome));
  }

  async getOutcome(jobId: string): Promise<JobOutcome | undefined> {
    const p = JobOutcome.safeParse(await this.getFacts(jobId));
    return p.success ? p.data : undefined;
  }

  /**
   * Idempotency for clicks: true for the first caller of `scope` within `ttlS`; later callers
   * (double clicks, Slack retries, other replicas) get the holder's value back instead.
   */
  async once(scope: string, holder: string, ttlS = 600): Promise<{ first: true } | { first: false; holder: string }> {
    const ok = await this.redis.set(keys.once(scope), holder, 'EX', ttlS, 'NX');
    if (ok === 'OK') return { first: true };
    return { first: false, holder: (await this.redis.get(keys.once(scope))) ?? 'someone' };
  }

  async saveFlareRequest(req: FlareRequest, ttlS = 15 * 60): Promise<void> {
    await this.redis.set(keys.flareRequest(req.id), JSON.stringify(FlareRequest.parse(req)), 'EX', ttlS);
  }

  async getFlareRequest(id: string): Promise<FlareRequest | undefined> {
    if (!/^fr-[0-9a-f-]{36}$/.test(id)) return undefined;
    const raw = await this.redis.get(keys.flareRequest(id));
    const p = raw ? FlareRequest.safeParse(JSON.parse(raw)) : undefined;
    return p?.success ? p.data : undefined;
  }

  /** Hands a decision to the worker blocked on `key` (BLPOP); kept a day for a worker that re-reads it. */
  async pushDecision(key: string, value: string): Promise<void> {
    await this.redis
      .multi()
      .rpush(key, value)
      .expire(key, 24 * 3600)
      .exec();
  }

  /** Small JSON facts about a finished job that its buttons act on (validated by the caller). */
  async saveFacts(jobId: string, facts: unknown): Promise<void> {
    await this.redis.set(keys.jobFacts(jobId), JSON.stringify(facts), 'EX', RECORD_TTL_S);
  }

  async getFacts(jobId: string): Promise<unknown> {
    const raw = await this.redis.get(keys.jobFacts(jobId));
    return raw ? JSON.parse(raw) : undefined;
  }

  /** The result message as first shown (its buttons are replaced by their outcomes later: living messages). */
  async saveLive(jobId: string, message: unknown): Promise<void> {
    await this.redis.set(keys.jobLive(jobId), JSON.stringify(message), 'EX', RECORD_TTL_S);
  }

  async getLive(jobId: string): Promise<unknown> {
    const raw = await this.redis.get(keys.jobLive(jobId));
    return raw ? JSON.parse(raw) : undefined;
  }

  /** A schedule found the job's result unchanged at `ms` (its "Last checked" line); a later check only moves it forward. */
  async saveLastChecked(jobId: string, ms: number): Promise<void> {
    const k = keys.jobLastChecked(jobId);
    const prev = Number(await this.redis.get(k));
    if (Number.isFinite(prev) && prev > ms) return;
    await this.redis.set(k, String(ms), 'EX', RECORD_TTL_S);
  }

  async getLastChecked(jobId: string): Promise<number | undefined> {
    const raw = await this.redis.get(keys.jobLastChecked(jobId));
    const ms = raw === null ? NaN : Number(raw);
    return Number.isFinite(ms) ? ms : undefined;
  }

  /** A change started from the job's buttons (validated by the caller); `ifAbsent`: an earlier write (its end) wins. */
  async saveFollowUp(jobId: string, followUpJobId: string, entry: unknown, o: { ifAbsent?: boolean } = {}): Promise<void> {
    const k = keys.jobFollowUps(jobId);
    if (o.ifAbsent) await this.redis.hsetnx(k, followUpJobId, JSON.stringify(entry));
    else await this.redis.hset(k, followUpJobId, JSON.stringify(entry));
    await this.redis.expire(k, RECORD_TTL_S);
  }

  async getFollowUps(jobId: string): Promise<unknown[]> {
    return Object.values(await this.redis.hgetall(keys.jobFollowUps(jobId))).map((v) => JSON.parse(v) as unknown);
  }

  /** The details reply of a thread (one per thread, edited by later results there). */
  async saveThreadReply(channel: string, rootTs: string, ts: string): Promise<void> {
    await this.redis.set(keys.threadReply(channel, rootTs), ts, 'EX', RECORD_TTL_S);
  }

  async getThreadReply(channel: string, rootTs: string): Promise<string | undefined> {
    return (await this.redis.get(keys.threadReply(channel, rootTs))) ?? undefined;
  }

  /** Records the digest of the progress shown for a job; false when it is the one already shown. */
  async markShown(jobId: string, digest: string): Promise<boolean> {
    const prev = await this.redis.getset(keys.jobShown(jobId), digest);
    await this.redis.expire(keys.jobShown(jobId), RECORD_TTL_S);
    return prev !== digest;
  }

  async openJobs(): Promise<string[]> {
    return this.redis.smembers(keys.openJobs);
  }

  /** Marks the job done; true for the one caller that closed it. */
  async close(jobId: string): Promise<boolean> {
    return (await this.redis.srem(keys.openJobs, jobId)) === 1;
  }

  async isFinal(jobId: string, ts: string): Promise<boolean> {
    return (await this.redis.exists(keys.jobClaim(jobId, `final:${ts}`))) === 1;
  }

  /** Gives a `once` claim back (a closed approval request frees its change to be asked for again). */
  async forget(scope: string): Promise<void> {
    await this.redis.del(keys.once(scope));
  }

  /** The job's message in an incident channel, if posted. */
  async getMirror(jobId: string, channel: string): Promise<string | undefined> {
    return (await this.redis.get(keys.jobMirror(jobId, channel))) ?? undefined;
  }

  async saveMirror(jobId: string, channel: string, ts: string): Promise<void> {
    await this.redis.set(keys.jobMirror(jobId, channel), ts, 'EX', RECORD_TTL_S);
  }

  /** Who approved the change a job makes (two-person approval). */
  async saveJobApproval(jobId: string, approval: JobApproval): Promise<void> {
    await this.redis.set(keys.jobApproval(jobId), JSON.stringify(JobApproval.parse(approval)), 'EX', RECORD_TTL_S);
  }

  async getJobApproval(jobId: string): Promise<JobApproval | undefined> {
    const raw = await this.redis.get(keys.jobApproval(jobId));
    const p = raw ? JobApproval.safeParse(JSON.parse(raw)) : undefined;
    return p?.success ? p.data : undefined;
  }

  /** The channel `/cws incident` linked to a cluster (for the duration of an incident, at most 30 days). */
  async setIncidentLink(cluster: string, link: IncidentLink): Promise<void> {
    await this.redis.set(keys.incidentLink(cluster), JSON.stringify(IncidentLink.parse(link)), 'EX', 30 * 24 * 3600);
  }

  async getIncidentLink(cluster: string): Promise<IncidentLink | undefined> {
    const raw = await this.redis.get(keys.incidentLink(cluster));
    const p = raw ? IncidentLink.safeParse(JSON.parse(raw)) : undefined;
    return p?.success ? p.data : undefined;
  }

  /** Removes the link; the link that was there, if any. */
  async clearIncidentLink(cluster: string): Promise<IncidentLink | undefined> {
    const had = await this.getIncidentLink(cluster);
    await this.redis.del(keys.incidentLink(cluster));
    return had;
  }

  /** An approval request (validated by the caller), kept `ttlS` (past its expiry, so late clicks can be told). */
  async saveApproval(approvalId: string, request: unknown, ttlS: number): Promise<void> {
    await this.redis.set(keys.approval(approvalId), JSON.stringify(request), 'EX', ttlS);
  }

  async getApproval(approvalId: string): Promise<unknown> {
    const raw = await this.redis.get(keys.approval(approvalId));
    return raw ? JSON.parse(raw) : undefined;
  }

  /** An approval request is open until `expiresAtMs` (the reconcile loop closes it then). */
  async openApproval(approvalId: string, expiresAtMs: number): Promise<void> {
    await this.redis.zadd(keys.openApprovals, expiresAtMs, approvalId);
  }

  async closeApproval(approvalId: string): Promise<void> {
    await this.redis.zrem(keys.openApprovals, approvalId);
  }

  /** Open approval requests whose expiry has not passed, soonest first (the App Home lists them). */
  async openApprovals(nowMs: number, limit = 200): Promise<string[]> {
    return this.redis.zrangebyscore(keys.openApprovals, `(${nowMs}`, '+inf', 'LIMIT', 0, limit);
  }

  /** Open approval requests whose expiry has passed. */
  async dueApprovals(nowMs: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(keys.openApprovals, '-inf', nowMs, 'LIMIT', 0, limit);
  }
}
