import { flareMetadata } from '../../metadata.ts';
import type { FlareProgress, FlareResult, JobFailure } from '../../results.ts';
import { ACTIONS } from '../actions.ts';
import type { Block, ChatMessage } from '../message.ts';
import { clip, code, escapeMrkdwn, escapeClip, failureText, LIMITS, shortJobId } from './text.ts';

export interface FlareContext {
  jobId: string;
  cluster: string;
  node?: string;
  caseId?: string;
  email?: string;
  requestedBy: string;
}

const human = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);
const header = (c: FlareContext): Block => ({
  type: 'header',
  text: { type: 'plain_text', text: clip(`CWS flare · ${c.cluster}${c.node ? ` · ${c.node}` : ''}`, LIMITS.headerText) },
});
const who = (c: FlareContext) => (c.caseId ? `case ${c.caseId}` : `new case for ${escapeMrkdwn(c.email ?? '?')}`);
const footer = (c: FlareContext): Block => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: `job ${shortJobId(c.jobId)} · requested by <@${c.requestedBy}> · ${who(c)}` }],
});

export function renderFlareQueued(c: FlareContext): ChatMessage {
  return {
    text: `Flare on ${c.cluster}${c.node ? ` (${c.node})` : ''} queued…`,
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: ':hourglass_flowing_sand: Flare queued…' } }, footer(c)],
  };
}

export function renderFlareProgress(ctx: FlareContext, p: FlareProgress): ChatMessage {
  // Docker and host flares learn their node from the worker.
  const c = { ...ctx, ...(ctx.node ? {} : p.node ? { node: p.node } : {}) };
  if (p.stage === 'review' && p.archive) return renderFlareReview(c, p);
  const line =
    p.stage === 'building'
      ? `Building the flare on ${code(p.pod ?? p.node ?? '?')}${p.command ? ` with ${code(p.command)}` : ''} (nothing is sent before you review it)…`
      : `Sending ${code(p.archive?.name ?? 'the archive')} to Datadog support…`;
  return {
    text: line.replace(/`/g, ''),
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${line}` } }, footer(c)],
  };
}

export function renderFlareReview(c: FlareContext, p: FlareProgress): ChatMessage {
  const a = p.archive!;
  const findings = p.findings ?? [];
  const blocks: Block[] = [header(c)];
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: `*Review this flare before it leaves the node.* It is built and waiting on the agent; nothing has been sent.` },
    fields: [
      { type: 'mrkdwn', text: `*Node*\n${escapeMrkdwn(p.node ?? '?')} (${code(p.pod ?? '?', 60)})` },
      { type: 'mrkdwn', text: `*Case*\n${who(c)}` },
      { type: 'mrkdwn', text: `*Archive*\n${code(a.name, 80)}` },
      { type: 'mrkdwn', text: `*Size*\n${human(a.bytes)}, ${a.files} files${a.sha256 ? `\nSHA-256 ${code(`${a.sha256.slice(0, 16)}…`)}` : ''}` },
      // Which flare built it: `security-agent flare`, or the core agent's `agent flare` where security-agent is not there.
      ...(p.command ? [{ type: 'mrkdwn' as const, text: `*Built by*\n${code(p.command, 60)}` }] : []),
    ],
  });
  const list = (p.fileList ?? []).map((f) => `${escapeMrkdwn(f.label)}  _${human(f.bytes)}_`).join('\n');
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Files*\n${list || '(none)'}`, LIMITS.sectionText) } });
  const total = Math.max(p.findingsTotal ?? 0, findings.length);
  const where = (f: (typeof findings)[number]) => (f.where === 'name' ? 'in its name' : f.where === 'binary' ? 'in binary data' : `line ${f.line}`);
  const scan = total
    ? `:warning: *${total} possible secret${total > 1 ? 's' : ''} left in the archive* (masked here; the agent's scrubber should have removed them):\n${findings
        .slice(0, 10)
        .map((f) => `• ${code(f.file, 80)} ${where(f)}: ${escapeMrkdwn(f.kind)} — ${code(f.preview, 120)}`)
        .join(
          '\n',
        )}${total > Math.min(10, findings.length) ? `\n…and ${total - Math.min(10, findings.length)} more.` : ''}\nCancel, fix the source (or scrub the file on the node) and build the flare again, unless support needs it as is.`
    : ':white_check_mark: *Secret scan:* nothing that looks like a key, token or password in the files and their names.';
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(scan, LIMITS.sectionText) } });
  const notScanned = [...(p.notScanned ?? []), ...(p.skipped ?? []).map((file) => ({ file, reason: 'too large to scan' }))];
  if (notScanned.length)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `:grey_question: *Not scanned* — ${notScanned.length} file${notScanned.length > 1 ? 's or lines' : ' or line'} the secret scan could not read; look at ${notScanned.length > 1 ? 'them' : 'it'} before sending:\n${notScanned
            .slice(0, 12)
            .map((n) => `• ${code(n.file, 80)}: ${escapeMrkdwn(n.reason)}`)
            .join('\n')}${notScanned.length > 12 ? `\n…and ${notScanned.length - 12} more.` : ''}`,
          LIMITS.sectionText,
        ),
      },
    });
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
          text: {
            type: 'mrkdwn',
            text: clip(
              `The agent uploads ${escapeClip(a.name, 80)} (${human(a.bytes)}, ${a.files} files) exactly as reviewed to Datadog support${c.caseId ? ` for case ${c.caseId}` : ''}.${findings.length ? ' The secret scan found possible secrets.' : ''}`,
              300,
            ),
          },
          confirm: { type: 'plain_text', text: 'Send' },
          deny: { type: 'plain_text', text: 'Back' },
          ...(total ? { style: 'danger' as const } : {}),
        },
      },
      { type: 'button', action_id: ACTIONS.flareCancel.id(), text: { type: 'plain_text', text: 'Cancel' }, value: c.jobId },
    ],
  });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Only <@${c.requestedBy}> or a remediator of \`${c.cluster}\` can send it.${expires ? ` This review expires <!date^${expires}^{time}|at ${p.expiresAt}>.` : ''} · job ${shortJobId(c.jobId)}`,
      },
    ],
  });
  return {
    text: `Flare ready for review: ${a.name} (${human(a.bytes)}, ${a.files} files)`,
    blocks,
    metadata: flareMetadata(
      c,
      'review',
      { name: a.name, bytes: a.bytes, files: a.files },
      { findings: total, ...(notScanned.length ? { notScanned: notScanned.length } : {}), ...(a.sha256 ? { sha256: a.sha256 } : {}) },
    ),
  };
}

const REASON: Record<FlareResult['reason'], string> = {
  sent: 'sent',
  cancelled: 'cancelled',
  expired: 'expired: the review was not answered in time, so the agent was told no',
  upload_failed: 'upload failed',
  build_failed: 'could not be built',
  session_lost: 'lost: the worker holding the session stopped; the agent aborted at the end of its input, nothing was sent',
  archive_changed: 'not sent: the archive changed after review, so nothing was sent',
  busy: 'not started: another flare is under review on this node',
};

export function renderFlareResult(c: FlareContext, r: FlareResult): ChatMessage {
  const icon = r.stage === 'sent' ? ':white_check_mark:' : r.stage === 'cancelled' ? ':no_entry_sign:' : ':warning:';
  const lines = [`${icon} *Flare ${REASON[r.reason]}.*`];
  if (r.archive)
    lines.push(
      `Archive ${code(r.archive.name, 80)} (${human(r.archive.bytes)}, ${r.archive.files} files) from ${escapeMrkdwn(r.node)}${r.command ? `, built by ${code(r.command, 60)}` : ''}.`,
    );
  else if (r.command && r.reason !== 'busy') lines.push(`Command: ${code(r.command, 60)} on ${escapeMrkdwn(r.node)}.`);
  if (r.heldBy)
    lines.push(
      `A flare is already under review on ${escapeMrkdwn(r.node)} by <@${r.heldBy.user}> (job ${escapeMrkdwn(r.heldBy.job)}): one flare per node at a time, so this one was not started. Nothing was built.`,
    );
  if (r.warning) lines.push(`:warning: ${escapeMrkdwn(r.warning)}`);
  if (r.agentOutput && !r.heldBy) lines.push(`Agent: ${code(r.agentOutput, 600)}`);
  // After the agent's own last words ("Aborting. (You can still use …)"), which predate the removal.
  if (r.stage === 'cancelled')
    lines.push(
      r.archiveRemoved
        ? 'Then the bot removed the archive from the node.'
        : r.archiveReplaced
          ? `The file at ${code(r.archive?.path ?? '?', 120)} is no longer the reviewed archive (another flare wrote there), so the bot left it in place.`
          : r.archiveMissing
            ? 'The archive was already gone from the node.'
            : r.archive
              ? `The archive could not be removed; it is still at ${code(r.archive.path, 120)} on the node.`
              : '',
    );
  if (r.stage === 'failed' && r.reason === 'upload_failed')
    lines.push('Check the agent’s API key and its access to the Datadog intake, then build the flare again.');
  return {
    text: `Flare ${r.stage}: ${r.archive?.name ?? r.node}`,
    blocks: [
      header({ ...c, node: r.node }),
      { type: 'section', text: { type: 'mrkdwn', text: clip(lines.filter(Boolean).join('\n'), LIMITS.sectionText) } },
      footer(c),
    ],
    metadata: flareMetadata(
      { ...c, node: r.node, ...(r.caseId ? { caseId: r.caseId } : {}) },
      r.stage,
      r.archive ? { name: r.archive.name, bytes: r.archive.bytes, files: r.archive.files } : undefined,
      { reason: r.reason },
    ),
  };
}

export function renderFlareFailure(c: FlareContext, f: JobFailure): ChatMessage {
  return {
    text: `Flare on ${c.cluster} failed: ${clip(f.message, 300)}`,
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: failureText('The flare could not be built:', f) } }, footer(c)],
    metadata: flareMetadata(c, 'failed', undefined, { reason: 'build_failed', error: f.message }),
  };
}

/** The ephemeral refusal of a second flare on a node while one is under review (src/flare/lock.ts). */
export function renderFlareBusy(o: { cluster: string; node?: string; by?: string; job?: string; queued?: boolean }): ChatMessage {
  const where = o.node ? code(o.node, 80) : `the agent of ${code(o.cluster, 80)}`;
  const who = o.by ? `<@${o.by}>` : 'someone';
  const text = `A flare is already under review on ${where} by ${who}${o.job ? ` (job ${escapeMrkdwn(o.job)})` : ''}${o.queued ? ', waiting for a worker' : ''}. One flare per node at a time: the agent writes every flare to the same kind of path, and the one that is sent must be the one that was reviewed.`;
  const hint = `Wait for it to be sent, cancelled or to expire, or ask ${who} to cancel it; then run the flare again.`;
  return { text: `${text} ${hint}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:no_entry: ${text}\n*What to do:* ${hint}` } }] };
}
