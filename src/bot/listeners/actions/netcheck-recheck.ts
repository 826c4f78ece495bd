import { netcheck } from '../../commands/netcheck.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral, threadOf } from './respond.ts';

/**
 * "Re-check" after a fix (on the report or on the fix's result): a netcheck of the same cluster,
 * in the same thread. The cluster comes from the stored record of the job the button names.
 */
export const handleNetcheckRecheck: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const jobId = buttonValue(action) ?? '';
  const record = /^(nc|rm)-[0-9a-f-]{36}$/.test(jobId) ? await services.tracker.getRecord(jobId) : undefined;
  if (!record) return say(renderProblem('This result is too old to re-check from the button.', 'Run `/cws netcheck <cluster>` again.'));
  const reply = await netcheck(
    services,
    { userId: body.user.id, channelId: body.channel?.id ?? record.channel, text: `netcheck ${record.cluster}`, respond: say },
    { cluster: record.cluster },
    { threadTs: threadOf(body) },
  );
  if (reply.ack) await say(reply.ack);
  if (reply.after) await reply.after();
};
