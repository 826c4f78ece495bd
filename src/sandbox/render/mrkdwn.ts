/**
 * Slack mrkdwn → HTML for the sandbox page.
 *
 * Safety model: the whole input is HTML-escaped before any formatting rule runs, so every rule
 * works on text that cannot contain `<`, `>`, `"` or `'`; the only markup in the output is the
 * markup these rules add. Slack's own escapes (`&lt; &gt; &amp;`) arrive double-escaped
 * (`&amp;lt;`) and are turned back into single entities at the very end, which keeps them
 * distinguishable from the raw `<…>` of links and mentions while parsing.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** The shortcodes the bot uses; anything else stays as `:name:` text. */
export const EMOJI: Readonly<Record<string, string>> = {
  white_check_mark: '✅',
  alarm_clock: '⏰',
  heavy_check_mark: '✔️',
  x: '❌',
  warning: '⚠️',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  rotating_light: '🚨',
  large_green_circle: '🟢',
  large_orange_circle: '🟠',
  red_circle: '🔴',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  mag: '🔍',
  wrench: '🔧',
  package: '📦',
  stopwatch: '⏱️',
  grey_question: '❔',
  information_source: 'ℹ️',
  construction: '🚧',
  arrows_counterclockwise: '🔄',
  raised_hand: '✋',
  large_yellow_circle: '🟡',
  arrow_forward: '▶️',
  arrow_right: '➡️',
  link: '🔗',
  speech_balloon: '💬',
};

export function replaceEmoji(s: string): string {
  return s.replace(/:([a-z0-9_+-]+):/g, (m, name: string) => (Object.hasOwn(EMOJI, name) ? (EMOJI[name] ?? m) : m));
}

/** Plain text objects: no formatting, only escaping, emoji and line breaks. */
export function plainToHtml(text: string): string {
  return replaceEmoji(escapeHtml(normalize(text))).replace(/\n/g, '<br>');
}

export function mrkdwnToHtml(text: string): string {
  const fragments: string[] = [];
  const escaped = escapeHtml(normalize(text));
  const tokenized = escaped.replace(TOKEN, (match, pre?: string, code?: string, angle?: string) => {
    if (pre !== undefined) return stash(fragments, `<pre>${pre.replace(/^\n/, '').replace(/\n$/, '')}</pre>`, BLOCK_MARK);
    if (code !== undefined) return stash(fragments, `<code>${code}</code>`, INLINE_MARK);
    return stash(fragments, renderAngle(angle ?? '') ?? match, INLINE_MARK);
  });
  const laidOut = layoutLines(tokenized).replace(/(?:<br>)?(\u0001\d+\u0001)(?:<br>)?/g, '$1');
  const restored = laidOut.replace(/[\u0000\u0001](\d+)[\u0000\u0001]/g, (_, i: string) => fragments[Number(i)] ?? '');
  return unescapeSlackEntities(restored);
}

const INLINE_MARK = '\u0000';
const BLOCK_MARK = '\u0001';

/**
 * Pre blocks, inline code and `<…>` tokens (already escaped) are cut out first so that neither
 * emoji nor bold/italic/strike rules reach into code or URLs.
 */
const TOKEN = /```([\s\S]*?)```|`([^`\n]+)`|&lt;((?:(?!&lt;|&gt;)[^\n])+?)&gt;/g;

function stash(fragments: string[], html: string, mark: string): string {
  fragments.push(html);
  return `${mark}${fragments.length - 1}${mark}`;
}

/** CRLF to LF, and control characters (our placeholder markers among them) to U+FFFD. */
function normalize(text: string): string {
  return String(text)
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '\uFFFD');
}

/** `&amp;lt;` is Slack's `&lt;` after our escaping: show it as `<`, still as an entity. */
function unescapeSlackEntities(html: string): string {
  return html.replace(/&amp;(lt|gt|amp);/g, '&$1;');
}

const SAFE_HREF = /^(?:https?:\/\/|mailto:)/i;
const BROADCASTS = new Set(['here', 'channel', 'everyone']);

/** A `<…>` token: link, user/channel mention or special command. Null keeps it as literal text. */
function renderAngle(content: string): string | null {
  const bar = content.indexOf('|');
  const target = bar < 0 ? content : content.slice(0, bar);
  const label = bar < 0 ? '' : content.slice(bar + 1);
  if (target.startsWith('@') && target.length > 1) return mention(`@${label || target.slice(1)}`);
  if (target.startsWith('#') && target.length > 1) return mention(`#${label || target.slice(1)}`);
  if (target.startsWith('!')) return special(target.slice(1), label);
  if (SAFE_HREF.test(target)) return `<a href="${target}" target="_blank" rel="noopener noreferrer">${label || target}</a>`;
  // A scheme we do not link (javascript:, data:, …): its text only, never an href.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return label || target;
  return null;
}

function mention(text: string): string {
  return `<span class="mention">${text}</span>`;
}

function special(command: string, label: string): string {
  const name = command.split('^')[0] ?? '';
  if (BROADCASTS.has(name)) return mention(`@${name}`);
  if (name === 'subteam') return mention(label || `@${command.split('^')[1] ?? 'group'}`);
  if (name === 'date') return label;
  return label || mention(`@${name}`);
}

/** Lines, `>` quotes (raw `>` only: a Slack-escaped `&gt;` is literal text) and `>>>` quotes. */
function layoutLines(s: string): string {
  const lines = s.split('\n');
  const parts: { block: boolean; html: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('&gt;&gt;&gt;')) {
      const rest = [line.slice(12).replace(/^ /, ''), ...lines.slice(i + 1)];
      parts.push({ block: true, html: `<blockquote>${rest.map(formatInline).join('<br>')}</blockquote>` });
      break;
    }
    if (line.startsWith('&gt;')) {
      const quoted: string[] = [];
      while (i < lines.length && isQuoteLine(lines[i] ?? '')) quoted.push((lines[i++] ?? '').slice(4).replace(/^ /, ''));
      i--;
      parts.push({ block: true, html: `<blockquote>${quoted.map(formatInline).join('<br>')}</blockquote>` });
      continue;
    }
    parts.push({ block: false, html: formatInline(line) });
  }
  return parts.map((p, i) => (i > 0 && !p.block && !parts[i - 1]?.block ? `<br>${p.html}` : p.html)).join('');
}

function isQuoteLine(line: string): boolean {
  return line.startsWith('&gt;') && !line.startsWith('&gt;&gt;&gt;');
}

function formatInline(line: string): string {
  return INLINE_STYLES.reduce((s, [re, tag]) => s.replace(re, `$1<${tag}>$2</${tag}>`), replaceEmoji(line));
}

/**
 * Slack only formats when the delimiters sit at word boundaries (so `snake_case` and `2*3*4`
 * stay as they are) and the content does not start or end with a space.
 */
function delimited(d: string): RegExp {
  return new RegExp(`(^|[^\\p{L}\\p{N}${d}])${d}(?![\\s${d}])([^${d}\\n]*?[^\\s${d}])${d}(?![\\p{L}\\p{N}${d}])`, 'gu');
}

const INLINE_STYLES: [RegExp, string][] = [
  [delimited('\\*'), 'b'],
  [delimited('_'), 'i'],
  [delimited('~'), 's'],
];
