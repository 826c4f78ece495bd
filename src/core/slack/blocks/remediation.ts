import { remediationMetadata } from '../../metadata.ts';
import type { EnvSnapshot, JobFailure, RemediateResult } from '../../results.ts';
import type { Block, Button, ChatMessage } from '../message.ts';
import { LIVING } from './living.ts';
import { ACTIONS } from '../actions.ts';
import { clip, code, escapeClip, escapeMrkdwn, failureText } from './text.ts';

export interface RemediationContext {
  jobId: string;
  cluster: string;
  action: string;
  requestedBy: string;
}

export const ACTION_LABEL: Record<string, string> = {
  set_classifier_priority: 'Set classifier_priority',
  disable_network_detections: 'Disable network detections',
  disable_cws: 'Disable CWS',
  revert: 'Revert',
};

function diff(before: EnvSnapshot, after: EnvSnapshot): string {
  const lines: string[] = [];
  for (const [c, vars] of Object.entries(after)) {
    for (const [name, value] of Object.entries(vars)) {
      const was = before[c]?.[name] ?? null;
      lines.push(`${code(c, 40)} ${code(name, 80)}: ${was === null ? '_unset_' : code(was, 40)} → ${value === null ? '_unset_' : code(value, 40)}`);
    }
  }
  return lines.join('\n');
}

export function renderRemediationQueued(c: RemediationContext): ChatMessage {
  return {
    text: `${ACTION_LABEL[c.action] ?? c.action} on ${c.cluster}…`,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: <@${c.requestedBy}> started *${ACTION_LABEL[c.action] ?? c.action}* on \`${c.cluster}\`…` },
      },
    ],
  };
}

export function renderRemediationResult(c: RemediationContext, r: RemediateResult): ChatMessage {
  const ro = r.rollout;
  const rollout =
    r.status === 'no_change'
      ? 'Nothing to change: the DaemonSet already had these values.'
      : ro.complete
        ? `Rollout complete: ${ro.updated}/${ro.desired} pods updated, ${ro.ready} ready.`
        : `Rollout in progress: ${ro.updated}/${ro.desired} pods updated, ${ro.ready} ready (generation ${ro.generation}, observed ${ro.observedGeneration}).`;
  const blocks: Block[] = [
    {
      type: 'section',
      block_id: LIVING.verdict,
      text: {
        type: 'mrkdwn',
        text: clip(
          `:white_check_mark: *${ACTION_LABEL[r.action]}* on \`${c.cluster}\` by <@${c.requestedBy}> — DaemonSet ${code(r.daemonSet, 80)}\n${diff(r.before, r.after)}\n${rollout}`,
          3000,
        ),
      },
    },
  ];
  const buttons: Button[] = [];
  if (r.action !== 'revert' && r.status === 'applied')
    buttons.push({
      type: 'button',
      action_id: ACTIONS.remediationRevert.id(),
      text: { type: 'plain_text', text: 'Revert' },
      value: c.jobId,
      confirm: {
        title: { type: 'plain_text', text: 'Revert this change?' },
        text: { type: 'mrkdwn', text: clip(`Restores the recorded values on DaemonSet ${escapeClip(r.daemonSet, 60)}; its pods roll again.`, 300) },
        confirm: { type: 'plain_text', text: 'Revert' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    });
  // After a fix (or its revert), the next step is to look again: a netcheck in this thread.
  if (r.status === 'applied')
    buttons.push({ type: 'button', action_id: ACTIONS.netcheckRecheck.id(), text: { type: 'plain_text', text: 'Re-check' }, value: c.jobId });
  if (buttons.length) blocks.push({ type: 'actions', block_id: 'remediation_actions', elements: buttons });
  return {
    text: `${ACTION_LABEL[r.action]} on ${c.cluster}: ${r.status}`,
    blocks,
    metadata: remediationMetadata(c, r),
  };
}

export function renderRemediationFailure(c: RemediationContext, f: JobFailure): ChatMessage {
  return {
    text: `${ACTION_LABEL[c.action] ?? c.action} on ${c.cluster} failed: ${clip(f.message, 300)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: failureText(`${ACTION_LABEL[c.action] ?? escapeClip(c.action, 40)} on \`${c.cluster}\` failed:`, f) } },
    ],
    metadata: remediationMetadata(c, { error: f.message }),
  };
}
