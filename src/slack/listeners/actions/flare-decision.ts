import type { App, BlockButtonAction } from '@slack/bolt';
import { decideFlare } from '../../../commands/flare-decision.ts';
import type { BotServices } from '../../../commands/context.ts';
import { FLARE_CANCEL_ACTION, FLARE_SEND_ACTION } from '../../blocks/flare.ts';
import { ephemeral } from './respond.ts';

/** "Send to Datadog support" and "Cancel" on a flare review. */
export function register(app: App, services: BotServices): void {
  for (const [actionId, decision] of [
    [FLARE_SEND_ACTION, 'send'],
    [FLARE_CANCEL_ACTION, 'cancel'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const say = ephemeral(respond);
      const problem = await decideFlare(services, { userId: body.user.id, channelId: body.channel?.id ?? '', text: '', respond: say }, action.value ?? '', decision);
      if (problem) await say(problem);
    });
  }
}
