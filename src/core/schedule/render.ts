import type { Block, ChatMessage } from '../slack/message.ts';
import { clip, escapeMrkdwn, LIMITS } from '../slack/blocks/text.ts';
import { type Cadence, describeCadence } from './cadence.ts';

/** The Slack side of scheduled checks: acks, the list, the notice above a run's result. Pure. */

export interface ScheduleView {
  id: string;
  what: 'selftest' | 'netcheck';
  cluster: string;
  cadence: Cadence;
  createdBy: string;
  channel: string;
  /** Next tick, epoch ms (from the BullMQ job scheduler), if known. */
  next?: number;
  /** The last run's outcome in a few words, and when. */
  last?: { outcome: string; at: string };
}

const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.sectionText) } });
/** mrkdwn markers out of a notification text (not `_`: it is in emoji names such as `:alarm_clock:`). */
const plain = (s: string) => s.replace(/[`*]/g, '');
/** The most schedules one list shows: each takes a section of about 300 characters, and a message holds 12 000 in all. */
const MAX_LISTED = 25;

/** A Slack date token: shown in the reader's own time zone; the fallback is UTC. */
export function slackDate(ms: number): string {
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${iso}>`;
}

export const whatOf = (v: { what: 'selftest' | 'netcheck' }) => (v.what === 'selftest' ? 'self-test' : 'netcheck');

export function renderScheduleCreated(v: ScheduleView, o: { tzNote?: string } = {}): ChatMessage {
  const when = 'every' in v.cadence ? 'The first run starts now' : `The first run is ${v.next ? slackDate(v.next) : `at ${v.cadence.daily}`}`;
  const tz = 'daily' in v.cadence ? `\nTimes are in *${escapeMrkdwn(v.cadence.tz)}*${o.tzNote ? ` (${escapeMrkdwn(o.tzNote)})` : ''}.` : '';
  const text =
    `:alarm_clock: Scheduled \`${v.id}\`: ${whatOf(v)} of \`${v.cluster}\` ${describeCadence(v.cadence)}, as <@${v.createdBy}>.${tz}\n` +
    `${when}; its result is posted in <#${v.channel}>. Later runs post only when something changes (a node’s verdict, the netcheck verdict or its findings).\n` +
    `Stop it with \`/cws schedule delete ${v.id}\`.`;
  return { text: plain(text), blocks: [section(text)] };
}

export function renderScheduleList(views: ScheduleView[], hidden: number): ChatMessage {
  if (!views.length) {
    const text = hidden
      ? `No schedule on a cluster you may run commands on (${hidden} on others).`
      : 'No scheduled checks. Create one with `/cws schedule netcheck <cluster> every 6h` (or `daily at HH:MM`).';
    return { text: plain(text), blocks: [section(text)] };
  }
  const blocks: Block[] = [section(`:alarm_clock: *Scheduled checks* (${views.length})`)];
  for (const v of views.slice(0, MAX_LISTED)) {
    const next = v.next ? slackDate(v.next) : 'not scheduled';
    const last = v.last ? `${escapeMrkdwn(v.last.outcome)} (${slackDate(Date.parse(v.last.at))})` : 'not run yet';
    blocks.push(
      section(
        `\`${v.id}\` ${whatOf(v)} of \`${v.cluster}\` ${escapeMrkdwn(describeCadence(v.cadence))} · by <@${v.createdBy}> in <#${v.channel}>\n` +
          `Next run: ${next} · Last outcome: ${last}`,
      ),
    );
  }
  if (views.length > MAX_LISTED || hidden)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: [
            views.length > MAX_LISTED ? `${views.length - MAX_LISTED} more not shown (the first ${MAX_LISTED} by ID).` : '',
            hidden ? `${hidden} on clusters you may not run commands on.` : '',
          ]
            .filter(Boolean)
            .join(' '),
        },
      ],
    });
  return { text: `Scheduled checks: ${views.length}`, blocks };
}

/**
 * The line above a scheduled run's result: the first run says what it is; a later one what
 * changed since the last posted result (with a link to it). Prepended to the kind's own message.
 */
export function withScheduleNotice(message: ChatMessage, v: ScheduleView, o: { changes?: string[]; previous?: string; previousAt?: string }): ChatMessage {
  const head = `:alarm_clock: Scheduled ${whatOf(v)} \`${v.id}\` of \`${v.cluster}\` (${escapeMrkdwn(describeCadence(v.cadence))}, as <@${v.createdBy}>)`;
  let text: string;
  if (!o.changes) text = `${head}: first run. Later runs post here only when the outcome changes.`;
  else {
    const since = o.previous ? `<${o.previous}|the last result>` : 'the last result';
    const at = o.previousAt ? ` (${slackDate(Date.parse(o.previousAt))})` : '';
    text = `${head}: *changed* since ${since}${at}:\n${o.changes.map((c) => `• ${c}`).join('\n')}`;
  }
  const blocks = [section(text), ...(message.blocks ?? [])].slice(0, LIMITS.blocks);
  return { ...message, text: clip(`${plain(text.split('\n')[0]!)} ${message.text}`, 3000), blocks };
}

/** The block ID of the "last checked" line an unchanged run puts under the last posted result. */
export const LAST_CHECKED_BLOCK = 'cws-schedule-last-checked';

/**
 * The last posted result with its "last checked" line (replacing an earlier one): what an unchanged
 * run edits the message to. Undefined when there is no room for the line (50 blocks).
 */
export function withLastChecked(message: ChatMessage, ms: number): ChatMessage | undefined {
  const blocks = (message.blocks ?? []).filter((b) => b.block_id !== LAST_CHECKED_BLOCK);
  if (blocks.length >= LIMITS.blocks) return undefined;
  const line: Block = {
    type: 'context',
    block_id: LAST_CHECKED_BLOCK,
    elements: [{ type: 'mrkdwn', text: `:white_check_mark: Last checked ${slackDate(ms)}: no change since this result.` }],
  };
  return { ...message, blocks: [...blocks, line] };
}

/** Told once in the schedule's channel when a run is refused: the creator may no longer run commands on the cluster. */
export function renderScheduleDenied(v: ScheduleView, reason: string): ChatMessage {
  const text =
    `:no_entry: Scheduled ${whatOf(v)} \`${v.id}\` of \`${v.cluster}\` did not run: <@${v.createdBy}>, who created it, is no longer allowed (${escapeMrkdwn(reason)}).\n` +
    `It will run again once they are; or delete it with \`/cws schedule delete ${v.id}\` (its creator or an approver of \`${v.cluster}\`). This is said once.`;
  return { text: plain(text), blocks: [section(text)] };
}
