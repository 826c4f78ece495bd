import { flareDecisionKey } from '../../contract/queues.ts';
import { FlareProgress, FlareResult } from '../../contract/jobs.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { ChatMessage } from '../notifier.ts';
import { allowed, type BotServices, findCluster, type Invocation } from './context.ts';

const JOB_ID_RE = /^fl-[0-9a-f-]{36}$/;

/**
 * Send or Cancel on a flare review. The button's value is only the job ID: the requester or a
 * remediator of that job's cluster may decide, once; an expired, sent or cancelled review only
 * says so. The decision reaches the worker holding the agent's prompt through Redis.
 */
export async function decideFlare(services: BotServices, inv: Invocation, jobId: string, decision: 'send' | 'cancel'): Promise<ChatMessage | undefined> {
  const record = JOB_ID_RE.test(jobId) ? await services.tracker.getRecord(jobId) : undefined;
  if (!record || record.kind !== 'flare') return renderProblem('This flare review is no longer known.', 'Run `/cws flare` again.');
  const audit = (outcome: 'queued' | 'denied' | 'invalid', detail?: string) =>
    services.audit
      .append({
        user: inv.userId,
        channel: inv.channelId,
        command: `flare ${decision}`,
        cluster: record.cluster,
        jobId,
        outcome,
        ...(detail ? { detail } : {}),
      })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const cluster = findCluster(services, record.cluster);
  const isRequester = inv.userId === record.requestedBy;
  if (!cluster || (!isRequester && !(await allowed(services, cluster, inv.userId, 'remediate')).allowed)) {
    await audit('denied');
    return renderProblem(
      `Not allowed: only <@${record.requestedBy}> (who asked for this flare) or a remediator of \`${record.cluster}\` (\`access.remediate\`) can ${decision} it.`,
    );
  }
  const job = await services.producer.getJob(record.cluster, jobId);
  const state = job ? await job.getState() : 'unknown';
  if (state === 'completed') {
    const r = FlareResult.safeParse(job!.returnvalue);
    return renderProblem(`This flare was already ${r.success ? (r.data.reason === 'expired' ? 'expired' : r.data.stage) : 'finished'}; nothing more was done.`);
  }
  if (state !== 'active') return renderProblem('This flare is not waiting for a decision any more.');
  if (record.expiresAt && Date.parse(record.expiresAt) <= Date.now()) {
    await audit('invalid', 'expired');
    return renderProblem('This flare review has expired: nothing was sent.', 'Run `/cws flare` again to build a fresh one.');
  }
  const progress = FlareProgress.safeParse(job!.progress);
  if (!progress.success || progress.data.stage !== 'review') return renderProblem('This flare is not ready for review yet.');
  const claim = await services.tracker.once(`flare-decision:${jobId}`, `${decision}:${inv.userId}`, 24 * 3600);
  if (!claim.first) {
    const [was, by] = claim.holder.split(':');
    return renderProblem(`This flare was already ${was === 'send' ? 'sent' : 'cancelled'} by <@${by}>; nothing more was done.`);
  }
  await services.tracker.pushDecision(flareDecisionKey(jobId), decision);
  await audit('queued', decision === 'send' ? 'send to Datadog support' : 'cancel');
  return undefined;
}
