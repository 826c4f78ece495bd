import { ACTIONS } from '../actions.ts';
import { withLastChecked } from '../../schedule/render.ts';
import type { ActionsBlock, Block, Button, ChatMessage, ContextBlock, SectionBlock } from '../message.ts';
import { slackDate, who } from './audit.ts';
import { clip, escapeMrkdwn, LIMITS, textLength } from './text.ts';

/**
 * Living result messages (issue 17, point 4): a result whose buttons started a change keeps
 * showing what became of it. The button that did its work is replaced by its outcome ("Reverted
 * by @bob at 12:31"), the verdict says it is stale ("changed since: …"), and the next step is
 * offered (Re-check after a fix, "Re-run self-test on node-3" after a restart). Pure: the stored
 * result message and its follow-ups in, the message to show out (same metadata).
 */

/** What a follow-up did: a netcheck fix, a revert, or an agent restart. */
export type FollowUpAction = 'set_classifier_priority' | 'disable_network_detections' | 'disable_cws' | 'revert' | 'restart_agent';

/** One change started from a result's button. */
export interface FollowUp {
  /** The follow-up's own job. */
  jobId: string;
  action: FollowUpAction;
  /** restart_agent: the node. */
  node?: string | undefined;
  /** Who started it (after an approval: the requester). */
  by: string;
  /** When it was started and, once over, when it ended (milliseconds). */
  startedAt: number;
  endedAt?: number | undefined;
  state: 'running' | 'done' | 'failed';
  /** A short plain outcome, e.g. `pod a → b` or `no change needed`. */
  detail?: string | undefined;
}

/** Block ids the result builders give the lines this module finds again. */
export const LIVING = { verdict: 'verdict', footer: 'footer', outcomes: 'followup_outcomes', next: 'followup_actions' } as const;

/** A time as a Slack date token: each reader sees it in their own time zone. */
export const when = (ms: number) => slackDate(ms, '{date_short_pretty} {time}');

const node = (f: FollowUp) => `*${escapeMrkdwn(clip(f.node ?? '?', 100))}*`;

/** The change in words, as done ("network detections disabled"). */
function doneWords(f: FollowUp): string {
  switch (f.action) {
    case 'set_classifier_priority':
      return 'classifier_priority changed';
    case 'disable_network_detections':
      return 'network detections disabled';
    case 'disable_cws':
      return 'CWS disabled';
    case 'revert':
      return 'reverted';
    case 'restart_agent':
      return `agent on ${node(f)} restarted`;
  }
}

/** The change in words, as under way ("disabling network detections"). */
function runningWords(f: FollowUp): string {
  switch (f.action) {
    case 'set_classifier_priority':
      return 'changing classifier_priority';
    case 'disable_network_detections':
      return 'disabling network detections';
    case 'disable_cws':
      return 'disabling CWS';
    case 'revert':
      return 'reverting';
    case 'restart_agent':
      return `restarting the agent on ${node(f)}`;
  }
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The line that takes a finished button's place. */
export function outcomeLine(f: FollowUp): string {
  const detail = f.detail ? ` (${escapeMrkdwn(clip(f.detail, 200))})` : '';
  if (f.state === 'running') return `:hourglass_flowing_sand: ${capital(runningWords(f))}: started by ${who(f.by)} at ${when(f.startedAt)}…`;
  if (f.state === 'failed')
    return `:x: ${capital(runningWords(f))} failed (started by ${who(f.by)} at ${when(f.startedAt)})${detail}: what failed is in the thread.`;
  return `:white_check_mark: ${capital(doneWords(f))} by ${who(f.by)} at ${when(f.endedAt ?? f.startedAt)}${detail}`;
}

/** The note under the verdict once a change was applied from this result. */
export function staleLine(done: FollowUp[]): string {
  const parts = done.map((f) => `${doneWords(f)} by ${who(f.by)} at ${when(f.endedAt ?? f.startedAt)}`);
  return `_changed since: ${parts.join('; ')}_`;
}

/** Whether a button is the one this follow-up came from. */
function isSource(b: Button, sourceJobId: string, f: FollowUp): boolean {
  if (f.action === 'revert') return ACTIONS.remediationRevert.pattern.test(b.action_id) && b.value === sourceJobId;
  if (f.action === 'restart_agent') return ACTIONS.selftestRestart.pattern.test(b.action_id) && b.value === `${sourceJobId}|${f.node ?? ''}`;
  return ACTIONS.netcheckRemediate.pattern.test(b.action_id) && b.value === `${sourceJobId}|${f.action}`;
}

const button = (action_id: string, text: string, value: string, primary = false): Button => ({
  type: 'button',
  action_id,
  text: { type: 'plain_text', text: clip(text, LIMITS.buttonText) },
  value,
  ...(primary ? { style: 'primary' as const } : {}),
});

/** The next steps a finished follow-up offers on the result it came from. */
function nextButtons(sourceJobId: string, latest: FollowUp[]): Button[] {
  const out: Button[] = [];
  const fixes = latest.filter((f) => f.state === 'done' && f.action !== 'restart_agent');
  if (fixes.length) out.push(button(ACTIONS.netcheckRecheck.id(), 'Re-check', sourceJobId, true));
  let n = 0;
  for (const f of latest)
    if (f.state === 'done' && f.action === 'restart_agent' && f.node && n < 5)
      out.push(button(ACTIONS.selftestRerunNode.id(n++), `Re-run self-test on ${f.node}`, `${sourceJobId}|${f.node}`, n === 1));
  return out;
}

/** The latest follow-up of each button (a restart asked again later replaces the earlier one). */
export function latestFollowUps(followUps: FollowUp[]): FollowUp[] {
  const by = new Map<string, FollowUp>();
  for (const f of [...followUps].sort((a, b) => a.startedAt - b.startedAt)) by.set(`${f.action}|${f.node ?? ''}`, f);
  return [...by.values()];
}

/**
 * The result message as it shows now: each button whose follow-up started is gone, its outcome
 * in its place (one context line each, above the footer); the verdict line notes the changes
 * applied; Re-check / Re-run buttons are offered once a change is done. Everything else, the
 * metadata included, is the original's.
 */
export function liveMessage(original: ChatMessage, sourceJobId: string, followUps: FollowUp[]): ChatMessage {
  const latest = latestFollowUps(followUps);
  if (!latest.length || !original.blocks) return original;
  const blocks: Block[] = [];
  for (const b of original.blocks) {
    if (b.block_id === LIVING.outcomes || b.block_id === LIVING.next) continue; // rebuilt below
    if (b.type === 'actions') {
      const elements = b.elements.filter((e) => e.type !== 'button' || !latest.some((f) => isSource(e, sourceJobId, f)));
      if (elements.length) blocks.push({ ...b, elements } satisfies ActionsBlock);
      continue;
    }
    if (b.type === 'section' && b.block_id === LIVING.verdict && b.text) {
      const done = latest.filter((f) => f.state === 'done');
      const original = b.text.text.split('\n_changed since: ')[0]!;
      const text = done.length ? clip(`${original}\n${staleLine(done)}`, LIMITS.sectionText) : original;
      blocks.push({ ...b, text: { ...b.text, text } } satisfies SectionBlock);
      continue;
    }
    blocks.push(b);
  }
  const outcomes: ContextBlock = {
    type: 'context',
    block_id: LIVING.outcomes,
    elements: latest.slice(-LIMITS.contextElements).map((f) => ({ type: 'mrkdwn', text: clip(outcomeLine(f), 1000) })),
  };
  // A next step the message already offers (a fix's own Re-check) is not offered twice.
  const offered = new Set(blocks.flatMap((b) => (b.type === 'actions' ? b.elements.map((e) => e.action_id.replace(/:\d+$/, '')) : [])));
  const next = nextButtons(sourceJobId, latest).filter(
    (b) => !offered.has(b.action_id.replace(/:\d+$/, '')) || b.action_id.startsWith(ACTIONS.selftestRerunNode.kind),
  );
  const added: Block[] = [outcomes, ...(next.length ? [{ type: 'actions', block_id: LIVING.next, elements: next } satisfies ActionsBlock] : [])];
  const at = blocks.findIndex((b) => b.block_id === LIVING.footer);
  if (at >= 0) blocks.splice(at, 0, ...added);
  else blocks.push(...added);
  return { ...original, blocks: fitted(blocks) };
}

/** Everything a living result shows beyond its stored message. */
export interface LivingState {
  /** The changes started from its buttons. */
  followUps: FollowUp[];
  /** A scheduled result: when a later run last found nothing changed (ms), its "Last checked" line. */
  lastChecked?: number | undefined;
}

/**
 * The one rendering of a living result, whichever edit comes last (a follow-up's start or end, a
 * schedule's unchanged run, `/cws status`): the stored message with its follow-ups' outcomes
 * (liveMessage), then the schedule's "Last checked" line (withLastChecked; left out only when the
 * message has no room for one more block). Each edit renders the whole state, so none drops
 * what another showed.
 */
export function livingMessage(original: ChatMessage, sourceJobId: string, state: LivingState): ChatMessage {
  const live = liveMessage(original, sourceJobId, state.followUps);
  return state.lastChecked === undefined ? live : (withLastChecked(live, state.lastChecked) ?? live);
}

/** Room left under Slack's limit on a message's text (about 12k characters in all its blocks). */
const TEXT_BUDGET = LIMITS.totalText - 500;

/**
 * A result that was near Slack's limits keeps its verdict, outcomes, buttons and footer: its
 * longest detail sections go first (what they listed is in the thread and the metadata).
 */
function fitted(blocks: Block[]): Block[] {
  let out = blocks.slice(0, LIMITS.blocks);
  if (textLength(out) <= TEXT_BUDGET && out.length === blocks.length) return out;
  const note: Block = {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: 'Some details were left out to make room for what happened since; the thread and the metadata have them.' }],
  };
  const droppable = out
    .map((b, i) => ({ b, i, n: textLength(b) }))
    .filter(({ b }) => b.type === 'section' && b.block_id !== LIVING.verdict && !b.accessory)
    .sort((a, b) => b.n - a.n);
  const drop = new Set<number>();
  let size = textLength(out) + textLength(note);
  for (const d of droppable) {
    if (size <= TEXT_BUDGET) break;
    drop.add(d.i);
    size -= d.n;
  }
  out = out.filter((_, i) => !drop.has(i));
  const at = out.findIndex((b) => b.block_id === LIVING.outcomes);
  out.splice(at >= 0 ? at : out.length, 0, note);
  return out.slice(0, LIMITS.blocks);
}
