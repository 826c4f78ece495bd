import type { ChatMessage } from '../message.ts';
import { clip, LIMITS } from './text.ts';

/** Ephemeral replies: usage, errors the user can act on. */
export function renderUsage(text: string): ChatMessage {
  return { text: text.replace(/[`*]/g, ''), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.sectionText) } }] };
}

export function renderProblem(what: string, next?: string): ChatMessage {
  const text = `:warning: ${what}${next ? `\n${next}` : ''}`;
  return renderUsage(text);
}
