import { renderNetcheckQueued } from '../../core/slack/blocks/netcheck.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import { type BotServices, clusterFor, type CommandReply, type Invocation, resultsChannelFor, showJob } from './context.ts';

/** `/cws netcheck <cluster>`: enqueue the fact gathering, post the message that shows the verdict. */
export async function netcheck(
  services: BotServices,
  inv: Invocation,
  cmd: { cluster: string },
  o: { threadTs?: string | undefined } = {},
): Promise<CommandReply> {
  const audit = (outcome: 'queued' | 'attached' | 'denied' | 'invalid' | 'error', extra: { jobId?: string; detail?: string } = {}) =>
    services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: `netcheck ${cmd.cluster}`, cluster: cmd.cluster, outcome, ...extra })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const found = await clusterFor(services, inv, cmd.cluster, audit);
  if ('reply' in found) return found.reply;
  const { cluster } = found;
  if (cluster.config.kind !== 'kubernetes')
    return {
      ack: renderProblem(
        `\`/cws netcheck\` inspects Kubernetes clusters (their CNI plugin); \`${cluster.name}\` is a ${cluster.config.kind} cluster, which the bot does not reconfigure.`,
        cluster.config.kind === 'docker'
          ? 'If a network plugin on that host conflicts with CWS network detections, disable them with the container env `DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED=false` (or set `DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY` below the plugin’s tc priority), then recreate the container.'
          : 'If a network plugin on that host conflicts with CWS network detections, add to `/etc/datadog-agent/system-probe.yaml`:\n```runtime_security_config:\n  network:\n    enabled: false```\n(or `classifier_priority: N` below the plugin’s tc priority), then restart the agent.',
      ),
    };
  // The cluster's own results channel, if it has one (the asking channel then gets a pointer).
  const target = resultsChannelFor(services, cluster.name, inv, o.threadTs);
  let enq: { jobId: string; attached: boolean };
  try {
    enq = await services.producer.enqueueNetcheck({ kind: 'netcheck', cluster: cluster.name, requestedBy: inv.userId, requestedAt: new Date().toISOString() });
    await services.tracker.saveRecord({
      jobId: enq.jobId,
      kind: 'netcheck',
      cluster: cluster.name,
      requestedBy: inv.userId,
      channel: target,
      // A Re-check from a report or a fix: in that thread.
      ...(o.threadTs ? { threadTs: o.threadTs } : {}),
    });
  } catch {
    await audit('error', { detail: 'enqueue failed' });
    return {
      ack: renderProblem(
        `Could not queue the netcheck of \`${cluster.name}\`: the job queue (Redis) is unreachable.`,
        'Nothing was started. Try again in a minute.',
      ),
    };
  }
  const record = await services.tracker.getRecord(enq.jobId);
  const ctx = { jobId: enq.jobId, cluster: cluster.name, requestedBy: record?.requestedBy ?? inv.userId };
  return {
    after: async () => {
      await audit(enq.attached ? 'attached' : 'queued', { jobId: enq.jobId });
      await showJob(
        services,
        inv,
        { jobId: enq.jobId, cluster: cluster.name, kind: 'netcheck' },
        renderNetcheckQueued(ctx, enq.attached ? enq.jobId : undefined),
        {
          what: `the netcheck of \`${cluster.name}\``,
          attached: enq.attached,
          channel: target,
          ...(o.threadTs ? { threadTs: o.threadTs } : {}),
        },
      );
    },
  };
}
