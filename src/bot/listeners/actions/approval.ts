import { decideApproval } from '../../commands/approval.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral } from './respond.ts';

/** Approve / Reject of an approval request: the value is only the approval ID; the stored request is re-read. */
const decision =
  (what: 'approve' | 'reject'): ActionHandler =>
  async ({ ack, body, action, respond }, services) => {
    await ack();
    const say = ephemeral(respond);
    const id = buttonValue(action) ?? '';
    if (!body.channel?.id) return say(renderProblem('This button only works in a channel.'));
    const problem = await decideApproval(services, { userId: body.user.id, channelId: body.channel.id, text: '', respond: say }, id, what);
    if (problem) await say(problem);
  };

export const handleApprovalApprove = decision('approve');
export const handleApprovalReject = decision('reject');
