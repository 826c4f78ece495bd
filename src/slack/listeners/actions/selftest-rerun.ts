import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { selftest } from '../../../commands/selftest.ts';
import { SELFTEST_RERUN_ACTION } from '../../blocks/selftest.ts';
import { SELFTEST_JOB_ID_RE } from '../../../jobs/queues.ts';
import { renderProblem } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';


/**
 * "Re-run": the button's value is only a lookup key. Cluster and node come from the job
 * record the bot stored in Redis, and the clicking user is authorised again here.
 */
export function register(app: App, services: BotServices): void {
  app.action<BlockButtonAction>(SELFTEST_RERUN_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const jobId = action.value ?? '';
    const record = SELFTEST_JOB_ID_RE.test(jobId) ? await services.tracker.getRecord(jobId) : undefined;
    if (!record) {
      await say(renderProblem('This result is too old to re-run from the button.', 'Run `/cws selftest <cluster>` again.'));
      return;
    }
    const channelId = body.channel?.id ?? record.channel;
    const reply = await selftest(
      services,
      { userId: body.user.id, channelId, text: `${record.cluster}${record.node ? ` --node ${record.node}` : ''} (re-run of ${jobId})`, respond: say },
      { cluster: record.cluster, ...(record.node ? { node: record.node } : {}), ...(record.nodes ? { nodes: record.nodes } : {}) },
    );
    if (reply.ack) await say(reply.ack);
    if (reply.after) await reply.after();
  });
}
