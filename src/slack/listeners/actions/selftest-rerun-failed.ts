import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { selftest } from '../../../commands/selftest.ts';
import { SELFTEST_RERUN_FAILED_ACTION } from '../../blocks/selftest.ts';
import { SELFTEST_JOB_ID_RE } from '../../../jobs/queues.ts';
import { renderProblem } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';


/** "Re-run failed": the failing nodes come from the stored outcome, never from the button. */
export function register(app: App, services: BotServices): void {
  app.action<BlockButtonAction>(SELFTEST_RERUN_FAILED_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const jobId = action.value ?? '';
    const [record, outcome] = SELFTEST_JOB_ID_RE.test(jobId) ? await Promise.all([services.tracker.getRecord(jobId), services.tracker.getOutcome(jobId)]) : [];
    if (!record || !outcome) return say(renderProblem('This result is too old to re-run from the button.', 'Run `/cws selftest <cluster>` again.'));
    if (!outcome.failedNodes.length) return say(renderProblem('Nothing failed in that self-test.'));
    const reply = await selftest(
      services,
      { userId: body.user.id, channelId: body.channel?.id ?? record.channel, text: `${record.cluster} (re-run of ${outcome.failedNodes.length} failed from ${jobId})`, respond: say },
      { cluster: record.cluster, nodes: outcome.failedNodes },
    );
    if (reply.ack) await say(reply.ack);
    if (reply.after) await reply.after();
  });
}
