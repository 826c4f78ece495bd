import { decideApproval } from '../../commands/approval.ts';
import { publishHomeNotice } from '../../commands/home.ts';
import type { ChatMessage } from '../../notifier.ts';
import { type ActionHandler, buttonValue, ephemeral } from './respond.ts';

/**
 * Approve / Reject of an approval request: the value is only the approval ID; the stored request is re-read.
 * On the request message, answers are ephemeral (response_url). On the App Home (container `view`, no
 * channel, no response_url) the decision is the same, audited in the request's channel, and the answer
 * is the Home republished with it at the top.
 */
const decision =
  (what: 'approve' | 'reject'): ActionHandler =>
  async ({ ack, body, action, respond }, services) => {
    await ack();
    const id = buttonValue(action) ?? '';
    const onHome = !body.channel?.id && body.view?.type === 'home';
    if (!body.channel?.id && !onHome) return;
    const userId = body.user.id;
    let told = false;
    const say = onHome
      ? (m: ChatMessage) => {
          told = true;
          return publishHomeNotice(services, userId, m.text);
        }
      : ephemeral(respond);
    // From the Home, no channel: decideApproval audits the click in the request's channel.
    const problem = await decideApproval(services, { userId, channelId: body.channel?.id ?? '', text: '', respond: say }, id, what);
    if (problem) await say(problem);
    else if (onHome && !told)
      await publishHomeNotice(
        services,
        userId,
        what === 'approve'
          ? ':white_check_mark: Approved: the change runs now; its result is posted where it was asked.'
          : ':no_entry_sign: Rejected: nothing was changed.',
      );
  };

export const handleApprovalApprove = decision('approve');
export const handleApprovalReject = decision('reject');
