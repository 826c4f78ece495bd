import type { ChatMessage } from '../message.ts';
import { escapeClip } from './text.ts';

/** A Slack permalink safe to put in mrkdwn (`https`, none of the characters that end a link). */
const safeLink = (url: string | undefined) => (url && /^https:\/\/[^\s<>|]+$/.test(url) && url.length <= 500 ? url : undefined);

/**
 * The short pointer the asking channel gets when a cluster routes its results to its own
 * `resultsChannel`: where the result is, with a link to its message once there is one.
 */
export function renderResultsPointer(what: string, channel: string, link?: string): ChatMessage {
  const url = safeLink(link);
  const where = `<#${channel}>`;
  const text = url
    ? `:arrow_right: ${escapeClip(what, 300)}: its result is in ${where}, <${url}|here>.`
    : `:arrow_right: ${escapeClip(what, 300)}: its result will be posted in ${where}.`;
  return { text: text.replace(/^:arrow_right: /, ''), blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text }] }] };
}
