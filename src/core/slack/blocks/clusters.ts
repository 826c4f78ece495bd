import type { ChatMessage } from '../message.ts';
import { escapeMrkdwn, LIMITS } from './text.ts';

export interface ClusterRow {
  name: string;
  kind: 'kubernetes' | 'docker' | 'host';
  /** Connected workers; undefined when Redis could not be asked. */
  workers: number | undefined;
}

export function renderClusters(rows: ClusterRow[]): ChatMessage {
  const line = (r: ClusterRow) => {
    const status =
      r.workers === undefined
        ? ':grey_question: worker status unknown (Redis did not answer)'
        : r.workers === 0
          ? ':red_circle: no worker online — jobs will wait until one starts'
          : `:large_green_circle: ${r.workers} worker${r.workers > 1 ? 's' : ''} online`;
    return `• *${escapeMrkdwn(r.name)}* (${r.kind}) — ${status}`;
  };
  const shown = rows.slice(0, 40);
  const text = `*Configured clusters*\n${shown.map(line).join('\n')}${rows.length > shown.length ? `\n…and ${rows.length - shown.length} more` : ''}`;
  return {
    text: `Configured clusters: ${rows.map((r) => r.name).join(', ')}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, LIMITS.sectionText) } }],
  };
}
