import { flare } from '../../commands/flare.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, ephemeral } from './respond.ts';

/** The node picker: the choice must be one of the nodes it offered, for the user who asked. */
export const handleFlarePickNode: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const picked = action.type === 'static_select' ? (action.selected_option?.value ?? '') : '';
  const [id = '', index = ''] = picked.split('|');
  const req = await services.tracker.getFlareRequest(id);
  if (!req || req.userId !== body.user.id) return say(renderProblem('This node picker has expired or is not yours.', 'Run `/cws flare <cluster>` again.'));
  // The option names the node by its index in the list the picker offered (stored with the request).
  const node = /^(0|[1-9][0-9]{0,3})$/.test(index) ? req.nodes?.[Number(index)] : undefined;
  if (!node) return say(renderProblem('That choice is not one of the nodes offered.', 'Pick a node from the menu, or run `/cws flare <cluster> --node NODE`.'));
  const reply = await flare(
    services,
    { userId: body.user.id, channelId: req.channelId, text: '', respond: say, ...(body.trigger_id ? { triggerId: body.trigger_id } : {}) },
    { cluster: req.cluster, node, ...(req.caseId ? { caseId: req.caseId } : {}), ...(req.email ? { email: req.email } : {}) },
    req.id,
  );
  if (reply.ack) await say(reply.ack);
  else await respond({ delete_original: true }).catch(() => {});
  if (reply.after) await reply.after();
};
