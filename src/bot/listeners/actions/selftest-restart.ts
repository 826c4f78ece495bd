import { restartAgent } from '../../commands/restart-agent.ts';
import { parseNodeActionValue } from '../../../core/slack/blocks/selftest.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral, threadOf } from './respond.ts';

/** "Restart agent on <node>": the node comes from the clicked button's value, checked against the stored result. */
export const handleSelftestRestart: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const parsed = parseNodeActionValue(buttonValue(action) ?? '');
  if (!parsed) return say(renderProblem('This button is not valid.'));
  const channelId = body.channel?.id;
  if (!channelId) return say(renderProblem('This button only works in a channel.'));
  const problem = await restartAgent(
    services,
    { userId: body.user.id, channelId, text: '', respond: say },
    { jobId: parsed.jobId, node: parsed.node, ...(threadOf(body) ? { messageTs: threadOf(body)! } : {}) },
  );
  if (problem) await say(problem);
};
