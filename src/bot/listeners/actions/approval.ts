import { APPROVAL_ID_RE, ApprovalRequest, decideApproval } from '../../commands/approval.ts';
import { publishHomeNotice } from '../../commands/home.ts';
import type { ChatMessage } from '../../notifier.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
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
    let channelId = body.channel?.id ?? '';
    if (onHome && APPROVAL_ID_RE.test(id)) {
      const stored = ApprovalRequest.safeParse(await services.tracker.getApproval(id).catch(() => undefined));
      channelId = stored.success ? stored.data.channel : '';
    }
    const problem = await decideApproval(services, { userId, channelId, text: '', respond: say }, id, what);
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
