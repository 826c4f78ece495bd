import { selftest } from '../../commands/selftest.ts';
import { SELFTEST_JOB_ID_RE } from '../../../contract/queues.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral, threadOf } from './respond.ts';

/**
 * "Re-run": the button's value is only a lookup key. Cluster and node come from the job
 * record the bot stored in Redis, and the clicking user is authorised again here.
 */
export const handleSelftestRerun: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const jobId = buttonValue(action) ?? '';
  const record = SELFTEST_JOB_ID_RE.test(jobId) ? await services.tracker.getRecord(jobId) : undefined;
  if (!record) return say(renderProblem('This result is too old to re-run from the button.', 'Run `/cws selftest <cluster>` again.'));
  const channelId = body.channel?.id ?? record.channel;
  const reply = await selftest(
    services,
    { userId: body.user.id, channelId, text: `${record.cluster}${record.node ? ` --node ${record.node}` : ''} (re-run of ${jobId})`, respond: say },
    { cluster: record.cluster, ...(record.node ? { node: record.node } : {}), ...(record.nodes ? { nodes: record.nodes } : {}) },
    { threadTs: threadOf(body) },
  );
  if (reply.ack) await say(reply.ack);
  if (reply.after) await reply.after();
};
