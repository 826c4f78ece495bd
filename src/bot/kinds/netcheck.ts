import { NetcheckResult } from '../../core/results.ts';
import { renderNetcheckFailure, renderNetcheckQueued, renderNetcheckResult } from '../../core/slack/blocks/netcheck.ts';
import type { JobRecord } from '../state/records.ts';
import { rememberResult } from '../living.ts';
import { type JobKind, UNREADABLE } from './kind.ts';

const context = (r: JobRecord) => ({ jobId: r.jobId, cluster: r.cluster, requestedBy: r.requestedBy });

export const netcheckKind: JobKind = {
  start: (r) => renderNetcheckQueued(context(r)),
  async final(r, outcome, d) {
    if ('failure' in outcome) return { message: renderNetcheckFailure(context(r), outcome.failure), outcome: 'error' };
    const parsed = NetcheckResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderNetcheckFailure(context(r), UNREADABLE), outcome: 'error' };
    const n = parsed.data;
    await d.tracker.saveVerdict(r.cluster, 'netcheck', { jobId: r.jobId, verdict: n.verdict }); // the App Home's "last netcheck"
    // What its fix buttons may do: checked again at click time (src/bot/commands/remediate.ts).
    await d.tracker.saveFacts(r.jobId, {
      kind: 'netcheck',
      verdict: n.verdict,
      remediations: n.remediations,
      ...(n.suggestedPriority !== undefined ? { suggestedPriority: n.suggestedPriority } : {}),
    });
    const message = await rememberResult(d.tracker, r.jobId, renderNetcheckResult(context(r), n));
    return { message, outcome: n.verdict === 'ok' ? 'ok' : n.verdict === 'unknown' ? 'error' : 'failed' };
  },
};
