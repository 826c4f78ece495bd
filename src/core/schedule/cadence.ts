/**
 * Scheduled checks (issue 19 point 3): how often a schedule runs, as the user writes it and as
 * BullMQ's job schedulers take it. Pure: no clock, no Redis.
 */

/** `every <duration>` in whole minutes, or `daily at HH:MM` in a time zone. */
export type Cadence = { every: number } | { daily: string; tz: string };

/** The shortest interval a user may ask for, in minutes: anything shorter is refused. */
export const MIN_EVERY_MINUTES = 1;
/** The longest `every`: 30 days (a longer one is better written `daily at`). */
export const MAX_EVERY_MINUTES = 30 * 24 * 60;

const UNIT_MINUTES: Record<string, number> = { m: 1, min: 1, h: 60, d: 24 * 60 };

export type DurationParse = { ok: true; minutes: number } | { ok: false; error: string };

/**
 * `1m`, `15m`, `90min`, `6h`, `1d` → minutes. Seconds (`30s`) and anything under a minute are
 * refused with the minimum in the answer; so are zero, fractions and more than 30 days.
 */
export function parseDuration(text: string): DurationParse {
  const m = /^([0-9]{1,6})(s|sec|m|min|h|d)$/i.exec(text.trim());
  const shown = text.replace(/`/g, "'").slice(0, 40);
  if (!m) return { ok: false, error: `\`${shown}\` is not a duration: write a whole number of minutes, hours or days, like \`15m\`, \`6h\` or \`1d\`.` };
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  if (unit === 's' || unit === 'sec') return { ok: false, error: `\`${shown}\` is too often: a schedule runs at most once a minute (\`every 1m\`).` };
  const minutes = n * UNIT_MINUTES[unit]!;
  if (minutes < MIN_EVERY_MINUTES) return { ok: false, error: `\`${shown}\` is too often: a schedule runs at most once a minute (\`every 1m\`).` };
  if (minutes > MAX_EVERY_MINUTES) return { ok: false, error: `\`${shown}\` is too long: at most \`30d\` (or use \`daily at HH:MM\`).` };
  return { ok: true, minutes };
}

/** `HH:MM`, 24-hour clock (`7:05` is accepted as `07:05`). */
export function parseTimeOfDay(text: string): { ok: true; hhmm: string; hour: number; minute: number } | { ok: false; error: string } {
  const m = /^([0-9]{1,2}):([0-9]{2})$/.exec(text.trim());
  const shown = text.replace(/`/g, "'").slice(0, 40);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59)
    return { ok: false, error: `\`${shown}\` is not a time of day: write it HH:MM on a 24-hour clock, like \`07:30\`.` };
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  return { ok: true, hhmm: `${String(hour).padStart(2, '0')}:${m[2]}`, hour, minute };
}

/** `15m` → "every 15 minutes", `1440` → "every day"; daily → "daily at 07:30 (Europe/Paris)". */
export function describeCadence(c: Cadence): string {
  if ('daily' in c) return `daily at ${c.daily} (${c.tz})`;
  return `every ${formatMinutes(c.every)}`;
}

export function formatMinutes(minutes: number): string {
  const plural = (n: number, unit: string) => `${n === 1 ? '' : `${n} `}${unit}${n === 1 ? '' : 's'}`;
  if (minutes % (24 * 60) === 0) return plural(minutes / (24 * 60), 'day');
  if (minutes % 60 === 0) return plural(minutes / 60, 'hour');
  return plural(minutes, 'minute');
}

/**
 * The repeat options of the BullMQ job scheduler for a cadence. `minuteMs` is how long a
 * minute is (60 000; tests pass less so that `every 1m` ticks in about a second). A daily
 * cadence is a cron pattern in the creator's time zone, which no test knob shortens.
 */
export function repeatOptions(c: Cadence, minuteMs = 60_000): { every: number } | { pattern: string; tz: string } {
  if ('daily' in c) {
    const [h, m] = c.daily.split(':').map(Number);
    return { pattern: `${m} ${h} * * *`, tz: c.tz };
  }
  return { every: c.every * minuteMs };
}

/** An IANA time zone this runtime knows (`Europe/Paris`, `UTC`); Slack's `tz` is one. */
export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
