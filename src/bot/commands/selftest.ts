import { EnqueueError } from '../state/producer.ts';
import { renderResultsPointer } from '../../core/slack/blocks/pointer.ts';
import { renderQueued } from '../../core/slack/blocks/selftest.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { Command } from '../../core/grammar.ts';
import { type BotServices, clusterFor, type CommandReply, type Invocation, resultsChannelFor, showJob } from './context.ts';

export interface SelftestRequest {
  cluster: string;
  node?: string;
  /** Only these nodes (the "Re-run failed" button). */
  nodes?: string[];
}

/** The command as typed (`selftest demo`), recorded once; a button's text (`demo (re-run of …)`) gets its subcommand. */
const typed = (text: string) => (/^selftest(\s|$)/i.test(text.trim()) ? text.trim() : `selftest ${text}`.trim());

/**
 * `/cws selftest <cluster> [--node N]` and the Re-run buttons (in the result's thread): authorise, enqueue (or attach to
 * the running job), then — after the ack — post the message that will show the result.
 */
export async function selftest(
  services: BotServices,
  inv: Invocation,
  cmd: Extract<Command, { name: 'selftest' }> | SelftestRequest,
  o: { threadTs?: string | undefined } = {},
): Promise<CommandReply> {
  const audit = (outcome: 'queued' | 'attached' | 'denied' | 'invalid' | 'error', extra: { jobId?: string; detail?: string } = {}) =>
    services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: typed(inv.text), cluster: cmd.cluster, outcome, ...extra })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));

  const found = await clusterFor(services, inv, cmd.cluster, audit);
  if ('reply' in found) return found.reply;
  const { cluster } = found;
  // The cluster's own results channel, if it has one (the asking channel then gets a pointer).
  const target = resultsChannelFor(services, cluster.name, inv, o.threadTs);

  let enqueued: { jobId: string; attached: boolean };
  try {
    enqueued = await services.producer.enqueueSelftest({
      kind: 'selftest',
      cluster: cluster.name,
      ...(cmd.node ? { node: cmd.node } : {}),
      ...('nodes' in cmd && cmd.nodes ? { nodes: cmd.nodes } : {}),
      requestedBy: inv.userId,
      requestedAt: new Date().toISOString(),
    });
    await services.tracker.saveRecord({
      jobId: enqueued.jobId,
      kind: 'selftest',
      cluster: cluster.name,
      ...(cmd.node ? { node: cmd.node } : {}),
      ...('nodes' in cmd && cmd.nodes ? { nodes: cmd.nodes } : {}),
      requestedBy: inv.userId,
      channel: target,
      // A re-run from a result's button: in that result's thread.
      ...(o.threadTs ? { threadTs: o.threadTs } : {}),
      // A single node that may have no agent: the channel hears of it only once it does.
      ...(cmd.node && cluster.config.kind === 'kubernetes' ? { post: 'deferred' as const } : {}),
    });
  } catch (err) {
    services.logger.error({ err, cluster: cluster.name }, 'enqueue failed');
    await audit('error', { detail: 'enqueue failed' });
    const why = err instanceof EnqueueError ? err.message : 'the job queue (Redis) is unreachable';
    return {
      ack: renderProblem(
        `Could not queue the self-test on \`${cluster.name}\`: ${why}.`,
        'Nothing was started. Try again in a minute; if it keeps failing, the bot’s Redis (`REDIS_URL`) needs a look.',
      ),
    };
  }

  const record = await services.tracker.getRecord(enqueued.jobId);
  const ctx = {
    jobId: enqueued.jobId,
    cluster: cluster.name,
    requestedBy: record?.requestedBy ?? inv.userId,
    ...(cmd.node ? { node: cmd.node } : {}),
    ...(record?.nodes ? { nodes: record.nodes } : {}),
  };
  return {
    after: async () => {
      await audit(enqueued.attached ? 'attached' : 'queued', { jobId: enqueued.jobId });
      if (record?.post === 'deferred' && !enqueued.attached) {
        // Posted by the job once its node has an agent; a routed result says where it will be.
        if (target !== inv.channelId) await inv.respond(renderResultsPointer(`The self-test on \`${cluster.name}\``, target)).catch(() => {});
        return;
      }
      await showJob(
        services,
        inv,
        { jobId: enqueued.jobId, cluster: cluster.name, kind: 'selftest' },
        renderQueued(ctx, enqueued.attached ? enqueued.jobId : undefined),
        {
          what: `the self-test on \`${cluster.name}\``,
          attached: enqueued.attached,
          channel: target,
          ...(o.threadTs ? { threadTs: o.threadTs } : {}),
        },
      );
    },
  };
}
