import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { remediate } from '../../../commands/remediate.ts';
import { NETCHECK_REMEDIATE_ACTION, REMEDIATION_REVERT_ACTION } from '../../blocks/remediation.ts';
import { renderProblem } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';

const VALUE_RE = /^(nc-[0-9a-f-]{36})\|(set_classifier_priority|disable_network_detections|disable_cws)$/;

/** Netcheck remediation buttons and the Revert of a remediation. */
export function register(app: App, services: BotServices): void {
  app.action<BlockButtonAction>(NETCHECK_REMEDIATE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const m = VALUE_RE.exec(action.value ?? '');
    if (!m || !body.channel?.id) return say(renderProblem('This button is not valid.'));
    const problem = await remediate(services, { userId: body.user.id, channelId: body.channel.id, text: '', respond: say }, { sourceJobId: m[1]!, action: m[2] as never, ...(body.message?.ts ? { messageTs: body.message.ts } : {}) });
    if (problem) await say(problem);
  });
  app.action<BlockButtonAction>(REMEDIATION_REVERT_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const id = action.value ?? '';
    if (!/^rm-[0-9a-f-]{36}$/.test(id) || !body.channel?.id) return say(renderProblem('This button is not valid.'));
    const thread = (body.message as { thread_ts?: string; ts?: string } | undefined)?.thread_ts ?? body.message?.ts;
    const problem = await remediate(services, { userId: body.user.id, channelId: body.channel.id, text: '', respond: say }, { sourceJobId: id, action: 'revert', ...(thread ? { messageTs: thread } : {}) });
    if (problem) await say(problem);
  });
}
