import { RestartAgentResult } from '../../core/results.ts';
import { renderRestartFailure, renderRestartQueued, renderRestartResult, type RestartContext } from '../../core/slack/blocks/restart.ts';
import type { JobRecord } from '../state/records.ts';
import { type JobKind, UNREADABLE } from './kind.ts';
import { approverOf, withApprover } from './remediate.ts';

const context = (r: JobRecord, approvedBy?: string): RestartContext & { approvedBy?: string } => ({
  jobId: r.jobId,
  cluster: r.cluster,
  node: r.node ?? '?',
  requestedBy: r.requestedBy,
  ...(approvedBy ? { approvedBy } : {}),
});

export const restartAgentKind: JobKind = {
  start: (r) => renderRestartQueued(context(r)),
  async final(r, outcome, d) {
    const approvedBy = await approverOf(d.tracker, r.jobId);
    const by = approvedBy ? { approvedBy } : {};
    const node = r.node ?? '?';
    if ('failure' in outcome)
      return {
        message: withApprover(renderRestartFailure(context(r, approvedBy), outcome.failure), approvedBy),
        outcome: 'error',
        verdict: `restart of the agent on ${node} failed: ${outcome.failure.message}`,
        ...by,
      };
    const parsed = RestartAgentResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderRestartFailure(context(r, approvedBy), UNREADABLE), outcome: 'error', ...by };
    const p = parsed.data;
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
