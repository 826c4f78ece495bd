import { closeWithin } from '../close-within.ts';
import { randomBytes } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Permission } from '../../core/access.ts';
import { allowed } from '../commands/context.ts';
import { type ClusterConfig, type ClustersFile, clusterNamed } from '../../config/clusters.ts';
import { keys, SCHEDULE_QUEUE } from '../../contract/keys.ts';
import { type Cadence, isTimeZone, repeatOptions } from '../../core/schedule/cadence.ts';
import { diffOutcomes, fingerprint, summarise } from '../../core/schedule/outcome.ts';
import { renderScheduleDenied, type ScheduleView, withScheduleNotice } from '../../core/schedule/render.ts';
import { ScheduleDecision, ScheduleLast, ScheduleSpec, ScheduleTick } from '../../contract/schedules.ts';
import type { AuditLog } from '../state/audit.ts';
import type { JobProducer } from '../state/producer.ts';
import type { JobRecord, TrackedMessage } from '../state/records.ts';
import type { JobTracker } from '../state/tracker.ts';
import type { ChatMessage, Notifier } from '../notifier.ts';
import type { Outcome } from '../kinds/kind.ts';
import { refreshResult } from '../living.ts';

export interface SchedulesDeps {
  /** The bot's command client (fail-fast): schedules, their last runs, the Queue of ticks. */
  redis: Redis;
  /** The Worker's client for the ticks (`maxRetriesPerRequest: null`), duplicated by BullMQ for its blocking reads; the caller closes it. */
  connection: Redis;
  clusters: ClustersFile;
  producer: JobProducer;
  tracker: JobTracker;
  notifier: Notifier;
  audit: AuditLog;
  logger: Logger;
  /** Which of `groupIds` the user belongs to (access lists may name user groups). */
  groupsOf(userId: string, groupIds: string[]): Promise<Set<string>>;
  /** A link to a message (chat.getPermalink), or undefined. */
  permalink(channel: string, ts: string): Promise<string | undefined>;
  /**
   * How long a minute is, in ms: 60 000. Tests pass less so `every 1m` ticks in about a second;
   * passed in code only, never read from the environment. The grammar's minimum stays 1 minute.
   */
  minuteMs?: number;
  /** The user's time zone in Slack (users.info `tz`), or undefined: `daily at` is then in UTC, and says so. */
  userTimeZone?(userId: string): Promise<string | undefined>;
}

/** The most schedules one cluster may have. */
export const MAX_SCHEDULES_PER_CLUSTER = 20;
/** How long a tick may hold the run slot while it starts the job (a crashed bot gives way after this). */
const STARTING_MS = 60_000;
/** The longest a run may hold the slot; a job still open after this is treated as lost. */
const RUNNING_MS = 24 * 3600_000;

/** GET, and SET with a TTL when absent: returns the current holder, or null when `ARGV[1]` took it. */
const ACQUIRE = `local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;
/** SET to ARGV[2] (with TTL ARGV[3]) only if it holds ARGV[1]; DEL when ARGV[2] is empty. */
const SWAP = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`;

export type TickResult = { ran: string } | { skipped: string } | { denied: string } | { gone: true };

/**
 * Scheduled checks (issue 19 point 3) on BullMQ job schedulers: one scheduler per schedule on the
 * `{cws-schedules}` queue makes one tick job per period (BullMQ keeps one pending tick per
 * scheduler, persisted in Redis, so ticks survive restarts and are not multiplied by replicas);
 * each bot replica runs a Worker on that queue and each tick is processed by one of them. A tick
 * re-checks the creator's access, then enqueues the ordinary job as the creator.
 *
 * One run at a time per schedule: the run slot `scheduleRunning` is taken atomically (a Lua GET +
 * SET) by the tick, handed to the job ID, and freed only when that job's result is closed (once
 * across replicas). A tick that finds the slot taken by an open job skips (audited).
 */
export class Schedules {
  readonly queue: Queue;
  private worker?: Worker;
  private readonly minuteMs: number;

  constructor(private readonly d: SchedulesDeps) {
    this.queue = new Queue(SCHEDULE_QUEUE, { connection: d.redis });
    this.queue.on('error', () => {});
    this.minuteMs = d.minuteMs ?? 60_000;
  }

  /** Starts processing ticks, and makes sure every stored schedule has its job scheduler (and no scheduler outlives its schedule). */
  async start(): Promise<void> {
    const ids = new Set(await this.d.redis.smembers(keys.schedules));
    for (const id of ids) {
      const spec = await this.get(id);
      if (!spec) await this.d.redis.srem(keys.schedules, id);
      else if (!(await this.queue.getJobScheduler(id))) await this.upsert(spec);
    }
    // A scheduler whose schedule is gone (deleted while its removal failed); re-checked one by one, as another replica may be creating one now.
    for (const s of await this.queue.getJobSchedulers(0, -1))
      if (s.key && !ids.has(s.key) && !(await this.d.redis.exists(keys.schedule(s.key)))) await this.queue.removeJobScheduler(s.key);
    this.worker = new Worker(SCHEDULE_QUEUE, (job: Job) => this.onTick(job), { connection: this.d.connection, concurrency: 4, name: 'cws-bot:schedules' });
    this.worker.on('error', (err) => this.d.logger.warn({ err }, 'schedule worker error'));
    this.worker.on('failed', (job, err) => this.d.logger.warn({ err, tick: job?.id }, 'schedule tick failed'));
    await this.worker.waitUntilReady();
  }

  /**
   * Stops taking ticks, within `withinMs`: BullMQ's close can wait on a connection that is still
   * reconnecting (after a Redis restart) for longer than a shutdown allows, as the workers' queues
   * can (workers/main.ts). A tick cut short is a few Redis calls; its lock lapses and it runs again.
   */
  async close(withinMs = 3000): Promise<void> {
    await closeWithin(
      "the schedule ticks' queue",
      withinMs,
      async () => {
        await this.worker?.close();
        await this.queue.close();
      },
      this.d.logger,
    );
  }

  // ── the schedules ──────────────────────────────────────────────────────────

  async create(o: { what: 'selftest' | 'netcheck'; cluster: string; cadence: Cadence; createdBy: string; channel: string }): Promise<ScheduleSpec> {
    const spec = ScheduleSpec.parse({ id: `sc-${randomBytes(4).toString('hex')}`, ...o, createdAt: new Date().toISOString() });
    await this.d.redis.set(keys.schedule(spec.id), JSON.stringify(spec));
    await this.d.redis.sadd(keys.schedules, spec.id);
    await this.upsert(spec);
    return spec;
  }

  private async upsert(spec: ScheduleSpec): Promise<void> {
    await this.queue.upsertJobScheduler(spec.id, repeatOptions(spec.cadence, this.minuteMs), {
      name: 'tick',
      data: ScheduleTick.parse({ scheduleId: spec.id }),
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    });
  }

  async get(id: string): Promise<ScheduleSpec | undefined> {
    const raw = await this.d.redis.get(keys.schedule(id));
    const parsed = raw ? ScheduleSpec.safeParse(JSON.parse(raw)) : undefined;
    return parsed?.success ? parsed.data : undefined;
  }

  async all(): Promise<ScheduleSpec[]> {
    const out: ScheduleSpec[] = [];
    for (const id of (await this.d.redis.smembers(keys.schedules)).sort()) {
      const s = await this.get(id);
      if (s) out.push(s);
    }
    return out;
  }

  async last(id: string): Promise<ScheduleLast> {
    const raw = await this.d.redis.get(keys.scheduleLast(id));
    const parsed = raw ? ScheduleLast.safeParse(JSON.parse(raw)) : undefined;
    return parsed?.success ? parsed.data : {};
  }

  /** When the schedule's next tick is due (epoch ms), from its job scheduler. */
  async next(id: string): Promise<number | undefined> {
    const s = await this.queue.getJobScheduler(id);
    return s?.next ?? undefined;
  }

  /** Removes the job scheduler first (no new tick), then the schedule; a run still going finishes silently. */
  async delete(id: string): Promise<void> {
    await this.queue.removeJobScheduler(id);
    await this.d.redis.del(keys.schedule(id), keys.scheduleLast(id), keys.scheduleShown(id));
    // The run slot is left to a run still going (it frees it when closed) or to its TTL.
    await this.d.redis.srem(keys.schedules, id);
  }

  /** `authorise` with the user's groups resolved: the commands' own check (commands/context.ts). */
  allowed(cluster: { name: string; config: ClusterConfig }, userId: string, permission: Permission) {
    return allowed({ slack: { groupsOf: (user, groups) => this.d.groupsOf(user, groups) } }, cluster, userId, permission);
  }

  /** The creator's IANA time zone from Slack, when Slack gives one this runtime knows. */
  async timeZoneOf(userId: string): Promise<string | undefined> {
    const tz = await this.d.userTimeZone?.(userId).catch(() => undefined);
    return tz && isTimeZone(tz) ? tz : undefined;
  }

  // ── a tick ─────────────────────────────────────────────────────────────────

  private async onTick(job: Job): Promise<TickResult> {
    const tick = ScheduleTick.safeParse(job.data);
    if (!tick.success) return { gone: true };
    return this.tick(tick.data.scheduleId, job.id ?? 'tick');
  }

  async tick(scheduleId: string, tickId: string): Promise<TickResult> {
    const spec = await this.get(scheduleId);
    if (!spec) {
      await this.queue.removeJobScheduler(scheduleId);
      return { gone: true };
    }
    const command = `schedule ${spec.what} ${spec.cluster} (scheduled ${spec.id})`;
    const audit = (outcome: 'queued' | 'denied' | 'answered' | 'error', extra: { jobId?: string; detail: string }) =>
      this.d.audit
        .append({ user: spec.createdBy, channel: spec.channel, command, cluster: spec.cluster, outcome, ...extra })
        .catch((err) => this.d.logger.warn({ err }, 'audit append failed'));

    // The creator's access in the current configuration, at every run.
    const config = clusterNamed(this.d.clusters, spec.cluster);
    const decision = config
      ? await this.allowed({ name: spec.cluster, config }, spec.createdBy, 'run')
      : { allowed: false as const, reason: `the cluster \`${spec.cluster}\` is no longer configured` };
    const last = await this.last(spec.id);
    if (!decision.allowed) {
      await audit('denied', { detail: `tick ${tickId}: ${decision.reason}` });
      if (!last.deniedNotified) {
        await this.saveLast(spec.id, { ...last, deniedNotified: true });
        await this.d.notifier
          .post(spec.channel, renderScheduleDenied(view(spec), decision.reason))
          .catch((err) => this.d.logger.warn({ err, schedule: spec.id }, 'could not tell the channel that a scheduled run was refused'));
      }
      return { denied: decision.reason };
    }
    if (last.deniedNotified) await this.saveLast(spec.id, { ...last, deniedNotified: false });

    const holder = `tick:${tickId}`;
    const busy = await this.acquire(spec.id, holder);
    if (busy) {
      await audit('answered', { detail: `tick ${tickId}: skipped, the previous run (${busy}) is still going` });
      return { skipped: busy };
    }
    let jobId: string;
    try {
      const requestedAt = new Date().toISOString();
      const base = { cluster: spec.cluster, requestedBy: spec.createdBy, requestedAt };
      const enq =
        spec.what === 'selftest'
          ? await this.d.producer.enqueueSelftest({ kind: 'selftest', ...base })
          : await this.d.producer.enqueueNetcheck({ kind: 'netcheck', ...base });
      if (enq.attached) {
        // Someone's own self-test or netcheck of the cluster is running: that job is theirs, not this schedule's.
        await this.swap(spec.id, holder, '');
        await audit('answered', { jobId: enq.jobId, detail: `tick ${tickId}: skipped, a ${spec.what} of ${spec.cluster} is already running (${enq.jobId})` });
        return { skipped: enq.jobId };
      }
      jobId = enq.jobId;
      // The slot names the job before its record exists: the record is what lets the job be closed (and the slot freed).
      await this.swap(spec.id, holder, jobId, RUNNING_MS);
      const record: JobRecord = {
        jobId,
        kind: spec.what,
        cluster: spec.cluster,
        requestedBy: spec.createdBy,
        channel: spec.channel,
        post: 'deferred',
        schedule: spec.id,
      };
      await this.d.tracker.saveRecord(record);
    } catch (err) {
      await this.swap(spec.id, holder, '').catch(() => {});
      this.d.logger.warn({ err, schedule: spec.id }, 'could not start a scheduled run');
      await audit('error', { detail: `tick ${tickId}: could not enqueue the ${spec.what}` });
      throw err;
    }
    await audit('queued', { jobId, detail: `tick ${tickId}` });
    return { ran: jobId };
  }

  /** Takes the run slot for `holder`; returns who holds it instead (a job still open, or a tick starting one). */
  private async acquire(id: string, holder: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const cur = (await this.d.redis.eval(ACQUIRE, 1, keys.scheduleRunning(id), holder, String(STARTING_MS))) as string | null;
      if (cur === null) return undefined;
      if (cur.startsWith('tick:')) return cur;
      // A job whose result was closed but whose slot was not freed (a bot died in between): it gives way.
      if (await this.d.redis.sismember(keys.openJobs, cur)) return cur;
      await this.swap(id, cur, '');
    }
    return 'another tick';
  }

  private async swap(id: string, from: string, to: string, ttlMs = STARTING_MS): Promise<boolean> {
    return (await this.d.redis.eval(SWAP, 1, keys.scheduleRunning(id), from, to, String(ttlMs))) === 1;
  }

  private async saveLast(id: string, last: ScheduleLast): Promise<void> {
    // Not for a schedule deleted meanwhile.
    if (await this.d.redis.exists(keys.schedule(id))) await this.d.redis.set(keys.scheduleLast(id), JSON.stringify(ScheduleLast.parse(last)));
  }

  // ── a run's result (called by JobUpdates) ──────────────────────────────────

  /**
   * A scheduled job's final: the message to post (the kind's own, under the schedule's notice),
   * or silent. Decided once per job (the first caller's decision is stored; every replica and
   * reconcile renders the same): the first run posts; a later one only when its outcome differs
   * from the last run's, saying what changed and linking the last posted result.
   */
  async final(record: JobRecord, outcome: Outcome, message: ChatMessage): Promise<{ message: ChatMessage } | { silent: true }> {
    const decision = await this.decide(record, outcome);
    if (!decision.post || !decision.spec) return { silent: true };
    const shown = withScheduleNotice(message, view(decision.spec), {
      ...(decision.changes ? { changes: decision.changes } : {}),
      ...(decision.previous ? { previous: decision.previous } : {}),
      ...(decision.previousAt ? { previousAt: decision.previousAt } : {}),
    });
    // Kept so that unchanged runs can put their "last checked" line under it (it is what Slack shows).
    await this.d.redis.set(keys.scheduleShown(decision.spec.id), JSON.stringify({ jobId: record.jobId, message: shown }), 'EX', 35 * 86_400);
    return { message: shown };
  }

  /** An unchanged run: the last posted result gets (or updates) its "last checked" line. Best effort. */
  private async touchLastPosted(id: string, last: ScheduleLast, at: number): Promise<void> {
    if (!last.message?.jobId) return;
    const raw = await this.d.redis.get(keys.scheduleShown(id));
    const shown = raw ? (JSON.parse(raw) as { jobId?: string; message?: ChatMessage }) : undefined;
    if (!shown?.message || shown.jobId !== last.message.jobId) return; // not the message Slack shows
    // Part of the result's living state: the edit renders it with the follow-ups its buttons started
    // (src/bot/living.ts), as their own edits render this line, so neither drops the other.
    try {
      await this.d.tracker.saveLastChecked(last.message.jobId, at);
      await refreshResult({ tracker: this.d.tracker, notifier: this.d.notifier, logger: this.d.logger }, last.message.jobId, {
        stored: shown.message,
        also: [{ channel: last.message.channel, ts: last.message.ts }],
      });
    } catch (err) {
      this.d.logger.info({ err, schedule: id }, 'could not put the last-checked line on the last result');
    }
  }

  private async decide(record: JobRecord, outcome: Outcome): Promise<ScheduleDecision & { spec?: ScheduleSpec }> {
    const key = keys.scheduleDecision(record.jobId);
    const stored = await this.d.redis.get(key);
    const spec = await this.get(record.schedule!);
    if (stored) {
      const parsed = ScheduleDecision.safeParse(JSON.parse(stored));
      if (parsed.success) return { ...parsed.data, ...(spec ? { spec } : {}) };
    }
    const kind = record.kind === 'selftest' ? 'selftest' : 'netcheck';
    const summary = summarise(kind, outcome);
    const fp = fingerprint(summary);
    const last = spec ? await this.last(spec.id) : {};
    let decision: ScheduleDecision;
    if (!spec) decision = { post: false, fingerprint: fp, summary };
    else if (!last.fingerprint || !last.summary) decision = { post: true, fingerprint: fp, summary };
    else if (last.fingerprint === fp) decision = { post: false, fingerprint: fp, summary };
    else {
      const previous = last.message ? await this.d.permalink(last.message.channel, last.message.ts).catch(() => undefined) : undefined;
      decision = {
        post: true,
        changes: diffOutcomes(last.summary, summary),
        fingerprint: fp,
        summary,
        ...(previous ? { previous } : {}),
        ...(last.message ? { previousAt: last.message.at } : {}),
      };
    }
    await this.d.redis.set(key, JSON.stringify(decision), 'EX', 7 * 86_400, 'NX');
    const winner = ScheduleDecision.safeParse(JSON.parse((await this.d.redis.get(key)) ?? 'null'));
    return { ...(winner.success ? winner.data : decision), ...(spec ? { spec } : {}) };
  }

  /** Once, when the job's result is closed: the run becomes the schedule's last, and its slot is freed for the next tick. */
  async closed(record: JobRecord, messages: TrackedMessage[]): Promise<void> {
    const id = record.schedule!;
    try {
      const raw = await this.d.redis.get(keys.scheduleDecision(record.jobId));
      const decision = raw ? ScheduleDecision.safeParse(JSON.parse(raw)) : undefined;
      if (decision?.success) {
        const now = new Date().toISOString();
        const main = messages.find((m) => m.channel === record.channel && !m.ts.startsWith('ephemeral:'));
        const last = await this.last(id);
        await this.saveLast(id, {
          ...last,
          jobId: record.jobId,
          at: now,
          fingerprint: decision.data.fingerprint,
          summary: decision.data.summary,
          ...(decision.data.post && main ? { message: { channel: main.channel, ts: main.ts, at: now, jobId: record.jobId } } : {}),
        });
        if (!decision.data.post) await this.touchLastPosted(id, last, Date.parse(now));
      }
    } finally {
      await this.swap(id, record.jobId, '');
    }
  }
}

export function view(spec: ScheduleSpec, extra: Partial<ScheduleView> = {}): ScheduleView {
  return { id: spec.id, what: spec.what, cluster: spec.cluster, cadence: spec.cadence, createdBy: spec.createdBy, channel: spec.channel, ...extra };
}
