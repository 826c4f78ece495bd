import { remediate } from '../../commands/remediate.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral, threadOf } from './respond.ts';

const VALUE_RE = /^(nc-[0-9a-f-]{36})\|(set_classifier_priority|disable_network_detections|disable_cws)$/;

/**
 * A netcheck fix button: which fix comes from the clicked button's value (never from its
 * position), and `remediate` checks it is one the stored report offered.
 */
export const handleNetcheckRemediate: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const m = VALUE_RE.exec(buttonValue(action) ?? '');
  if (!m || !body.channel?.id) return say(renderProblem('This button is not valid.'));
  const problem = await remediate(
    services,
    { userId: body.user.id, channelId: body.channel.id, text: '', respond: say },
    { sourceJobId: m[1]!, action: m[2] as never, ...(threadOf(body) ? { messageTs: threadOf(body)! } : {}) },
  );
  if (problem) await say(problem);
};

/** The Revert of a remediation: the remediation job comes from the button's value. */
export const handleRemediationRevert: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const id = buttonValue(action) ?? '';
  if (!/^rm-[0-9a-f-]{36}$/.test(id) || !body.channel?.id) return say(renderProblem('This button is not valid.'));
  const thread = threadOf(body);
  const problem = await remediate(
    services,
    { userId: body.user.id, channelId: body.channel.id, text: '', respond: say },
    { sourceJobId: id, action: 'revert', ...(thread ? { messageTs: thread } : {}) },
  );
  if (problem) await say(problem);
};
