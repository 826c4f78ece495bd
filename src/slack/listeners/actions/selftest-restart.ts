import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { restartAgent } from '../../../commands/restart-agent.ts';
import { parseNodeActionValue, SELFTEST_RESTART_ACTION } from '../../blocks/selftest.ts';
import { renderProblem } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';

export function register(app: App, services: BotServices): void {
  app.action<BlockButtonAction>(SELFTEST_RESTART_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const parsed = parseNodeActionValue(action.value ?? '');
    if (!parsed) return say(renderProblem('This button is not valid.'));
    const channelId = body.channel?.id;
    if (!channelId) return say(renderProblem('This button only works in a channel.'));
    const problem = await restartAgent(
      services,
      { userId: body.user.id, channelId, text: '', respond: say },
      { jobId: parsed.jobId, node: parsed.node, ...(body.message?.ts ? { messageTs: body.message.ts } : {}) },
    );
    if (problem) await say(problem);
  });
}
