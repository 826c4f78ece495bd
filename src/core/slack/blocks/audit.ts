import type { Block, ChatMessage } from '../message.ts';
import { clip, code, escapeClip, escapeMrkdwn, LIMITS } from './text.ts';

/** One audit entry as `/cws audit` shows it (the bot's `AuditEntry`, structurally). */
export interface AuditRow {
  at: string;
  user: string;
  channel: string;
  command: string;
  cluster?: string | undefined;
  jobId?: string | undefined;
  outcome: string;
  detail?: string | undefined;
}

/** Our budget for the text of all blocks of one message (Slack's `msg_blocks_too_long`, modelled at 12,000). */
export const BLOCKS_TEXT_BUDGET = 11_000;

const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const CHANNEL_ID = /^[CDG][A-Z0-9]{2,20}$/;

/** A Slack date token (shown in the reader's time zone), with the UTC time as its fallback. */
export function slackDate(at: string | number, format = '{date_short} {time}'): string {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return code(String(at), 40);
  const fallback = new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback} UTC>`;
}

/** A user as Slack shows them: a mention for a Slack user ID, else (a CLI user without `CWS_USER`) the name as code. */
export const who = (user: string) => (USER_ID.test(user) ? `<@${user}>` : code(user, 40));

const OUTCOME: Record<string, string> = {
  queued: ':arrow_forward: started',
  attached: ':link: joined a running job',
  denied: ':no_entry: denied',
  invalid: ':grey_question: invalid',
  error: ':warning: error',
  ok: ':white_check_mark: OK',
  failed: ':red_circle: findings',
  answered: ':speech_balloon: answered',
};
export const outcomeLabel = (o: string) => OUTCOME[o] ?? code(o, 20);

function line(e: AuditRow): string {
  const where = e.channel === 'cli' ? ' · _CLI_' : CHANNEL_ID.test(e.channel) ? ` · <#${e.channel}>` : '';
  // A job's end is recorded with its kind and job ID; a command with the text as typed.
  const what =
    e.jobId && (e.outcome === 'ok' || e.outcome === 'failed' || (e.outcome === 'error' && !e.command.includes(' ')))
      ? `${code(e.command, 30)} result`
      : code(e.command, 80);
  const detail = e.detail ? ` (${escapeClip(e.detail, 80)})` : '';
  const job = e.jobId ? ` · ${code(e.jobId, 45)}` : '';
  return `• ${slackDate(e.at)} ${who(e.user)} ${what} → ${outcomeLabel(e.outcome)}${detail}${where}${job}`;
}

/**
 * Lines packed into sections (each within a section's limit) until the blocks' text budget is
 * spent; returns the blocks and how many lines did not fit.
 */
export function packLines(lines: string[], budget: number, maxBlocks: number): { blocks: Block[]; dropped: number } {
  const blocks: Block[] = [];
  let current = '';
  let used = 0;
  let taken = 0;
  for (const l of lines) {
    const piece = clip(l, 1000);
    if (used + piece.length + 1 > budget) break;
    if (current && current.length + piece.length + 1 > LIMITS.sectionText) {
      if (blocks.length + 1 >= maxBlocks) break;
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
      current = '';
    }
    current = current ? `${current}\n${piece}` : piece;
    used += piece.length + 1;
    taken += 1;
  }
  if (current) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
  return { blocks, dropped: lines.length - taken };
}

/** `/cws audit`: who ran what, when, and how it ended, newest first (ephemeral). */
export function renderAudit(rows: AuditRow[], o: { cluster?: string | undefined; limit: number }): ChatMessage {
  const scope = o.cluster ? ` on \`${escapeMrkdwn(o.cluster)}\`` : ' on the clusters you may run commands on';
  const title = `*Audit trail*${scope} — newest first`;
  if (!rows.length)
    return {
      text: `Audit trail: no entries${o.cluster ? ` for ${o.cluster}` : ''}.`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${title}\nNo entries yet.` } }],
    };
  const packed = packLines(rows.map(line), BLOCKS_TEXT_BUDGET - 400, LIMITS.blocks - 2);
  const shown = rows.length - packed.dropped;
  const footer = `${shown} entr${shown === 1 ? 'y' : 'ies'}${packed.dropped ? ` (${packed.dropped} more did not fit: try \`--limit ${Math.max(1, shown)}\` or name a cluster)` : ''} · times in your time zone · \`/cws audit [cluster] [--limit N]\` (at most 100)`;
  return {
    text: `Audit trail${o.cluster ? ` of ${o.cluster}` : ''}: ${shown} entries, newest first.`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: title } }, ...packed.blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: footer }] }],
  };
}
