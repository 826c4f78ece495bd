import { z } from 'zod';
import { EnvSnapshot } from '../../contract/jobs.ts';
import { offeredActions } from '../../core/slack/blocks/netcheck.ts';
import { renderRemediationQueued } from '../../core/slack/blocks/remediation.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { ChatMessage } from '../notifier.ts';
import { needsApproval } from '../../config/clusters.ts';
import { alreadyDone, noteFollowUp, whatHappened } from '../living.ts';
import { requestApproval } from './approval.ts';
import { allowed, type BotServices, findCluster, type Invocation, showJob } from './context.ts';

/** What a finished netcheck lets its buttons do (stored by the bot, never taken from the button). */
export const NetcheckFacts = z.object({
  kind: z.literal('netcheck'),
  verdict: z.enum(['ok', 'action_required', 'broken', 'unknown']),
  remediations: z.array(z.string()),
  suggestedPriority: z.number().int().optional(),
});
/** What a finished remediation needs for its Revert. */
export const RemediationFacts = z.object({ kind: z.literal('remediation'), action: z.string(), status: z.string(), before: EnvSnapshot });

type Action = 'set_classifier_priority' | 'disable_network_detections' | 'disable_cws' | 'revert';

/**
 * A remediation button (from a netcheck report) or a Revert (from a remediation). Only users
 * in `access.remediate`; the action must be one the stored result offered; once per result.
 */
export async function remediate(
  services: BotServices,
  inv: Invocation,
  req: { sourceJobId: string; action: Action; messageTs?: string; approval?: { approvalId: string; approvedBy: string } },
): Promise<ChatMessage | undefined> {
  const record = await services.tracker.getRecord(req.sourceJobId);
  const audit = (outcome: 'queued' | 'denied' | 'invalid' | 'error', extra: { jobId?: string; detail?: string } = {}) =>
    services.audit
      .append({
        user: inv.userId,
        channel: inv.channelId,
        command: `remediate ${req.action}`,
        ...(record ? { cluster: record.cluster } : {}),
        outcome,
        ...extra,
      })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const facts = await services.tracker.getFacts(req.sourceJobId);
  if (!record) return renderProblem('This result is too old to act on.', 'Run `/cws netcheck <cluster>` again.');
  let priority: number | undefined;
  let restore: z.infer<typeof EnvSnapshot> | undefined;
  if (req.action === 'revert') {
    const f = RemediationFacts.safeParse(facts);
    if (!f.success || f.data.status !== 'applied') {
      await audit('invalid', { detail: 'nothing to revert' });
      return renderProblem('There is nothing recorded to revert for this change.');
    }
    restore = f.data.before;
  } else {
    const f = NetcheckFacts.safeParse(facts);
    if (!f.success || !offeredActions({ ...f.data, remediations: f.data.remediations as never }).includes(req.action)) {
      await audit('invalid', { detail: 'action not offered by that netcheck' });
      return renderProblem('That netcheck did not offer this change.', 'Run `/cws netcheck <cluster>` again.');
    }
    priority = f.data.suggestedPriority;
  }
  const cluster = findCluster(services, record.cluster);
  if (!cluster) return renderProblem(`Cluster \`${record.cluster}\` is no longer configured.`);
  const decision = await allowed(services, cluster, inv.userId, 'remediate');
  if (!decision.allowed) {
    await audit('denied');
    return renderProblem(`Not allowed: ${decision.reason}`);
  }
  // A button that did its work is replaced on its message, but a stale click (an old copy of the
  // message, a click racing the edit) is refused here, from what was recorded, and told what happened.
  const prior = await alreadyDone(services.tracker, req.sourceJobId, (f) => (req.action === 'revert' ? f.action === 'revert' : f.action !== 'restart_agent'));
  if (prior) {
    await audit('invalid', { detail: `already done from this result (${prior.jobId})` });
    return prior.action === req.action
      ? renderProblem(
          `Nothing more was done: ${whatHappened(prior)}.`,
          req.action === 'revert' ? undefined : 'Use *Re-check* on the report to see the state now.',
        )
      : renderProblem(`This report is out of date, so nothing was changed: ${whatHappened(prior)}.`, 'Use *Re-check* on the report to see the state now.');
  }
  const scope = `remediate:${req.sourceJobId}:${req.action}`;
  // An approved request already holds the claim (./approval.ts); the requester was re-authorised above.
  if (!req.approval) {
    const claim = await services.tracker.once(scope, inv.userId, 24 * 3600);
    if (!claim.first) return renderProblem(`This was already requested by <@${claim.holder}>; nothing more was done.`);
    if (needsApproval(cluster.config, req.action))
      return requestApproval(services, inv, {
        cluster,
        action: req.action,
        run: { type: 'remediate', sourceJobId: req.sourceJobId, action: req.action },
        ...(req.messageTs ? { threadTs: req.messageTs } : {}),
        claim: scope,
      });
  }
  let jobId: string;
  try {
    jobId = await services.producer.enqueueRemediate({
      kind: 'remediate',
      cluster: cluster.name,
      action: req.action,
      ...(priority !== undefined && req.action === 'set_classifier_priority' ? { priority } : {}),
      ...(restore ? { restore } : {}),
      requestedBy: inv.userId,
      requestedAt: new Date().toISOString(),
    });
    await services.tracker.saveRecord({
      jobId,
      kind: 'remediate',
      cluster: cluster.name,
      requestedBy: inv.userId,
      channel: inv.channelId,
      action: req.action,
      origin: req.sourceJobId,
      ...(req.messageTs ? { threadTs: req.messageTs } : {}),
    });
    if (req.approval) await services.tracker.saveJobApproval(jobId, req.approval);
  } catch {
    await audit('error', { detail: 'enqueue failed' });
    return renderProblem('Could not queue the change: the job queue (Redis) is unreachable.', 'Nothing was changed.');
  }
  await noteFollowUp(services, req.sourceJobId, { jobId, action: req.action, by: inv.userId, startedAt: Date.now(), state: 'running' });
  const approved = req.approval ? `, approved by ${req.approval.approvedBy} (${req.approval.approvalId})` : '';
  await audit('queued', { jobId, detail: `${req.action === 'revert' ? `revert of ${req.sourceJobId}` : `from ${req.sourceJobId}`}${approved}` });
  await showJob(
    services,
    inv,
    { jobId, cluster: cluster.name, kind: 'remediate' },
    renderRemediationQueued({ jobId, cluster: cluster.name, action: req.action, requestedBy: inv.userId }),
    {
      what: 'the change',
      ...(req.messageTs ? { threadTs: req.messageTs } : {}),
    },
  );
  return undefined;
}
