import { incidentMetadata, type IncidentMetadataPayload } from '../../metadata.ts';
import type { Block, ChatMessage } from '../message.ts';
import { clip, escapeClip, shortJobId } from './text.ts';

/** A job (or an approval request) of a cluster, as its one message in an incident channel shows it. */
export interface IncidentUpdate extends IncidentMetadataPayload {
  /** The channel it was run from (shown as a mention). */
  from: string;
  /** Two-person approval: who approved the change. */
  approvedBy?: string;
  /** Two-person approval: who rejected the request. */
  rejectedBy?: string;
}

const ICON: Record<IncidentMetadataPayload['state'], string> = {
  running: ':hourglass_flowing_sand:',
  ok: ':white_check_mark:',
  failed: ':red_circle:',
  error: ':warning:',
  pending: ':raised_hand:',
  approved: ':white_check_mark:',
  rejected: ':no_entry_sign:',
  expired: ':hourglass:',
};

const KIND_LABEL: Record<string, string> = {
  selftest: 'Self-test',
  netcheck: 'Netcheck',
  flare: 'Flare',
  remediate: 'Change',
  'restart-agent': 'Agent restart',
  approval: 'Approval request',
};

/**
 * `verdict` is plain text (escaped here, so it names nobody: a user ID in it would show raw); who
 * ran it, from where, who approved or rejected it are mentions in the section, and the fallback
 * `text` names no one.
 */
export function renderIncidentUpdate(u: IncidentUpdate): ChatMessage {
  const what = KIND_LABEL[u.kind] ?? escapeClip(u.kind, 40);
  const from = /^[CG][A-Z0-9]+$/.test(u.from) ? ` in <#${u.from}>` : '';
  const approved = u.approvedBy ? `, approved by <@${u.approvedBy}>` : u.rejectedBy ? `, rejected by <@${u.rejectedBy}>` : '';
  const verdict = u.verdict ? escapeClip(u.verdict, 1500) : u.state === 'running' ? 'running…' : u.state;
  const link = u.link && /^https?:\/\/[^\s|<>]+$/.test(u.link) ? ` <${u.link}|Full result>` : '';
  const blocks: Block[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`${ICON[u.state]} *${what}* on \`${u.cluster}\` by <@${u.by}>${from}${approved}: ${verdict}${link}`, 3000) },
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `job \`${escapeClip(shortJobId(u.jobId), 60)}\`` }] },
  ];
  const payload: IncidentMetadataPayload = {
    jobId: u.jobId,
    cluster: u.cluster,
    kind: u.kind,
    state: u.state,
    by: u.by,
    ...(u.verdict ? { verdict: clip(u.verdict, 300) } : {}),
    ...(u.link ? { link: u.link } : {}),
  };
  return { text: clip(`${what} on ${u.cluster}: ${u.verdict ?? u.state}`, 300), blocks, metadata: incidentMetadata(payload) };
}

/** The first message in a newly linked incident channel. */
export function renderIncidentLinked(c: { cluster: string; by: string; from: string }): ChatMessage {
  return {
    text: `Jobs and changes on ${c.cluster} will be mirrored here`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `:rotating_light: <@${c.by}> linked this channel to \`${c.cluster}\`: every job and change on it will show here, one message each. \`/cws incident off ${c.cluster}\` ends it.`,
        },
      },
    ],
  };
}

/** The requester's answer to `/cws incident …`. */
export function renderIncidentAck(text: string): ChatMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }] };
}
