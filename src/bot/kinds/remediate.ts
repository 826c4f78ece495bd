import type { EnvSnapshot } from '../../core/results.ts';
import { RemediateResult } from '../../core/results.ts';
import { ACTION_LABEL, renderRemediationFailure, renderRemediationQueued, renderRemediationResult } from '../../core/slack/blocks/remediation.ts';
import type { ChatMessage } from '../../core/slack/message.ts';
import type { JobRecord } from '../state/records.ts';
import type { JobTracker } from '../state/tracker.ts';
import type { FollowUp } from '../../core/slack/blocks/living.ts';
import { noteFollowUp, rememberResult } from '../living.ts';
import { type JobKind, type KindDeps, UNREADABLE } from './kind.ts';

const context = (r: JobRecord, approvedBy?: string) => ({
  jobId: r.jobId,
  cluster: r.cluster,
  action: r.action ?? '?',
  requestedBy: r.requestedBy,
  ...(approvedBy ? { approvedBy } : {}),
});

/** Before → after of every variable the change set, in one line of plain text. */
export function changedLine(before: EnvSnapshot, after: EnvSnapshot): string {
  const parts: string[] = [];
  for (const [c, vars] of Object.entries(after))
    for (const [name, value] of Object.entries(vars)) parts.push(`${c} ${name}: ${before[c]?.[name] ?? 'unset'} → ${value ?? 'unset'}`);
  return parts.join('; ');
}

/** Who approved the job's change; a result is never held back for it (Redis failing here leaves the line out). */
export async function approverOf(tracker: JobTracker, jobId: string): Promise<string | undefined> {
  try {
    return (await tracker.getJobApproval(jobId))?.approvedBy;
  } catch {
    return undefined;
  }
}

/** A line saying who approved the change, under its result. */
export const withApprover = (m: ChatMessage, approvedBy: string | undefined): ChatMessage =>
  approvedBy ? { ...m, blocks: [...(m.blocks ?? []), { type: 'context', elements: [{ type: 'mrkdwn', text: `Approved by <@${approvedBy}>` }] }] } : m;

const FOLLOW_UP_ACTIONS = new Set(['set_classifier_priority', 'disable_network_detections', 'disable_cws', 'revert']);

/**
 * The result a change was started from (a netcheck report, or the remediation a Revert undoes)
 * shows how it ended: its button replaced by the outcome. Once per job (a claim; the read-only
 * `/cws status` path claims nothing, so shows nothing).
 */
async function showOnOrigin(r: JobRecord, d: KindDeps, state: 'done' | 'failed', detail?: string): Promise<void> {
  if (!r.origin || !r.action || !FOLLOW_UP_ACTIONS.has(r.action)) return;
  if (!(await d.tracker.claimFinal(r.jobId, 'followup').catch(() => false))) return;
  await noteFollowUp(d, r.origin, {
    jobId: r.jobId,
    action: r.action as FollowUp['action'],
    by: r.requestedBy,
    startedAt: Date.now(),
    endedAt: Date.now(),
    state,
    ...(detail ? { detail } : {}),
  });
  // A revert also shows on the report the change came from: its verdict is stale twice over.
  if (r.action !== 'revert' || state !== 'done') return;
  const fix = await d.tracker.getRecord(r.origin).catch(() => undefined);
  if (!fix?.origin || !fix.action) return;
  const now = Date.now();
  await noteFollowUp(d, fix.origin, {
    jobId: r.jobId,
    action: 'revert',
    by: r.requestedBy,
    startedAt: now,
    endedAt: now,
    state,
    detail: `${(ACTION_LABEL[fix.action] ?? fix.action).toLowerCase()} undone`,
  });
}

export const remediateKind: JobKind = {
  start: (r) => renderRemediationQueued(context(r)),
  async final(r, outcome, d) {
    const approvedBy = await approverOf(d.tracker, r.jobId);
    const by = approvedBy ? { approvedBy } : {};
    const label = ACTION_LABEL[r.action ?? ''] ?? r.action ?? 'change';
    if ('failure' in outcome) {
      await showOnOrigin(r, d, 'failed', outcome.failure.message);
      return {
        message: withApprover(renderRemediationFailure(context(r, approvedBy), outcome.failure), approvedBy),
        outcome: 'error',
        verdict: `${label} failed: ${outcome.failure.message}`,
        ...by,
      };
    }
    const parsed = RemediateResult.safeParse(outcome.value);
    if (!parsed.success) return { message: renderRemediationFailure(context(r, approvedBy), UNREADABLE), outcome: 'error', ...by };
    await d.tracker.saveFacts(r.jobId, { kind: 'remediation', action: parsed.data.action, status: parsed.data.status, before: parsed.data.before });
    // The incident channels see it through the mirror (./incident-mirror.ts): who, what, before → after, who approved.
    const change = changedLine(parsed.data.before, parsed.data.after);
    await showOnOrigin(r, d, 'done', parsed.data.status === 'no_change' ? 'nothing needed changing' : undefined);
    return {
      message: await rememberResult(d.tracker, r.jobId, withApprover(renderRemediationResult(context(r, approvedBy), parsed.data), approvedBy)),
      outcome: 'ok',
      verdict: `${label}: ${parsed.data.status}${change ? ` — ${change}` : ''}`,
      ...by,
    };
  },
};
