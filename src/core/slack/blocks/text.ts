/** Escaping and clipping for Slack mrkdwn and Block Kit limits (reference/slack-platform.md). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** Inline code that cannot be broken out of by backticks in agent output. */
export function code(s: string, max = 200): string {
  return `\`${escapeMrkdwn(clip(s.replace(/`/g, "'").replace(/\s+/g, ' '), max))}\``;
}

/**
 * Escaped, then clipped to `max` characters as Slack counts them (escaping first: `&<>` grow
 * into entities, and an entity cut in half is dropped rather than shown).
 */
export function escapeClip(s: string, max: number): string {
  const escaped = escapeMrkdwn(s);
  if (escaped.length <= max) return escaped;
  return `${escaped.slice(0, Math.max(0, max - 1)).replace(/&[a-z]{0,3}$/, '')}…`;
}

/** The text of a "could not …" section: what failed, then what to do, within a section's limit. */
export function failureText(title: string, f: { message: string; hint?: string | undefined }): string {
  const what = `:warning: *${title}* ${escapeClip(f.message, 1500)}`;
  return clip(f.hint ? `${what}\n*What to do:* ${escapeClip(f.hint, 1000)}` : what, 3000);
}

/**
 * A job ID as people read it: its kind and the first 8 hex digits of its UUID (`st-1b2c3d4e`),
 * which `/cws status` resolves while it is unique among the recent jobs. Anything else as it is.
 */
export function shortJobId(jobId: string): string {
  return /^[a-z]{2}-[0-9a-f]{8}-/.test(jobId) ? jobId.slice(0, 11) : jobId;
}

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  contextElements: 10,
  totalText: 12_000,
} as const;

/** Characters of text in a tree of blocks, as Slack counts them for `msg_blocks_too_long` (every `text` string). */
export function textLength(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + textLength(x), 0);
  if (!v || typeof v !== 'object') return 0;
  let n = 0;
  for (const [k, x] of Object.entries(v)) n += k === 'text' && typeof x === 'string' ? x.length : textLength(x);
  return n;
}
