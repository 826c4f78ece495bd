import { decideFlare } from '../../commands/flare-decision.ts';
import { type ActionHandler, buttonValue, ephemeral } from './respond.ts';

/** "Send to Datadog support" and "Cancel" on a flare review: the job comes from the button's value, re-checked. */
const decision =
  (what: 'send' | 'cancel'): ActionHandler =>
  async ({ ack, body, action, respond }, services) => {
    await ack();
    const say = ephemeral(respond);
    const problem = await decideFlare(
      services,
      { userId: body.user.id, channelId: body.channel?.id ?? '', text: '', respond: say },
      buttonValue(action) ?? '',
      what,
    );
    if (problem) await say(problem);
  };

export const handleFlareSend = decision('send');
export const handleFlareCancel = decision('cancel');
