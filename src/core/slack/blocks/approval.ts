import { approvalMetadata, type ApprovalMetadataPayload } from '../../metadata.ts';
import { ACTIONS } from '../actions.ts';
import type { Block, ChatMessage } from '../message.ts';
import { clip, escapeClip } from './text.ts';

/** A change waiting for a second person: what it is, who asked, until when. */
export interface ApprovalView {
  approvalId: string;
  cluster: string;
  /** e.g. `disable_network_detections`, `restart_agent` */
  action: string;
  requestedBy: string;
  expiresAt: string;
  node?: string | undefined;
}

const LABEL: Record<string, string> = {
  set_classifier_priority: 'Set classifier_priority',
  disable_network_detections: 'Disable network detections',
  disable_cws: 'Disable CWS',
  revert: 'Revert',
  restart_agent: 'Restart agent',
};

/** What the change is, in words (plain text). */
export const approvalWhat = (a: Pick<ApprovalView, 'action' | 'node' | 'cluster'>): string =>
  `${LABEL[a.action] ?? a.action}${a.node ? ` on ${a.node}` : ''} (${a.cluster})`;

/** A Slack date token: shown in the reader's time zone. */
const when = (iso: string) => {
  const s = Math.floor(Date.parse(iso) / 1000);
  return Number.isFinite(s) ? `<!date^${s}^{time}|${iso}>` : iso;
};

const payload = (a: ApprovalView, state: ApprovalMetadataPayload['state'], decidedBy?: string): ApprovalMetadataPayload => ({
  approvalId: a.approvalId,
  cluster: a.cluster,
  action: a.action,
  requestedBy: a.requestedBy,
  expiresAt: a.expiresAt,
  ...(a.node ? { node: a.node } : {}),
  ...(state ? { state } : {}),
  ...(decidedBy ? { decidedBy } : {}),
});

/** The request, with Approve and Reject: their values carry only the approval ID. */
export function renderApprovalRequest(a: ApprovalView): ChatMessage {
  const what = escapeClip(approvalWhat(a), 300);
  const blocks: Block[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `:raised_hand: <@${a.requestedBy}> asks to run *${what}*. \`${a.cluster}\` needs a second person: someone allowed to approve (not the requester) approves or rejects it before ${when(a.expiresAt)}.`,
          3000,
        ),
      },
    },
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ACTIONS.approvalApprove.id(),
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          value: a.approvalId,
          confirm: {
            title: { type: 'plain_text', text: 'Approve this change?' },
            text: { type: 'plain_text', text: clip(`${approvalWhat(a)} runs now, on behalf of the requester.`, 300) },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        { type: 'button', action_id: ACTIONS.approvalReject.id(), text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: a.approvalId },
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `approval \`${escapeClip(a.approvalId, 60)}\`` }] },
  ];
  return { text: `Approval needed: ${approvalWhat(a)}`, blocks, metadata: approvalMetadata(payload(a, 'pending')) };
}

/** The request once closed: its buttons replaced by the outcome. */
export function renderApprovalClosed(a: ApprovalView, state: 'approved' | 'rejected' | 'expired', by: string | undefined, at: string): ChatMessage {
  const what = escapeClip(approvalWhat(a), 300);
  const line =
    state === 'approved'
      ? `:white_check_mark: *${what}*, asked by <@${a.requestedBy}>, was approved by <@${by}> at ${when(at)}: the change runs.`
      : state === 'rejected'
        ? `:no_entry_sign: *${what}*, asked by <@${a.requestedBy}>, was rejected by <@${by}> at ${when(at)}: nothing was changed.`
        : `:hourglass: *${what}*, asked by <@${a.requestedBy}>, expired at ${when(a.expiresAt)} without an approval: nothing was changed.`;
  return {
    text: `${approvalWhat(a)}: ${state}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(line, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `approval \`${escapeClip(a.approvalId, 60)}\`` }] },
    ],
    metadata: approvalMetadata(payload(a, state, by)),
  };
}
