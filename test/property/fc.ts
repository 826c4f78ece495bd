/**
 * Shared settings and arbitraries of the property suite (issue 15 point 7).
 *
 * Deterministic: every property runs with one fixed seed, so `npm test` explores the same cases
 * each time; a failure prints fast-check's report (counterexample, `seed`, `path`). To replay or
 * to explore other cases: `FC_SEED=<n> npx vitest run test/property`.
 */
import fc from 'fast-check';

export const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_150_715;

/** `fc.assert` with the suite's seed; the report names the seed so a failure can be replayed. */
export function check<T>(property: fc.IProperty<T>, numRuns: number, params: fc.Parameters<T> = {}): void {
  fc.assert(property, { seed: SEED, numRuns, ...params });
}

export async function checkAsync<T>(property: fc.IAsyncProperty<T>, numRuns: number, params: fc.Parameters<T> = {}): Promise<void> {
  await fc.assert(property, { seed: SEED, numRuns, ...params });
}

/** For properties on huge inputs: stop at the first failure (shrinking re-runs a slow case many times). */
export const noShrink = { endOnFailure: true } as const;

/** Characters that break parsers or shells: controls, NUL, CR, separators, quotes, Slack markup. */
const NASTY = [
  '\0',
  '\r',
  '\n',
  '\r\n',
  '\t',
  '\v',
  '\f',
  ' ',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u3000',
  '\ufeff',
  '\u200b',
  '"',
  "'",
  '`',
  ';',
  '|',
  '&',
  '$',
  '(',
  ')',
  '<',
  '>',
  '\\',
  '/',
  '*',
  '?',
  '!',
  '#',
  '@',
  ':',
  '=',
  ',',
  '.',
  '-',
  '--',
  '\u2014',
  '\u2013',
  '%',
  '+',
  '_',
  '~',
  '{',
  '}',
  '[',
  ']',
  '\ud83d\ude00',
  '\ud83d',
  '\ude00',
  '\u0301',
  'İ',
  'K',
  'ſ',
];

/** Any text: full Unicode (lone surrogates included), control characters, and runs of nasty characters. */
export const anyText = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: fc.constantFrom(...NASTY), maxLength: Math.ceil(maxLength / 2) }),
    fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString('utf8')),
    fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString('latin1')),
  );

/** A line ending as agents and kubectl/docker exec print them (LF, CRLF with a TTY; a blank line too). A lone CR is not one. */
export const eol = fc.constantFrom('\n', '\r\n', '\n\n', '\r\n\r\n');
/** LF or CRLF, nothing in between. */
export const newline = fc.constantFrom('\n', '\r\n');

/** Whitespace between words: what Slack and a user's keyboard put there. */
export const gap = fc.constantFrom(' ', '  ', '\t', '\n', ' \n ', '\u00a0', '\u3000', '\u2028');

/** Lines of noise (no particular format) to put around a real output. */
export const noiseLines = (maxLines = 6): fc.Arbitrary<string[]> => fc.array(anyText(120), { maxLength: maxLines });

/** Inserts `extra` lines at random places among `lines`, keeping the order of both. */
export const interleave = (lines: readonly string[], extra: readonly string[], picks: readonly number[]): string[] => {
  const out = [...lines];
  extra.forEach((e, i) => out.splice((picks[i] ?? 0) % (out.length + 1), 0, e));
  return out;
};

/** A stack trace or an exception name leaking into a user-facing string. */
export const STACK = /\n\s+at\s|\bat [^\s]+ \(.*:\d+:\d+\)|\b(TypeError|RangeError|SyntaxError|ReferenceError)\b/;

/** Well-formed UTF-16 (no lone surrogate): what can be sent to Slack as text. */
export const wellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

export { fc };

/**
 * One huge line: `head` then a unit repeated to 200–260 thousand characters, then a tail. Units
 * are the shapes that make a backtracking regex slow (runs of spaces, repeated keywords, a stray
 * CR or NUL at the end), so a parser that is quadratic on them shows it.
 */
export interface HugeLine {
  text: string;
}
export const hugeLine = (heads: readonly string[]): fc.Arbitrary<HugeLine> =>
  fc
    .tuple(
      fc.constantFrom(...heads),
      fc.constantFrom(' ', '\t', 'a', 'a ', ' a', ': ', '- ', '=', '0', '\u00a0', ...heads.filter(Boolean)),
      fc.integer({ min: 200_000, max: 260_000 }),
      fc.constantFrom('', 'x', '\r', '\rx', ' x', '\0', ':', 'security-agent'),
    )
    .map(([head, unit, size, tail]) => {
      const n = Math.ceil(size / unit.length);
      // printed in a report as its recipe, not as a quarter-megabyte string
      return {
        text: `${head}x${unit.repeat(n)}${tail}`,
        [fc.toStringMethod]: () => `${JSON.stringify(head)} + "x" + ${JSON.stringify(unit)}×${n} + ${JSON.stringify(tail)}`,
      };
    });

/**
 * Runs `fn` and fails when it takes longer than a linear parse of a quarter-megabyte line could
 * (a few milliseconds; the budget leaves room for a loaded machine). Quadratic backtracking takes
 * seconds on the same input.
 */
export function linearTime<T>(fn: () => T, budgetMs = 250): T {
  const t0 = performance.now();
  const r = fn();
  const ms = performance.now() - t0;
  if (ms > budgetMs) throw new Error(`took ${ms.toFixed(0)} ms on a huge line (budget ${budgetMs} ms): super-linear parsing`);
  return r;
}
