import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { flare } from '../../../commands/flare.ts';
import { parseNodeActionValue, SELFTEST_FLARE_ACTION } from '../../blocks/selftest.ts';
import { renderProblem } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';

/**
 * "Flare from <node>": the reviewed flare flow for that node, exactly as
 * `/cws flare <cluster> --node <node>` starts it (access check, email modal, review).
 */
export function register(app: App, services: BotServices): void {
  app.action<BlockButtonAction>(SELFTEST_FLARE_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const parsed = parseNodeActionValue(action.value ?? '');
    const record = parsed ? await services.tracker.getRecord(parsed.jobId) : undefined;
    if (!parsed || !record || !body.channel?.id) return say(renderProblem('This result is too old to act on.'));
    // Only a Kubernetes cluster has several agents to choose from; the others have one.
    const node = services.clusters.clusters[record.cluster]?.kind === 'kubernetes' ? { node: parsed.node } : {};
    const reply = await flare(
      services,
      { userId: body.user.id, channelId: body.channel.id, text: '', respond: say, ...(body.trigger_id ? { triggerId: body.trigger_id } : {}) },
      { cluster: record.cluster, ...node },
    );
    if (reply.ack) await say(reply.ack);
    if (reply.after) await reply.after();
  });
}
