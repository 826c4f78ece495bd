import type { Block, ChatMessage } from '../message.ts';
import { BLOCKS_TEXT_BUDGET } from './audit.ts';
import { jobLine, type JobRow, stateLabel } from './jobs.ts';
import { escapeClip, LIMITS, textLength } from './text.ts';

/**
 * `/cws status JOB_ID` (ephemeral): one line about the job, then what its message shows now —
 * its progress or its final result, rendered again by its kind — without buttons (they act on
 * the job's own message) or metadata.
 */
export function renderStatus(job: JobRow, shown?: ChatMessage, note?: string): ChatMessage {
  const head: Block = { type: 'section', text: { type: 'mrkdwn', text: `*Job status*\n${jobLine(job)}${note ? `\n${escapeClip(note, 500)}` : ''}` } };
  const blocks: Block[] = [head];
  let used = textLength(head);
  for (const b of shown?.blocks ?? []) {
    if (b.type === 'actions' || b.type === 'input') continue;
    const n = textLength(b);
    if (blocks.length >= LIMITS.blocks || used + n > BLOCKS_TEXT_BUDGET) break;
    blocks.push(b);
    used += n;
  }
  const text = `Job ${job.jobId} (${job.kind} on ${job.cluster}): ${stateLabel(job.state).replace(/^:[a-z_]+: /, '')}.${shown?.text ? `\n${shown.text}` : ''}`;
  return { text: text.slice(0, 3000), blocks };
}
