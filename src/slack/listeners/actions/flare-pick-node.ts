import type { App, BlockStaticSelectAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { flare } from '../../../commands/flare.ts';
import { FLARE_PICK_NODE_ACTION } from '../../blocks/flare-inputs.ts';
import { renderProblem } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';

/** The node picker: the choice must be one of the nodes it offered, for the user who asked. */
export function register(app: App, services: BotServices): void {
  app.action<BlockStaticSelectAction>(FLARE_PICK_NODE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const [id = '', node = ''] = (action.selected_option?.value ?? '').split('|');
    const req = await services.tracker.getFlareRequest(id);
    if (!req || req.userId !== body.user.id) return say(renderProblem('This node picker has expired or is not yours.', 'Run `/cws flare <cluster>` again.'));
    if (!req.nodes?.includes(node)) return say(renderProblem(`\`${node}\` is not one of the nodes offered.`));
    const reply = await flare(
      services,
      { userId: body.user.id, channelId: req.channelId, text: '', respond: say, ...(body.trigger_id ? { triggerId: body.trigger_id } : {}) },
      { cluster: req.cluster, node, ...(req.caseId ? { caseId: req.caseId } : {}), ...(req.email ? { email: req.email } : {}) },
      req.id,
    );
    if (reply.ack) await say(reply.ack);
    else await respond({ delete_original: true }).catch(() => {});
    if (reply.after) await reply.after();
  });
}
