import { RemediateResult } from '../../core/results.ts';
import { renderRemediationFailure, renderRemediationQueued, renderRemediationResult } from '../../core/slack/blocks/remediation.ts';
import type { JobRecord } from '../state/records.ts';
import { howToGet, type JobKind, UNREADABLE } from './kind.ts';

const context = (r: JobRecord) => ({ jobId: r.jobId, cluster: r.cluster, action: r.action ?? '?', requestedBy: r.requestedBy });

export const remediateKind: JobKind = {
  start: (r) => renderRemediationQueued(context(r)),
  async final(r, outcome, d) {
    if ('failure' in outcome) return { message: renderRemediationFailure(context(r), outcome.failure), outcome: 'error' };
    const parsed = RemediateResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderRemediationFailure(context(r), UNREADABLE), outcome: 'error' };
    await d.tracker.saveFacts(r.jobId, { kind: 'remediation', action: parsed.data.action, status: parsed.data.status, before: parsed.data.before });
    const message = renderRemediationResult(context(r), parsed.data);
    // Every change is announced in the cluster's incident channel too.
    const incident = d.incidentChannel?.(r.cluster);
    if (incident && incident !== r.channel && (await d.tracker.claimFinal(r.jobId, `incident:${incident}`)))
      await d.notifier
        .post(incident, message, {}, { final: true, fallback: { howToGet: howToGet(r.jobId) } })
        .catch((err) => d.logger.warn({ err, incident }, 'could not announce in the incident channel'));
    return { message, outcome: 'ok' };
  },
};
