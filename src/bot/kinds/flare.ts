import { FlareProgress, FlareResult } from '../../core/results.ts';
import { type FlareContext, renderFlareFailure, renderFlareProgress, renderFlareQueued, renderFlareResult } from '../../core/slack/blocks/flare.ts';
import type { JobRecord } from '../state/records.ts';
import { type JobKind, UNREADABLE } from './kind.ts';

const context = (r: JobRecord): FlareContext => ({
  jobId: r.jobId,
  cluster: r.cluster,
  requestedBy: r.requestedBy,
  ...(r.node ? { node: r.node } : {}),
  ...(r.caseId ? { caseId: r.caseId } : {}),
  ...(r.email ? { email: r.email } : {}),
});

export const flareKind: JobKind = {
  start: (r) => renderFlareQueued(context(r)),
  progress(r, data) {
    const p = FlareProgress.safeParse(data);
    if (!p.success) return undefined;
    // A review is what someone waits on to decide: not held back for other messages' finals.
    return { message: renderFlareProgress(context(r), p.data), urgent: p.data.stage === 'review' };
  },
  async final(r, outcome, d) {
    // The flare is over (sent, cancelled, expired, failed): its place among the open ones is free.
    await d.tracker.releaseFlare(r.cluster, r.requestedBy, r.jobId);
    if ('failure' in outcome) return { message: renderFlareFailure(context(r), outcome.failure), outcome: 'error' };
    const parsed = FlareResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderFlareFailure(context(r), UNREADABLE), outcome: 'error' };
    return { message: renderFlareResult(context(r), parsed.data), outcome: parsed.data.stage === 'failed' ? 'failed' : 'ok' };
  },
};
