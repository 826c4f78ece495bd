import { clusterNamed } from '../../../config/clusters.ts';
import { flare } from '../../commands/flare.ts';
import { parseNodeActionValue } from '../../../core/slack/blocks/selftest.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { type ActionHandler, buttonValue, ephemeral } from './respond.ts';

/**
 * "Flare from <node>": the reviewed flare flow for that node, exactly as
 * `/cws flare <cluster> --node <node>` starts it (access check, email modal, review).
 */
export const handleSelftestFlare: ActionHandler = async ({ ack, body, action, respond }, services) => {
  await ack();
  const say = ephemeral(respond);
  const parsed = parseNodeActionValue(buttonValue(action) ?? '');
  const [record, outcome] = parsed ? await Promise.all([services.tracker.getRecord(parsed.jobId), services.tracker.getOutcome(parsed.jobId)]) : [];
  if (!parsed || !record || !body.channel?.id) return say(renderProblem('This result is too old to act on.'));
  if (outcome && !outcome.failedNodes.includes(parsed.node)) return say(renderProblem(`\`${parsed.node}\` was not failing in that self-test.`));
  // Only a Kubernetes cluster has several agents to choose from; the others have one.
  const node = clusterNamed(services.clusters, record.cluster)?.kind === 'kubernetes' ? { node: parsed.node } : {};
  const reply = await flare(
    services,
    { userId: body.user.id, channelId: body.channel.id, text: '', respond: say, ...(body.trigger_id ? { triggerId: body.trigger_id } : {}) },
    { cluster: record.cluster, ...node },
  );
  if (reply.ack) await say(reply.ack);
  if (reply.after) await reply.after();
};
