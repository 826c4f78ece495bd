/**
 * Property-based fuzz of the self-test parsers (issue 15 point 7): `parseSelftestOutput` (the
 * verdict of `security-agent runtime self-test`) and `parseSelftestStatus` (the "Self Tests" block
 * of `security-agent status`). Never throw, answer in linear time on huge lines, and the real
 * outputs of test/fixtures/selftest still give the same facts inside noise, with CRLF, whatever the
 * exit code where the format says the exit code does not matter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { combineWithStatus, parseSelftestStatus } from '../../src/core/selftest/status.ts';
import { parseSelftestOutput, type SelftestVerdict } from '../../src/core/selftest/verdict.ts';
import { anyText, check, eol, fc, hugeLine, interleave, linearTime, newline, noiseLines, noShrink } from './fc.ts';

const dir = join(import.meta.dirname, '../fixtures/selftest');
interface Fixture {
  name: string;
  stdout: string;
  stderr: string;
  exitCode: number;
}
const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && !f.startsWith('status-'))
  .map((f) => f.replace(/\.json$/, ''))
  .map((name) => ({
    name,
    stdout: readFileSync(join(dir, `${name}.stdout`), 'utf8'),
    stderr: readFileSync(join(dir, `${name}.stderr`), 'utf8'),
    exitCode: (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { exitCode: number }).exitCode,
  }));
const statusFixtures = ['status-ok', 'status-failed'].map((n) => readFileSync(join(dir, `${n}.stdout`), 'utf8'));

const TEST_ID = /^(?:datadog_agent_cws_self_test_rule|self_test)_[a-z0-9_]+$/;
const lines = (s: string) => s.split(/\r?\n/);
/** Lines that say nothing about a self-test result: noise the agent's logs could print. */
const isResultLine = (l: string) => /^\s*Runtime self test:/.test(l);
const quietNoise = noiseLines(5).map((ls) => ls.flatMap(lines).filter((l) => !isResultLine(l)));

const exitCode = fc.oneof(fc.constantFrom(0, 1, -1, 2, 126, 127, 128, 137, 255), fc.integer());

function assertVerdict(v: SelftestVerdict): void {
  expect(['ok', 'failed', 'error']).toContain(v.status);
  expect(typeof v.message).toBe('string');
  expect(new Set(v.failedTests).size).toBe(v.failedTests.length);
  for (const t of v.failedTests) expect(t).toMatch(TEST_ID);
  if (v.status !== 'failed') expect(v.failedTests).toEqual([]);
}

describe('parseSelftestOutput', () => {
  it('never throws on any stdout, stderr and exit code', () => {
    check(
      fc.property(anyText(400), anyText(400), exitCode, (stdout, stderr, code) => {
        assertVerdict(parseSelftestOutput({ stdout, stderr, exitCode: code }));
      }),
      3000,
    );
  });

  it('never throws on agent-like output: result lines, test IDs, errors, in any mix', () => {
    const piece = fc.constantFrom(
      'Runtime self test: ',
      'OK',
      'error: ',
      'failed to receive expected event',
      'self-tests are disabled',
      'already running',
      'not supported',
      'datadog_agent_cws_self_test_rule_open',
      'self_test_x',
      '[',
      ']',
      ' ',
      'Error: ',
      'rpc error: code = Unavailable',
      'executable file not found in $PATH',
      'unable to create a runtime security client instance',
      'unknown command',
      '\n',
      '\r\n',
      '\r',
      '\0',
      '\t',
    );
    check(
      fc.property(
        fc.array(fc.oneof({ weight: 4, arbitrary: piece }, { weight: 1, arbitrary: anyText(20) }), { maxLength: 30 }),
        fc.array(piece, { maxLength: 10 }),
        exitCode,
        (out, err, code) => {
          assertVerdict(parseSelftestOutput({ stdout: out.join(''), stderr: err.join(''), exitCode: code }));
        },
      ),
      3000,
    );
  });

  it('the real outputs give the same verdict inside log noise, with CRLF; with a result line, whatever the exit code', () => {
    check(
      fc.property(
        fc.constantFrom(...fixtures),
        quietNoise,
        quietNoise,
        fc.array(fc.nat(), { maxLength: 5 }),
        eol,
        fc.boolean(),
        exitCode,
        (f, before, after, picks, nl, intoStderr, code) => {
          const want = parseSelftestOutput(f);
          const hasResult = lines(f.stdout + f.stderr).some(isResultLine);
          // the agent's log lines come before and after the result, on either stream
          const noisy = (text: string, extra: string[]) => interleave(lines(text), extra, picks).join(nl);
          const got = parseSelftestOutput({
            stdout: intoStderr ? f.stdout.split('\n').join(nl) : noisy(f.stdout, [...before, ...after]),
            stderr: intoStderr ? noisy(f.stderr, [...before, ...after]) : f.stderr.split('\n').join(nl),
            exitCode: hasResult ? code : f.exitCode,
          });
          assertVerdict(got);
          expect(got.status).toBe(want.status);
          expect(got.failedTests).toEqual(want.failedTests);
          if (hasResult) expect(got.message).toBe(want.message);
        },
      ),
      2000,
    );
  });

  it('the last result line decides, wherever the agent printed it', () => {
    const result = fc.oneof(
      fc.constant({ line: 'Runtime self test: OK', status: 'ok', tests: [] as string[] }),
      fc
        .uniqueArray(fc.stringMatching(/^datadog_agent_cws_self_test_rule_[a-z]{2,8}$/), { minLength: 1, maxLength: 4 })
        .map((tests) => ({ line: `Runtime self test: error: failed to receive expected event: [${tests.join(' ')}]`, status: 'failed', tests })),
    );
    check(
      fc.property(fc.array(result, { minLength: 1, maxLength: 4 }), quietNoise, fc.array(fc.nat(), { maxLength: 5 }), eol, (results, noise, picks, nl) => {
        const last = results.at(-1)!;
        const stdout = interleave(
          results.map((r) => r.line),
          noise,
          picks,
        ).join(nl);
        const v = parseSelftestOutput({ stdout, stderr: '', exitCode: 0 });
        expect(v.status).toBe(last.status);
        expect(v.failedTests).toEqual(last.tests);
      }),
      2000,
    );
  });

  it('truncated output (any prefix of a real one) never throws', () => {
    check(
      fc.property(fc.constantFrom(...fixtures), fc.nat(), fc.nat(), (f, a, b) => {
        assertVerdict(
          parseSelftestOutput({
            stdout: f.stdout.slice(0, a % (f.stdout.length + 1)),
            stderr: f.stderr.slice(0, b % (f.stderr.length + 1)),
            exitCode: f.exitCode,
          }),
        );
      }),
      1000,
    );
  });

  it('answers in linear time on huge lines (exec output is capped at 1 MiB, not its lines)', () => {
    check(
      fc.property(
        hugeLine(['Runtime self test: ', 'Runtime self test: error: ', 'Error: ', 'no such file or directory ', 'rpc error: code = Unavailable ', '']),
        fc.boolean(),
        (line, stderr) => {
          linearTime(() =>
            assertVerdict(parseSelftestOutput(stderr ? { stdout: '', stderr: line.text, exitCode: 1 } : { stdout: line.text, stderr: '', exitCode: 0 })),
          );
        },
      ),
      40,
      noShrink,
    );
  });
});

describe('parseSelftestStatus and combineWithStatus', () => {
  /** Lines that cannot start a "Self Tests" block. */
  const otherLines = noiseLines(4).map((ls) => ls.flatMap(lines).filter((l) => !/^\s*Self Tests\s*$/.test(l)));
  const blank = fc.array(fc.constantFrom('', ' ', '    ', '\t', ' \u00a0 '), { maxLength: 3 });

  it('never throws on any text; lists hold single words', () => {
    const piece = fc.constantFrom(
      'Self Tests',
      '==========',
      '=',
      'Last execution: ',
      'Succeeded:',
      'Failed:',
      'none',
      '  - ',
      '- ',
      'datadog_agent_cws_self_test_rule_open',
      ' ',
      '\n',
      '\r\n',
      '\t',
      '\0',
    );
    check(
      fc.property(
        fc.oneof(
          anyText(500),
          fc.array(fc.oneof({ weight: 4, arbitrary: piece }, { weight: 1, arbitrary: anyText(20) }), { maxLength: 40 }).map((p) => p.join('')),
        ),
        (text) => {
          const s = parseSelftestStatus(text);
          if (!s) return;
          for (const t of [...s.succeeded, ...s.failed]) {
            expect(t.length).toBeGreaterThan(0);
            expect(t).toBe(t.trim());
          }
        },
      ),
      3000,
    );
  });

  it('the real status output gives the same block inside other sections, with blank lines in it, with CRLF', () => {
    check(
      fc.property(fc.constantFrom(...statusFixtures), otherLines, anyText(200), blank, fc.nat(), newline, (text, before, after, blanks, at, nl) => {
        const want = parseSelftestStatus(text);
        const ls = lines(text);
        const start = ls.findIndex((l) => /^\s*Self Tests\s*$/.test(l));
        const end = ls.findIndex((l, i) => i > start + 1 && /^\s*=+\s*$/.test(l));
        // blank lines anywhere inside the block, other sections before it, anything after its end
        const inside = start + 2 + (at % (end - start - 2));
        const edited = [...before, ...ls.slice(0, inside), ...blanks, ...ls.slice(inside, end + 1), after];
        expect(parseSelftestStatus(edited.join(nl))).toEqual(want);
      }),
      2000,
    );
  });

  it('combineWithStatus never loses a failing test, and never turns an error into a pass', () => {
    const verdict = fc.record({
      status: fc.constantFrom('ok', 'failed', 'error') as fc.Arbitrary<SelftestVerdict['status']>,
      failedTests: fc.array(fc.string()),
      message: fc.string(),
    });
    const status = fc.option(
      fc.record(
        { lastExecution: fc.option(fc.string(), { nil: undefined }), succeeded: fc.array(fc.string()), failed: fc.array(fc.string()) },
        { requiredKeys: ['succeeded', 'failed'] },
      ),
      { nil: undefined },
    );
    check(
      fc.property(verdict, status, (v, s) => {
        const c = combineWithStatus(v, s);
        if (v.status === 'error' || !s || s.failed.length === 0) {
          expect(c).toBe(v);
          return;
        }
        expect(c.status).toBe('failed');
        for (const t of [...v.failedTests, ...s.failed]) expect(c.failedTests).toContain(t);
      }),
      2000,
    );
  });

  it('answers in linear time on huge lines', () => {
    check(
      fc.property(hugeLine(['Failed: ', 'Succeeded: ', 'Last execution: ', '  - ']), (line) => {
        linearTime(() => parseSelftestStatus(`  Self Tests\n  ==========\n${line.text}\n    Failed:\n      - x\n`));
      }),
      40,
      noShrink,
    );
  });
});
