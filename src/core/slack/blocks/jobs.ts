import type { ChatMessage } from '../message.ts';
import { BLOCKS_TEXT_BUDGET, packLines, slackDate, who } from './audit.ts';
import { code, escapeMrkdwn, LIMITS } from './text.ts';

/** One job as `/cws jobs`, `/cws status` and the App Home show it. */
export interface JobRow {
  jobId: string;
  kind: string;
  cluster: string;
  requestedBy: string;
  /** BullMQ's state: waiting, active, delayed, completed, failed, unknown (expired), … */
  state: string;
  /** When its record was saved (milliseconds). */
  at: number;
  /** A permalink to its message, when it has one. */
  link?: string | undefined;
}

const STATE: Record<string, string> = {
  waiting: ':hourglass_flowing_sand: waiting for a worker',
  'waiting-children': ':hourglass_flowing_sand: running (on its agents)',
  prioritized: ':hourglass_flowing_sand: waiting for a worker',
  delayed: ':hourglass_flowing_sand: waiting to retry',
  active: ':arrows_counterclockwise: running',
  completed: ':white_check_mark: finished',
  failed: ':x: failed',
  unknown: ':grey_question: no longer in the queue',
};
export const stateLabel = (s: string) => STATE[s] ?? code(s, 30);
export const isRunning = (s: string) => s !== 'completed' && s !== 'failed' && s !== 'unknown';

/** The link only when it is a Slack permalink (an `https` URL without characters that break mrkdwn). */
const safeLink = (url: string | undefined) => (url && /^https:\/\/[^\s<>|]+$/.test(url) && url.length <= 500 ? url : undefined);

export function jobLine(j: JobRow, o: { cluster?: boolean } = {}): string {
  const link = safeLink(j.link);
  const where = o.cluster === false ? '' : ` on \`${escapeMrkdwn(j.cluster.slice(0, 63))}\``;
  return `• ${slackDate(j.at)} *${escapeMrkdwn(j.kind.slice(0, 30))}*${where} by ${who(j.requestedBy)} — ${stateLabel(j.state)}${link ? ` — <${link}|message>` : ''} · ${code(j.jobId, 45)}`;
}

/** `/cws jobs`: running jobs first, then the recent ones (ephemeral). */
export function renderJobs(jobs: JobRow[], o: { cluster?: string | undefined; hours: number }): ChatMessage {
  const scope = o.cluster ? ` on \`${escapeMrkdwn(o.cluster)}\`` : '';
  const running = jobs.filter((j) => isRunning(j.state));
  const done = jobs.filter((j) => !isRunning(j.state));
  if (!jobs.length)
    return {
      text: `No jobs${o.cluster ? ` on ${o.cluster}` : ''} in the last ${o.hours} h.`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*Jobs${scope}*\nNone in the last ${o.hours} h.` } }],
    };
  const lines = [
    ...(running.length ? [`*Running (${running.length})*`, ...running.map((j) => jobLine(j, { cluster: !o.cluster }))] : []),
    ...(done.length ? [`*Finished, last ${o.hours} h (${done.length})*`, ...done.map((j) => jobLine(j, { cluster: !o.cluster }))] : []),
  ];
  const packed = packLines(lines, BLOCKS_TEXT_BUDGET - 400, LIMITS.blocks - 2);
  return {
    text: `Jobs${o.cluster ? ` on ${o.cluster}` : ''}: ${running.length} running, ${done.length} finished in the last ${o.hours} h.`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*Jobs${scope}*, newest first` } },
      ...packed.blocks,
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${packed.dropped ? `${packed.dropped} more lines did not fit. ` : ''}\`/cws status JOB_ID\` shows one job’s state or result.`,
          },
        ],
      },
    ],
  };
}
