import { CLUSTER_NAME_RE } from '../names.ts';
import { parseDuration, parseTimeOfDay } from './cadence.ts';

/** What `/cws schedule …` asks for; the time zone of `daily at` is chosen by the bot (the creator's). */
export type ScheduleOp =
  | { action: 'list' }
  | { action: 'delete'; id: string }
  | { action: 'create'; what: ScheduledKind; cluster: string; every: number }
  | { action: 'create'; what: ScheduledKind; cluster: string; daily: string };

export type ScheduledKind = 'selftest' | 'netcheck';

/** A schedule ID as the bot makes them: `sc-` and 8 hex digits. */
export const SCHEDULE_ID_RE = /^sc-[0-9a-f]{8}$/;

export const SCHEDULE_USAGE =
  '/cws schedule <selftest|netcheck> <cluster> every <duration> | /cws schedule <selftest|netcheck> <cluster> daily at HH:MM | /cws schedule list | /cws schedule delete <ID>';

const shown = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s).replace(/`/g, "'");

/** The arguments after `schedule`, already tokenized. Stops at the first wrong one. */
export function parseScheduleArgs(rest: string[]): { ok: true; op: ScheduleOp } | { ok: false; error: string } {
  const [first, ...more] = rest;
  if (!first) return { ok: false, error: 'say what to schedule (`selftest` or `netcheck`), or `list`, or `delete <ID>`.' };
  const verb = first.toLowerCase();
  if (verb === 'list') {
    if (more.length) return { ok: false, error: `\`schedule list\` takes no arguments (got \`${shown(more[0]!)}\`).` };
    return { ok: true, op: { action: 'list' } };
  }
  if (verb === 'delete') {
    const [id, ...extra] = more;
    if (!id) return { ok: false, error: 'the ID of the schedule to delete is required (see `/cws schedule list`).' };
    if (!SCHEDULE_ID_RE.test(id.toLowerCase()))
      return { ok: false, error: `\`${shown(id)}\` is not a schedule ID (like \`sc-1a2b3c4d\`, from \`/cws schedule list\`).` };
    if (extra.length) return { ok: false, error: `unexpected argument \`${shown(extra[0]!)}\`.` };
    return { ok: true, op: { action: 'delete', id: id.toLowerCase() } };
  }
  if (verb !== 'selftest' && verb !== 'netcheck')
    return { ok: false, error: `\`${shown(first)}\` cannot be scheduled: schedule \`selftest\` or \`netcheck\` (or use \`list\`, \`delete\`).` };
  const [cluster, how, ...when] = more;
  if (!cluster) return { ok: false, error: 'a cluster name is required.' };
  if (!CLUSTER_NAME_RE.test(cluster))
    return { ok: false, error: `\`${shown(cluster)}\` is not a valid cluster name (lowercase letters, digits, "-", "_", ".", at most 63).` };
  if (!how) return { ok: false, error: 'say how often: `every <duration>` (at least `1m`) or `daily at HH:MM`.' };
  switch (how.toLowerCase()) {
    case 'every': {
      const [d, ...extra] = when;
      if (!d) return { ok: false, error: '`every` needs a duration, like `15m`, `6h` or `1d` (at least `1m`).' };
      const parsed = parseDuration(d);
      if (!parsed.ok) return parsed;
      if (extra.length) return { ok: false, error: `unexpected argument \`${shown(extra[0]!)}\`.` };
      return { ok: true, op: { action: 'create', what: verb, cluster, every: parsed.minutes } };
    }
    case 'daily': {
      const [at, t, ...extra] = when;
      if (at?.toLowerCase() !== 'at' || !t) return { ok: false, error: '`daily` is written `daily at HH:MM`, like `daily at 07:30`.' };
      const parsed = parseTimeOfDay(t);
      if (!parsed.ok) return parsed;
      if (extra.length) return { ok: false, error: `unexpected argument \`${shown(extra[0]!)}\`.` };
      return { ok: true, op: { action: 'create', what: verb, cluster, daily: parsed.hhmm } };
    }
    default:
      return { ok: false, error: `\`${shown(how)}\`: say how often with \`every <duration>\` (at least \`1m\`) or \`daily at HH:MM\`.` };
  }
}
