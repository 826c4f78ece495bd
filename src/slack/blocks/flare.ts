import type { KnownBlock } from '@slack/types';
import type { FlareProgress, FlareResult, JobFailure } from '../../jobs/schemas.ts';
import { ACTIONS } from '../actions.ts';
import type { ChatMessage } from '../notifier.ts';
import { clip, code, escapeMrkdwn, escapeClip, failureText, LIMITS } from './text.ts';

export const FLARE_METADATA_EVENT = 'cws_flare_result';

export interface FlareContext {
  jobId: string;
  cluster: string;
  node?: string;
  caseId?: string;
  email?: string;
  requestedBy: string;
}

const human = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);
const header = (c: FlareContext): KnownBlock => ({ type: 'header', text: { type: 'plain_text', text: clip(`CWS flare · ${c.cluster}${c.node ? ` · ${c.node}` : ''}`, LIMITS.headerText) } });
const who = (c: FlareContext) => (c.caseId ? `case ${c.caseId}` : `new case for ${escapeMrkdwn(c.email ?? '?')}`);
const footer = (c: FlareContext): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text: `job ${c.jobId} · requested by <@${c.requestedBy}> · ${who(c)}` }] });

function metadata(c: FlareContext, stage: 'review' | 'sent' | 'cancelled' | 'failed', archive?: { name: string; bytes: number; files: number }, extra: Record<string, unknown> = {}) {
  return {
    event_type: FLARE_METADATA_EVENT,
    event_payload: { jobId: c.jobId, cluster: c.cluster, node: c.node ?? null, caseId: c.caseId ?? null, stage, archive: archive ?? null, ...extra },
  };
}

export function renderFlareQueued(c: FlareContext): ChatMessage {
  return { text: `Flare on ${c.cluster}${c.node ? ` (${c.node})` : ''} queued…`, blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: ':hourglass_flowing_sand: Flare queued…' } }, footer(c)] };
}

export function renderFlareProgress(ctx: FlareContext, p: FlareProgress): ChatMessage {
  // Docker and host flares learn their node from the worker.
  const c = { ...ctx, ...(ctx.node ? {} : p.node ? { node: p.node } : {}) };
  if (p.stage === 'review' && p.archive) return renderFlareReview(c, p);
  const line = p.stage === 'building' ? `Building the flare on ${code(p.pod ?? p.node ?? '?')} (nothing is sent before you review it)…` : `Sending ${code(p.archive?.name ?? 'the archive')} to Datadog support…`;
  return { text: line.replace(/`/g, ''), blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${line}` } }, footer(c)] };
}

export function renderFlareReview(c: FlareContext, p: FlareProgress): ChatMessage {
  const a = p.archive!;
  const findings = p.findings ?? [];
  const blocks: KnownBlock[] = [header(c)];
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: `*Review this flare before it leaves the node.* It is built and waiting on the agent; nothing has been sent.` },
    fields: [
      { type: 'mrkdwn', text: `*Node*\n${escapeMrkdwn(p.node ?? '?')} (${code(p.pod ?? '?', 60)})` },
      { type: 'mrkdwn', text: `*Case*\n${who(c)}` },
      { type: 'mrkdwn', text: `*Archive*\n${code(a.name, 80)}` },
      { type: 'mrkdwn', text: `*Size*\n${human(a.bytes)}, ${a.files} files` },
    ],
  });
  const list = (p.fileList ?? []).map((f) => `${escapeMrkdwn(f.label)}  _${human(f.bytes)}_`).join('\n');
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Files*\n${list || '(none)'}`, LIMITS.sectionText) } });
  const scan = findings.length
    ? `:warning: *${findings.length} possible secret${findings.length > 1 ? 's' : ''} left in the archive* (the agent's scrubber should have removed them):\n${findings
        .slice(0, 10)
        .map((f) => `• ${code(f.file, 80)} line ${f.line}: ${escapeMrkdwn(f.kind)} — ${code(f.preview, 120)}`)
        .join('\n')}\nCancel, fix the source (or scrub the file on the node) and build the flare again, unless support needs it as is.`
    : ':white_check_mark: *Secret scan:* nothing that looks like a key, token or password in the text files.';
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(scan, LIMITS.sectionText) } });
  if (p.skipped?.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(`Not scanned (too large): ${p.skipped.map((s) => escapeMrkdwn(s)).join(', ')}`, 2000) }] });
  const expires = p.expiresAt ? Math.floor(Date.parse(p.expiresAt) / 1000) : undefined;
  blocks.push({
    type: 'actions',
    block_id: 'flare_review',
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.flareSend.id(),
        style: 'primary',
        text: { type: 'plain_text', text: 'Send to Datadog support' },
        value: c.jobId,
        confirm: {
          title: { type: 'plain_text', text: 'Send this flare?' },
          text: { type: 'mrkdwn', text: clip(`The agent uploads ${escapeClip(a.name, 80)} (${human(a.bytes)}, ${a.files} files) exactly as reviewed to Datadog support${c.caseId ? ` for case ${c.caseId}` : ''}.${findings.length ? ' The secret scan found possible secrets.' : ''}`, 300) },
          confirm: { type: 'plain_text', text: 'Send' },
          deny: { type: 'plain_text', text: 'Back' },
          ...(findings.length ? { style: 'danger' as const } : {}),
        },
      },
      { type: 'button', action_id: ACTIONS.flareCancel.id(), text: { type: 'plain_text', text: 'Cancel' }, value: c.jobId },
    ],
  });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Only <@${c.requestedBy}> or a remediator of \`${c.cluster}\` can send it.${expires ? ` This review expires <!date^${expires}^{time}|at ${p.expiresAt}>.` : ''} · job ${c.jobId}` }],
  });
  return { text: `Flare ready for review: ${a.name} (${human(a.bytes)}, ${a.files} files)`, blocks, metadata: metadata(c, 'review', { name: a.name, bytes: a.bytes, files: a.files }, { findings: findings.length }) };
}

const REASON: Record<FlareResult['reason'], string> = {
  sent: 'sent',
  cancelled: 'cancelled',
  expired: 'expired: the review was not answered in time, so the agent was told no',
  upload_failed: 'upload failed',
  build_failed: 'could not be built',
  session_lost: 'lost: the worker holding the session stopped; the agent aborted at the end of its input, nothing was sent',
};

export function renderFlareResult(c: FlareContext, r: FlareResult): ChatMessage {
  const icon = r.stage === 'sent' ? ':white_check_mark:' : r.stage === 'cancelled' ? ':no_entry_sign:' : ':warning:';
  const lines = [`${icon} *Flare ${REASON[r.reason]}.*`];
  if (r.archive) lines.push(`Archive ${code(r.archive.name, 80)} (${human(r.archive.bytes)}, ${r.archive.files} files) from ${escapeMrkdwn(r.node)}.`);
  if (r.agentOutput) lines.push(`Agent: ${code(r.agentOutput, 600)}`);
  // After the agent's own last words ("Aborting. (You can still use …)"), which predate the removal.
  if (r.stage === 'cancelled') lines.push(r.archiveRemoved ? 'Then the bot removed the archive from the node.' : r.archive ? `The archive could not be removed; it is still at ${code(r.archive.path, 120)} on the node.` : '');
  if (r.stage === 'failed' && r.reason === 'upload_failed') lines.push('Check the agent’s API key and its access to the Datadog intake, then build the flare again.');
  return {
    text: `Flare ${r.stage}: ${r.archive?.name ?? r.node}`,
    blocks: [header({ ...c, node: r.node }), { type: 'section', text: { type: 'mrkdwn', text: clip(lines.filter(Boolean).join('\n'), LIMITS.sectionText) } }, footer(c)],
    metadata: metadata({ ...c, node: r.node, ...(r.caseId ? { caseId: r.caseId } : {}) }, r.stage, r.archive ? { name: r.archive.name, bytes: r.archive.bytes, files: r.archive.files } : undefined, { reason: r.reason }),
  };
}

export function renderFlareFailure(c: FlareContext, f: JobFailure): ChatMessage {
  return {
    text: `Flare on ${c.cluster} failed: ${clip(f.message, 300)}`,
    blocks: [
      header(c),
      { type: 'section', text: { type: 'mrkdwn', text: failureText('The flare could not be built:', f) } },
      footer(c),
    ],
    metadata: metadata(c, 'failed', undefined, { reason: 'build_failed', error: f.message }),
  };
}
