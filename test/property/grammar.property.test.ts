/**
 * Property-based fuzz of the `/cws` grammar (issue 15 point 7): `parseCommand` and `tokenize`
 * never throw, accept only validated values, and read back every command built from valid parts.
 */
import { describe, expect, it } from 'vitest';
import { MAX_COMMAND_TEXT, MAX_TOKEN, parseCommand, tokenize, type Command } from '../../src/core/grammar.ts';
import { FlareJobData } from '../../src/contract/jobs.ts';
import { anyText, check, fc, gap, STACK, wellFormed } from './fc.ts';
import { CASE_ID_RE, CLUSTER_NAME_RE, EMAIL_RE, NODE_RE, UNSAFE } from './rules.ts';

/** Words the grammar knows, Slack's escapes, and what an attacker types. */
const WORDS = [
  'help',
  'clusters',
  'selftest',
  'flare',
  'netcheck',
  'SELFTEST',
  'Flare',
  'netchecK',
  'schedule',
  'every',
  'daily',
  'at',
  'list',
  'delete',
  '15m',
  '30s',
  '07:30',
  'sc-0a1b2c3d',
  'frobnicate',
  '--node',
  '--email',
  '--node=',
  '--email=',
  '—node',
  '–email',
  '--',
  '-',
  '-n',
  '-rf',
  '--bogus',
  '--help',
  '=',
  'cluster-a',
  'prod_eu.1',
  'demo',
  'constructor',
  '__proto__',
  'node-7',
  'ip-10-0-1-2.ec2.internal',
  '1234567',
  '0',
  '1234567890123',
  'ops@example.com',
  'a.b+c@example.co.uk',
  '-x@y.co',
  'a%b@x.co',
  '.a@x.co',
  'a..b@x.co',
  'a@-x.co',
  "o'b@x.co",
  '<mailto:ops@example.com|ops@example.com>',
  '<mailto:evil@x.co|ops@example.com>',
  '<mailto:a b@c.de|x>',
  '<mailto:>',
  '<mailto:|>',
  '<#C0123456|general>',
  '<@U0123456>',
  '<!here>',
  '&amp;',
  '&lt;',
  '&gt;',
  '"; rm -rf /"',
  '$(whoami)',
  '`id`',
  'a;rm',
  'a|b',
  'a&&b',
  "'",
  '"',
  '\\',
  '\0',
  '\r',
  '\u2028',
];
const word = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...WORDS) }, { weight: 1, arbitrary: anyText(30) });
/** Word soup: mostly grammar words, with anything at all in between. */
const soup = fc
  .tuple(fc.array(word, { maxLength: 9 }), fc.array(gap, { minLength: 9, maxLength: 9 }))
  .map(([ws, gs]) => ws.map((w, i) => `${w}${gs[i]}`).join(''));

const anyCommandText = fc.oneof(
  { weight: 4, arbitrary: soup },
  { weight: 2, arbitrary: anyText(300) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('selftest ', 'flare demo --node ', 'flare demo --email ', 'netcheck ', ''),
        fc.string({ unit: 'binary', minLength: 200, maxLength: 5000 }),
      )
      .map(([a, b]) => a + b),
  },
);

/** Every value a successful parse returns, by name. */
const values = (c: Command): [string, string][] => Object.entries(c).filter(([k]) => k !== 'name') as [string, string][];

function assertValidated(c: Command): void {
  for (const [key, value] of values(c)) {
    if (c.name === 'schedule' && ['action', 'what', 'every', 'daily', 'id'].includes(key)) {
      // `/cws schedule` (src/core/schedule/grammar.ts): closed sets, a number of minutes ≥ 1, HH:MM, an sc- ID
      if (key === 'action') expect(['list', 'delete', 'create']).toContain(value);
      else if (key === 'what') expect(['selftest', 'netcheck']).toContain(value);
      else if (key === 'every') expect(Number.isInteger(value) && (value as unknown as number) >= 1).toBe(true);
      else if (key === 'daily') expect(value).toMatch(/^([01][0-9]|2[0-3]):[0-5][0-9]$/);
      else expect(value).toMatch(/^sc-[0-9a-f]{8}$/);
      continue;
    }
    expect(typeof value, key).toBe('string');
    expect(value.length, key).toBeGreaterThan(0);
    expect(value.length, key).toBeLessThanOrEqual(MAX_TOKEN);
    if (key === 'topic') {
      // help's topic only picks a help text: free text by design, shown escaped in the ephemeral
      // help reply (test/unit/every-message.test.ts), never a value sent to a job or an agent
      expect(value).not.toMatch(/\s/u);
      expect(value).toBe(value.toLowerCase());
      continue;
    }
    expect(value, key).not.toMatch(UNSAFE);
    expect(value.startsWith('-'), `${key} starts with "-"`).toBe(false);
    if (key === 'cluster') expect(value).toMatch(CLUSTER_NAME_RE);
    else if (key === 'node') expect(value).toMatch(NODE_RE);
    else if (key === 'caseId') expect(value).toMatch(CASE_ID_RE);
    else if (key === 'email') {
      expect(value).toMatch(EMAIL_RE);
      // …and the flare job takes it: the producer validates with this schema before queueing
      expect(
        FlareJobData.safeParse({ kind: 'flare', cluster: 'demo', email: value, requestedBy: 'U1', requestedAt: 'now', expiresAt: 'later' }).success,
        value,
      ).toBe(true);
    } else throw new Error(`unexpected field ${key}`);
  }
}

describe('parseCommand never throws and answers only with validated values', () => {
  it('any text (unicode, controls, Slack escapes, em dashes, very long): a result, never an exception', () => {
    check(
      fc.property(anyCommandText, (text) => {
        const r = parseCommand(text);
        if (r.ok) {
          expect(['help', 'clusters', 'selftest', 'flare', 'netcheck']).toContain(r.command.name);
          assertValidated(r.command);
          return;
        }
        expect(typeof r.error).toBe('string');
        expect(typeof r.usage).toBe('string');
        expect(r.error.length).toBeGreaterThan(0);
        // an answer, not a crash report: no stack trace, no exception name, bounded echo of the input
        expect(r.error).not.toMatch(STACK);
        expect(r.error.length).toBeLessThan(200);
        // text that can be sent to Slack: never half of an emoji
        if (wellFormed(text)) expect(wellFormed(r.error), JSON.stringify(r.error)).toBe(true);
      }),
      4000,
    );
  });

  it('tokenize never throws and yields non-empty tokens without whitespace', () => {
    check(
      fc.property(anyCommandText, (text) => {
        for (const t of tokenize(text)) {
          expect(t.length).toBeGreaterThan(0);
          expect(t).not.toMatch(/\s/u);
        }
      }),
      2000,
    );
  });

  it('a text over the limit is refused whatever it holds', () => {
    check(
      fc.property(
        fc.constantFrom('selftest demo ', 'flare demo --email a@b.co ', 'help ', ''),
        fc.string({ unit: 'grapheme-ascii', minLength: MAX_COMMAND_TEXT + 1, maxLength: MAX_COMMAND_TEXT + 200 }),
        (head, tail) => {
          const text = `${head}${tail}`;
          if (!text.trim()) return; // only blanks: that is `/cws` alone, answered with the help
          expect(parseCommand(text).ok).toBe(false);
        },
      ),
      200,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: a command written from valid parts, in any order and spelling, reads back the same.

const cluster = fc.stringMatching(CLUSTER_NAME_RE);
const node = fc.oneof(fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?$/), fc.stringMatching(NODE_RE));
const caseId = fc.stringMatching(CASE_ID_RE);
const email = fc.stringMatching(EMAIL_RE).filter((e) => e.length <= MAX_TOKEN);
const sub = (name: string) => fc.mixedCase(fc.constant(name));

const spell = (parts: string[][], gaps: string[]) =>
  ` ${parts
    .flat()
    .map((p, i) => `${p}${gaps[i % gaps.length]}`)
    .join('')}`;

describe('round trip: valid parts parse back to the same values', () => {
  it('selftest <cluster> [--node NODE] and netcheck <cluster>', () => {
    check(
      fc.property(
        fc.constantFrom('selftest', 'netcheck').chain((name) => fc.tuple(fc.constant(name), sub(name))),
        cluster,
        fc.option(node, { nil: undefined }),
        fc.tuple(fc.constantFrom('--', '\u2014', '\u2013'), fc.boolean()),
        fc.boolean(),
        fc.array(gap, { minLength: 1, maxLength: 4 }),
        ([name, spelled], c, n, [dash, eq], optionFirst, gaps) => {
          const opt = n === undefined || name === 'netcheck' ? [] : eq ? [`${dash}node=${n}`] : [`${dash}node`, n];
          const parts = optionFirst ? [[spelled], opt, [c]] : [[spelled], [c], opt];
          const want: Command =
            name === 'netcheck'
              ? { name: 'netcheck', cluster: c }
              : n === undefined
                ? { name: 'selftest', cluster: c }
                : { name: 'selftest', cluster: c, node: n };
          expect(parseCommand(spell(parts, gaps))).toEqual({ ok: true, command: want });
        },
      ),
      3000,
    );
  });

  it('flare <cluster> [--node NODE] [CASE_ID] [--email ADDRESS], in any order', () => {
    check(
      fc.property(
        cluster,
        fc.option(node, { nil: undefined }),
        fc.option(caseId, { nil: undefined }),
        fc.option(email, { nil: undefined }),
        fc.array(gap, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
        fc.tuple(fc.constantFrom('--', '\u2014'), fc.boolean(), fc.boolean(), fc.boolean()),
        (c, n, id, e, gaps, order, [dash, eqN, eqE, mailto]) => {
          const opts: string[][] = [];
          if (n !== undefined) opts.push(eqN ? [`${dash}node=${n}`] : [`${dash}node`, n]);
          if (e !== undefined) {
            const v = mailto ? `<mailto:${e}|${e}>` : e;
            opts.push(eqE ? [`${dash}email=${v}`] : [`${dash}email`, v]);
          }
          // positionals keep their order (cluster before case ID); options go anywhere around them
          const parts: string[][] = [['flare'], [c], ...(id !== undefined ? [[id]] : [])];
          opts.forEach((o, i) => parts.splice(1 + ((order[i] ?? 0) % parts.length), 0, o));
          const r = parseCommand(spell(parts, gaps));
          const want: Command = { name: 'flare', cluster: c };
          if (n !== undefined) want.node = n;
          if (id !== undefined) want.caseId = id;
          if (e !== undefined) want.email = e;
          expect(r).toEqual({ ok: true, command: want });
        },
      ),
      3000,
    );
  });

  it('schedule <selftest|netcheck> <cluster> every <N><m|h|d> | daily at HH:MM, list, delete <ID>', () => {
    check(
      fc.property(
        fc.constantFrom('selftest', 'netcheck'),
        cluster,
        fc.oneof(
          fc.tuple(fc.integer({ min: 1, max: 720 }), fc.constantFrom('m', 'h', 'd')).filter(([n, u]) => n * (u === 'm' ? 1 : u === 'h' ? 60 : 1440) <= 43_200),
          fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })),
        ),
        fc.array(gap, { minLength: 1, maxLength: 4 }),
        (what, c, when, gaps) => {
          const daily = typeof when[1] === 'number';
          const hhmm = daily ? `${String(when[0]).padStart(2, '0')}:${String(when[1]).padStart(2, '0')}` : '';
          const parts = daily ? [['schedule'], [what], [c], ['daily'], ['at'], [hhmm]] : [['schedule'], [what], [c], ['every'], [`${when[0]}${when[1]}`]];
          const minutes = daily ? 0 : (when[0] as number) * (when[1] === 'm' ? 1 : when[1] === 'h' ? 60 : 1440);
          const want = daily
            ? { name: 'schedule', action: 'create', what, cluster: c, daily: hhmm }
            : { name: 'schedule', action: 'create', what, cluster: c, every: minutes };
          expect(parseCommand(spell(parts, gaps))).toEqual({ ok: true, command: want });
        },
      ),
      2000,
    );
  });

  it('a valid command with one part replaced by hostile text is refused or still yields only validated values', () => {
    check(
      fc.property(cluster, node, caseId, email, fc.nat({ max: 3 }), word, (c, n, id, e, which, bad) => {
        const parts = [c, n, id, e];
        parts[which] = bad;
        const [pc, pn, pid, pe] = parts;
        const r = parseCommand(`flare ${pc} --node ${pn} ${pid} --email ${pe}`);
        if (r.ok) assertValidated(r.command);
      }),
      3000,
    );
  });
});
