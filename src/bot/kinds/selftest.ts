import { SelftestProgress, SelftestResult } from '../../core/results.ts';
import { summarise } from '../../core/selftest/summary.ts';
import {
  needsFailureDetails,
  renderFailureDetails,
  renderJobFailure,
  renderNoAgentOnNode,
  renderProgress,
  renderQueued,
  renderResult,
  type SelftestContext,
} from '../../core/slack/blocks/selftest.ts';
import type { JobRecord } from '../state/records.ts';
import { rememberResult } from '../living.ts';
import { type JobKind, UNREADABLE } from './kind.ts';

const context = (r: JobRecord): SelftestContext => ({
  jobId: r.jobId,
  cluster: r.cluster,
  requestedBy: r.requestedBy,
  ...(r.node ? { node: r.node } : {}),
  ...(r.nodes ? { nodes: r.nodes } : {}),
});

export const selftestKind: JobKind = {
  start: (r) => renderQueued(context(r)),
  progress(r, data) {
    const p = SelftestProgress.safeParse(data);
    if (!p.success) return undefined;
    // A deferred (`--node`) message is created once the node turned out to have an agent.
    return { message: renderProgress(context(r), p.data), opens: p.data.phase === 'running' && p.data.total > 0 };
  },
  async final(r, outcome, d) {
    if ('failure' in outcome) return { message: renderJobFailure(context(r), outcome.failure), outcome: 'error' };
    const parsed = SelftestResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderJobFailure(context(r), UNREADABLE), outcome: 'error' };
    const result = parsed.data;
    const s = summarise(result.results);
    // `--node` naming a node without an agent: told to the requester alone, not to the channel.
    if (r.post === 'deferred' && s.total === 0 && r.node) return { message: renderNoAgentOnNode(context(r)), outcome: 'error', privately: true };
    const failedNodes = [...new Set(s.sorted.filter((x) => x.status !== 'ok').map((x) => x.node))];
    await d.tracker.saveOutcome(r.jobId, { failedNodes, target: result.target });
    await d.tracker.saveVerdict(r.cluster, 'selftest', { jobId: r.jobId, verdict: s.notOk === 0 ? 'ok' : 'failed' }); // the App Home's "last self-test"
    // The summary is computed once here, for the buttons' facts, the message, its metadata and the thread's reply.
    const thread = needsFailureDetails(result, s) ? renderFailureDetails(context(r), result, s) : undefined;
    const message = await rememberResult(d.tracker, r.jobId, renderResult(context(r), result, s));
    return { message, outcome: s.notOk === 0 ? 'ok' : 'failed', ...(thread ? { thread } : {}) };
  },
};
