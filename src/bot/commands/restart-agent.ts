import { renderRestartQueued } from '../../core/slack/blocks/restart.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { ChatMessage } from '../notifier.ts';
import { approvalTtlMs, needsApproval } from '../../config/clusters.ts';
import { alreadyDone, noteFollowUp, whatHappened } from '../living.ts';
import { requestApproval } from './approval.ts';
import { allowed, type BotServices, findCluster, type Invocation, showJob } from './context.ts';

export interface RestartRequest {
  /** The self-test whose result offered the button. */
  jobId: string;
  node: string;
  /** The result message; the restart is reported in its thread. */
  messageTs?: string;
  /** Two-person approval: the approved request this restart runs for (it holds the claim). */
  approval?: { approvalId: string; approvedBy: string };
}

/**
 * "Restart agent on <node>". Nothing in the button is trusted: the node must be one that was
 * failing in the stored result of that job, the cluster comes from the stored job record, the
 * user needs `access.remediate`, and a second click (or Slack retry) restarts nothing twice.
 */
export async function restartAgent(services: BotServices, inv: Invocation, req: RestartRequest): Promise<ChatMessage | undefined> {
  const [record, outcome] = await Promise.all([services.tracker.getRecord(req.jobId), services.tracker.getOutcome(req.jobId)]);
  const audit = (outcome: 'queued' | 'denied' | 'invalid' | 'error', extra: { jobId?: string; detail?: string; cluster?: string } = {}) =>
    services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: `restart-agent ${req.node}`, outcome, ...extra })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));

  if (!record || !outcome) {
    await audit('invalid', { detail: 'unknown or expired job' });
    return renderProblem('This result is too old to act on.', 'Run `/cws selftest <cluster>` again.');
  }
  if (outcome.target !== 'kubernetes')
    return renderProblem(`Restarting agents from Slack works on Kubernetes clusters only; \`${record.cluster}\` is ${outcome.target}.`);
  if (!outcome.failedNodes.includes(req.node)) {
    await audit('invalid', { cluster: record.cluster, detail: 'node not failing in that result' });
    return renderProblem(`\`${req.node}\` was not failing in that self-test, so it cannot be restarted from it.`);
  }
  const cluster = findCluster(services, record.cluster);
  if (!cluster) return renderProblem(`Cluster \`${record.cluster}\` is no longer configured.`);
  const decision = await allowed(services, cluster, inv.userId, 'remediate');
  if (!decision.allowed) {
    await audit('denied', { cluster: cluster.name });
    return renderProblem(`Not allowed: ${decision.reason}`);
  }
  // The pod this button named is gone once the restart ran: a stale click is refused from what was recorded.
  const prior = await alreadyDone(services.tracker, req.jobId, (f) => f.action === 'restart_agent' && f.node === req.node);
  if (prior) {
    await audit('invalid', { cluster: cluster.name, detail: `already restarted from this result (${prior.jobId})` });
    return renderProblem(
      `Nothing more was done: ${whatHappened(prior)}.`,
      prior.state === 'done' ? `Use *Re-run self-test on ${req.node}* on the result to see the agent's state now.` : undefined,
    );
  }
  const scope = `restart:${req.jobId}:${req.node}`;
  // An approved request already holds the claim (./approval.ts); the requester was re-authorised above.
  if (!req.approval) {
    const approval = needsApproval(cluster.config, 'restart_agent');
    const claim = await services.tracker.once(scope, inv.userId, approval ? Math.max(600, Math.ceil(approvalTtlMs(cluster.config) / 1000)) : undefined);
    if (!claim.first) return renderProblem(`A restart of the agent on \`${req.node}\` was already requested from this result by <@${claim.holder}>.`);
    if (approval)
      return requestApproval(services, inv, {
        cluster,
        action: 'restart_agent',
        node: req.node,
        run: { type: 'restart', jobId: req.jobId, node: req.node },
        ...(req.messageTs ? { threadTs: req.messageTs } : {}),
        claim: scope,
      });
  }

  let jobId: string;
  try {
    jobId = await services.producer.enqueueRestart({
      kind: 'restart-agent',
      cluster: cluster.name,
      node: req.node,
      requestedBy: inv.userId,
      requestedAt: new Date().toISOString(),
    });
    await services.tracker.saveRecord({
      jobId,
      kind: 'restart-agent',
      cluster: cluster.name,
      node: req.node,
      requestedBy: inv.userId,
      channel: inv.channelId,
      origin: req.jobId,
      ...(req.messageTs ? { threadTs: req.messageTs } : {}),
    });
    if (req.approval) await services.tracker.saveJobApproval(jobId, req.approval);
  } catch (err) {
    services.logger.error({ err }, 'enqueue restart failed');
    await audit('error', { cluster: cluster.name, detail: 'enqueue failed' });
    return renderProblem(
      `Could not queue the restart on \`${cluster.name}\`: the job queue (Redis) is unreachable.`,
      'Nothing was changed. Try again in a minute.',
    );
  }
  await noteFollowUp(services, req.jobId, { jobId, action: 'restart_agent', node: req.node, by: inv.userId, startedAt: Date.now(), state: 'running' });
  await audit('queued', {
    cluster: cluster.name,
    jobId,
    ...(req.approval ? { detail: `approved by ${req.approval.approvedBy} (${req.approval.approvalId})` } : {}),
  });
  await showJob(
    services,
    inv,
    { jobId, cluster: cluster.name, kind: 'restart-agent' },
    renderRestartQueued({ jobId, cluster: cluster.name, node: req.node, requestedBy: inv.userId }),
    {
      what: `the restart of the agent on \`${req.node}\``,
      ...(req.messageTs ? { threadTs: req.messageTs } : {}),
    },
  );
  return undefined;
}
