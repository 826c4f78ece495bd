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

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  contextElements: 10,
  totalText: 12_000,
} as const;
