import { z } from 'zod';
import { ClusterName } from '../core/names.ts';

/**
 * Scheduled checks (issue 19 point 3): the schedule as the bot stores it, the tick BullMQ's job
 * scheduler hands the bot, and the last run it compares the next one with. Bot-only state: the
 * workers see only the ordinary selftest/netcheck job a tick enqueues.
 */

export const ScheduleId = z.string().regex(/^sc-[0-9a-f]{8}$/);

export const Cadence = z.union([
  z
    .object({
      every: z
        .number()
        .int()
        .min(1)
        .max(30 * 24 * 60),
    })
    .strict(),
  z.object({ daily: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/), tz: z.string().min(1).max(64) }).strict(),
]);

export const ScheduleSpec = z.object({
  id: ScheduleId,
  what: z.enum(['selftest', 'netcheck']),
  cluster: ClusterName,
  cadence: Cadence,
  createdBy: z.string(),
  channel: z.string(),
  createdAt: z.string(),
});
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

/** The data of each tick job (the job scheduler's template). */
export const ScheduleTick = z.object({ scheduleId: ScheduleId });
export type ScheduleTick = z.infer<typeof ScheduleTick>;

export const OutcomeSummarySchema = z.object({
  kind: z.enum(['selftest', 'netcheck']),
  failure: z.string().optional(),
  nodes: z.record(z.string(), z.string()).optional(),
  verdict: z.string().optional(),
  findings: z.array(z.string()).optional(),
});

/** The last run of a schedule that finished, and the last message that showed a result. */
export const ScheduleLast = z.object({
  jobId: z.string().optional(),
  at: z.string().optional(),
  fingerprint: z.string().optional(),
  summary: OutcomeSummarySchema.optional(),
  /** The message of the last posted result (the first run's, or the last change's). */
  message: z.object({ channel: z.string(), ts: z.string(), at: z.string(), jobId: z.string().optional() }).optional(),
  /** The creator was refused at a tick and the channel was told: not told again until a run is allowed. */
  deniedNotified: z.boolean().optional(),
});
export type ScheduleLast = z.infer<typeof ScheduleLast>;

/** What a scheduled job's final does, decided once (first finish) so every replica renders the same. */
export const ScheduleDecision = z.object({
  post: z.boolean(),
  /** Absent on the first run; the lines that changed otherwise. */
  changes: z.array(z.string()).optional(),
  previous: z.string().optional(),
  previousAt: z.string().optional(),
  fingerprint: z.string(),
  summary: OutcomeSummarySchema,
});
export type ScheduleDecision = z.infer<typeof ScheduleDecision>;
