import { selftest } from '../../commands/selftest.ts';
import { SELFTEST_JOB_ID_RE } from '../../../contract/queues.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral, threadOf } from './respond.ts';

/** "Re-run failed": the failing nodes come from the stored outcome, never from the button. */
export const handleSelftestRerunFailed: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const jobId = buttonValue(action) ?? '';
  const [record, outcome] = SELFTEST_JOB_ID_RE.test(jobId) ? await Promise.all([services.tracker.getRecord(jobId), services.tracker.getOutcome(jobId)]) : [];
  if (!record || !outcome) return say(renderProblem('This result is too old to re-run from the button.', 'Run `/cws selftest <cluster>` again.'));
  if (!outcome.failedNodes.length) return say(renderProblem('Nothing failed in that self-test.'));
  const reply = await selftest(
    services,
    {
      userId: body.user.id,
      channelId: body.channel?.id ?? record.channel,
      text: `${record.cluster} (re-run of ${outcome.failedNodes.length} failed from ${jobId})`,
      respond: say,
    },
    { cluster: record.cluster, nodes: outcome.failedNodes },
    { threadTs: threadOf(body) },
  );
  if (reply.ack) await say(reply.ack);
  if (reply.after) await reply.after();
};
