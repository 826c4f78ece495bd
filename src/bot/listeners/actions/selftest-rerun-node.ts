import { selftest } from '../../commands/selftest.ts';
import { parseNodeActionValue } from '../../../core/slack/blocks/selftest.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral, threadOf } from './respond.ts';

/**
 * "Re-run self-test on <node>" after a restart: a self-test of that node, in the result's
 * thread. The node must be one that was failing in the stored result the button names.
 */
export const handleSelftestRerunNode: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const parsed = parseNodeActionValue(buttonValue(action) ?? '');
  const [record, outcome] = parsed ? await Promise.all([services.tracker.getRecord(parsed.jobId), services.tracker.getOutcome(parsed.jobId)]) : [];
  if (!parsed || !record || !outcome) return say(renderProblem('This result is too old to re-run from the button.', 'Run `/cws selftest <cluster>` again.'));
  if (!outcome.failedNodes.includes(parsed.node)) return say(renderProblem(`\`${parsed.node}\` was not failing in that self-test.`));
  const reply = await selftest(
    services,
    { userId: body.user.id, channelId: body.channel?.id ?? record.channel, text: `${record.cluster} --node ${parsed.node}`, respond: say },
    { cluster: record.cluster, ...(outcome.target === 'kubernetes' ? { node: parsed.node } : {}) },
    { threadTs: threadOf(body) },
  );
  if (reply.ack) await say(reply.ack);
  if (reply.after) await reply.after();
};
