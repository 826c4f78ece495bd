import { RestartAgentResult } from '../../core/results.ts';
import { renderRestartFailure, renderRestartQueued, renderRestartResult, type RestartContext } from '../../core/slack/blocks/restart.ts';
import type { JobRecord } from '../state/records.ts';
import { type JobKind, UNREADABLE } from './kind.ts';

const context = (r: JobRecord): RestartContext => ({ jobId: r.jobId, cluster: r.cluster, node: r.node ?? '?', requestedBy: r.requestedBy });

export const restartAgentKind: JobKind = {
  start: (r) => renderRestartQueued(context(r)),
  async final(r, outcome) {
    if ('failure' in outcome) return { message: renderRestartFailure(context(r), outcome.failure), outcome: 'error' };
    const parsed = RestartAgentResult.safeParse(outcome.value);
    return parsed.success
      ? { message: renderRestartResult(context(r), parsed.data), outcome: 'ok' }
      : { message: renderRestartFailure(context(r), UNREADABLE), outcome: 'error' };
  },
};
