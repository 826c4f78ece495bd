import { RestartAgentResult } from '../../core/results.ts';
import { renderRestartFailure, renderRestartQueued, renderRestartResult, type RestartContext } from '../../core/slack/blocks/restart.ts';
import type { JobRecord } from '../state/records.ts';
import { noteFollowUp } from '../living.ts';
import { type JobKind, type KindDeps, UNREADABLE } from './kind.ts';
import { approverOf, withApprover } from './remediate.ts';

const context = (r: JobRecord, approvedBy?: string): RestartContext & { approvedBy?: string } => ({
  jobId: r.jobId,
  cluster: r.cluster,
  node: r.node ?? '?',
  requestedBy: r.requestedBy,
  ...(r.origin ? { origin: r.origin } : {}),
  ...(approvedBy ? { approvedBy } : {}),
});

/** The self-test the restart was asked from shows how it ended (once per job; nothing on the read-only status path). */
async function showOnOrigin(r: JobRecord, d: KindDeps, state: 'done' | 'failed', detail?: string): Promise<void> {
  if (!r.origin || !r.node) return;
  if (!(await d.tracker.claimFinal(r.jobId, 'followup').catch(() => false))) return;
  const now = Date.now();
  await noteFollowUp(d, r.origin, {
    jobId: r.jobId,
    action: 'restart_agent',
    node: r.node,
    by: r.requestedBy,
    startedAt: now,
    endedAt: now,
    state,
    ...(detail ? { detail } : {}),
  });
}

export const restartAgentKind: JobKind = {
  start: (r) => renderRestartQueued(context(r)),
  async final(r, outcome, d) {
    const approvedBy = await approverOf(d.tracker, r.jobId);
    const by = approvedBy ? { approvedBy } : {};
    const node = r.node ?? '?';
    if ('failure' in outcome) {
      await showOnOrigin(r, d, 'failed', outcome.failure.message);
      return {
        message: withApprover(renderRestartFailure(context(r, approvedBy), outcome.failure), approvedBy),
        outcome: 'error',
        verdict: `restart of the agent on ${node} failed: ${outcome.failure.message}`,
        ...by,
      };
    }
    const parsed = RestartAgentResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderRestartFailure(context(r, approvedBy), UNREADABLE), outcome: 'error', ...by };
    const p = parsed.data;
    await showOnOrigin(
      r,
      d,
      p.status === 'no_agent' ? 'failed' : 'done',
      p.status === 'no_agent' ? 'no agent pod on that node' : `pod ${p.before.pod ?? '?'} → ${p.after.pod ?? 'not yet replaced'}`,
    );
    return {
      message: withApprover(renderRestartResult(context(r, approvedBy), p), approvedBy),
      outcome: 'ok',
      verdict:
        p.status === 'no_agent'
          ? `no agent pod on ${node}: nothing restarted`
          : `agent on ${node} restarted: pod ${p.before.pod ?? '?'} → ${p.after.pod ?? 'not yet replaced'}`,
      ...by,
    };
  },
};
