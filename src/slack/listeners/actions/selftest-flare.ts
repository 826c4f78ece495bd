import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotServices } from '../../../commands/context.ts';
import { parseNodeActionValue, SELFTEST_FLARE_ACTION } from '../../blocks/selftest.ts';
import { renderProblem, renderUsage } from '../../blocks/usage.ts';
import { ephemeral } from './respond.ts';

/** "Flare from <node>": the reviewed flare flow is not built yet; say so and give the manual way. */
export function register(app: App, services: BotServices): void {
  app.action<BlockButtonAction>(SELFTEST_FLARE_ACTION, async ({ ack, action, respond }) => {
    await ack();
    const say = ephemeral(respond);
    const parsed = parseNodeActionValue(action.value ?? '');
    const record = parsed ? await services.tracker.getRecord(parsed.jobId) : undefined;
    if (!parsed || !record) return say(renderProblem('This result is too old to act on.'));
    const cfg = services.clusters.clusters[record.cluster];
    const ns = cfg?.kind === 'kubernetes' ? cfg.namespace : 'datadog';
    const manual =
      cfg?.kind === 'kubernetes'
        ? `kubectl exec -it -n ${ns} <agent pod on ${parsed.node}> -c security-agent -- security-agent flare <CASE_ID>`
        : cfg?.kind === 'docker'
          ? `docker exec -it ${cfg.container} security-agent flare <CASE_ID>`
          : 'sudo /opt/datadog-agent/embedded/bin/security-agent flare <CASE_ID>';
    await say(renderUsage(`:construction: Flares from Slack (with a review before upload) are coming soon. Meanwhile, on \`${parsed.node}\`:\n\`\`\`${manual}\`\`\`\nThe agent asks for confirmation before it uploads, so you can review the archive first.`));
  });
}
