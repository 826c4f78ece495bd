import type { Block } from '../message.ts';
import { ACTIONS } from '../actions.ts';
import { approvalWhat } from './approval.ts';
import { slackDate, who } from './audit.ts';
import { jobLine, type JobRow } from './jobs.ts';
import { clip, code, escapeMrkdwn, LIMITS } from './text.ts';

/** The App Home tab, as views.publish takes it (no title, no submit: Slack refuses them on a home view). */
export interface HomeView {
  type: 'home';
  callback_id?: string;
  private_metadata?: string;
  blocks: Block[];
}

export interface HomeVerdict {
  verdict: string;
  at: string;
  jobId: string;
}

export interface HomeCluster {
  name: string;
  kind: 'kubernetes' | 'docker' | 'host';
  /** Connected workers; undefined when Redis did not answer. */
  workers: number | undefined;
  selftest?: HomeVerdict | undefined;
  netcheck?: HomeVerdict | undefined;
}

/** An open two-person approval request, as the App Home lists it. */
export interface HomeApproval {
  approvalId: string;
  cluster: string;
  action: string;
  node?: string | undefined;
  requestedBy: string;
  expiresAt: string;
  /** The request message (chat.getPermalink), where Approve and Reject are. */
  link?: string | undefined;
}

/** The open requests that concern the user: the ones they may approve, and their own still waiting. */
export interface HomeApprovals {
  toApprove: HomeApproval[];
  mine: HomeApproval[];
}

/** Slack's limit for the blocks of a home view. */
export const HOME_MAX_BLOCKS = 100;
const MAX_CLUSTERS = 60;
const MAX_JOBS = 10;
/** Requests listed per list (each list is one section, its lines whole). */
export const HOME_MAX_APPROVALS = 10;

const VERDICT: Record<string, string> = {
  ok: ':large_green_circle: OK',
  failed: ':red_circle: failing agents',
  error: ':warning: could not run',
  action_required: ':large_yellow_circle: action required',
  broken: ':red_circle: broken',
  unknown: ':grey_question: unknown',
};

function verdict(label: string, v: HomeVerdict | undefined): string {
  return v ? `${label}: ${VERDICT[v.verdict] ?? code(v.verdict, 20)} ${slackDate(v.at, '{date_short_pretty} {time}')}` : `${label}: _never run_`;
}

function workers(n: number | undefined): string {
  return n === undefined
    ? ':grey_question: workers unknown'
    : n === 0
      ? ':red_circle: no worker online'
      : `:large_green_circle: ${n} worker${n > 1 ? 's' : ''} online`;
}

/** A Slack permalink as a link; anything else (not https, or with characters that end a link) is left out. */
const SAFE_LINK = /^https:\/\/[^\s<>|]{1,2000}$/;

function approvalLine(a: HomeApproval, mine: boolean): string {
  const what = `*${escapeMrkdwn(approvalWhat(a))}*`;
  const by = mine ? '' : ` — asked by ${who(a.requestedBy)}`;
  const link = a.link && SAFE_LINK.test(a.link) ? ` · <${a.link}|${mine ? 'open the request' : 'approve or reject'}>` : '';
  return `• ${what}${by}, until ${slackDate(a.expiresAt, '{date_short_pretty} {time}')}${link}`;
}

/** One section: a title, then whole lines while they fit (a line cut in two could break a date token or a link), then "…and N more". */
function approvalSection(title: string, list: HomeApproval[], mine: boolean): Block {
  const shown = list.slice(0, HOME_MAX_APPROVALS);
  const lines: string[] = [];
  let size = title.length;
  for (const a of shown) {
    const line = approvalLine(a, mine);
    if (size + 1 + line.length > LIMITS.sectionText - 60) break;
    lines.push(line);
    size += 1 + line.length;
  }
  const more = list.length - lines.length;
  const tail = more > 0 ? [`…and ${more} more${mine ? '' : ': see the channels where they were asked'}.`] : [];
  return { type: 'section', text: { type: 'mrkdwn', text: [title, ...lines, ...tail].join('\n') } };
}

function approvalButtons(a: HomeApproval, i: number): Block {
  const what = approvalWhat(a);
  return {
    type: 'actions',
    block_id: `approval-${i}`,
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.approvalApprove.id(i),
        text: { type: 'plain_text', text: clip(`Approve: ${what}`, 75) },
        style: 'primary',
        value: a.approvalId,
        confirm: {
          title: { type: 'plain_text', text: 'Approve this change?' },
          text: { type: 'plain_text', text: clip(`${what}, asked by the requester, runs now on their behalf.`, 300) },
          confirm: { type: 'plain_text', text: 'Approve' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
      { type: 'button', action_id: ACTIONS.approvalReject.id(i), text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: a.approvalId },
    ],
  };
}

function approvalBlocks(a: HomeApprovals): Block[] {
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: 'Approval requests', emoji: true } }];
  if (!a.toApprove.length && !a.mine.length) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'No change waits for your approval, and none of your requests is open.' } });
    return blocks;
  }
  if (a.toApprove.length) {
    blocks.push(approvalSection(':raised_hand: *Waiting for your approval*', a.toApprove, false));
    // Approve and Reject here too; the click is decided as one on the request message (its value is only the ID).
    a.toApprove.slice(0, HOME_MAX_APPROVALS).forEach((r, i) => blocks.push(approvalButtons(r, i)));
  }
  if (a.mine.length) blocks.push(approvalSection(':hourglass_flowing_sand: *Your requests, waiting for another approver*', a.mine, true));
  return blocks;
}

/**
 * The App Home: the user's open approval requests (those to approve with Approve and Reject), the
 * clusters the user may act on (kind, workers, last self-test and netcheck) and their latest jobs,
 * within a home view's 100 blocks; `notice` answers the user's last click on it.
 */
export function renderHome(o: { userId: string; clusters: HomeCluster[]; jobs: JobRow[]; approvals?: HomeApprovals; notice?: string }): HomeView {
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: 'CWS ChatOps', emoji: true } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Datadog Cloud Workload Security on your clusters. Type `/cws help` in any channel the bot is in.' }],
    },
    // The answer to a click on this Home (a Home click has no response_url to answer through).
    ...(o.notice ? [{ type: 'section', text: { type: 'mrkdwn', text: clip(o.notice, LIMITS.sectionText) } } satisfies Block] : []),
    ...approvalBlocks(o.approvals ?? { toApprove: [], mine: [] }),
    { type: 'divider' },
    { type: 'header', text: { type: 'plain_text', text: 'Your clusters', emoji: true } },
  ];
  const clusters = o.clusters.slice(0, MAX_CLUSTERS);
  if (!clusters.length)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: 'You may not run commands on any configured cluster. Ask an admin of the bot (the `access` lists).' },
    });
  for (const c of clusters)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `*${escapeMrkdwn(c.name)}* (${c.kind}) — ${workers(c.workers)}\n${verdict('Last self-test', c.selftest)} · ${verdict('Last netcheck', c.netcheck)}`,
          LIMITS.sectionText,
        ),
      },
    });
  if (o.clusters.length > clusters.length)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${o.clusters.length - clusters.length} more: \`/cws clusters\`.` }] });
  blocks.push({ type: 'divider' }, { type: 'header', text: { type: 'plain_text', text: 'Your latest jobs', emoji: true } });
  const jobs = o.jobs.slice(0, MAX_JOBS);
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: jobs.length ? clip(jobs.map((j) => jobLine(j)).join('\n'), LIMITS.sectionText) : 'No jobs of yours in the last 24 h.' },
  });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: '`/cws jobs` lists every recent job, `/cws status JOB_ID` shows one, `/cws audit` who ran what.' }],
  });
  return { type: 'home', callback_id: 'cws_home', blocks: blocks.slice(0, HOME_MAX_BLOCKS) };
}
