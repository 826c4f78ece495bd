import type { AgentStatus } from '../results.ts';

/**
 * Turns the output of `security-agent runtime self-test` (or `system-probe runtime self-test`)
 * into a verdict. The real CLI prints `Runtime self test: OK` or `Runtime self test: error: …`
 * and exits 0 in both cases; only client-side failures (system-probe unreachable) exit non-zero.
 * So the verdict comes from the output, never from the exit code alone. Strings: see
 * test/fixtures/selftest/SOURCES.md.
 */
export interface SelftestVerdict {
  status: Exclude<AgentStatus, 'timeout'>;
  failedTests: string[];
  message: string;
}

const RESULT_LINE = /^\s*Runtime self test:/;

/**
 * What follows `Runtime self test:` on a line, trimmed; undefined when the line is not a result line.
 * The same as matching /^\s*Runtime self test:\s*(.*?)\s*$/, without its backtracking: the lazy
 * group followed by \s*$ is quadratic on a long line (a 1 MiB line of spaces held the worker's
 * event loop for minutes).
 */
function resultOf(line: string): string | undefined {
  const m = RESULT_LINE.exec(line);
  if (!m) return undefined;
  const rest = line.slice(m[0].length).trim();
  return /[\n\r\u2028\u2029]/.test(rest) ? undefined : rest; // `.` stops at a line terminator
}
const TEST_ID = /\b((?:datadog_agent_cws_self_test_rule|self_test)_[a-z0-9_]+)\b/g;

/** Server-side messages that mean "the self-test could not run", not "a test failed". */
const COULD_NOT_RUN = [
  /self-tests? (?:is|are) disabled/i,
  /not supported/i,
  /already running/i,
  /runtime security is disabled|module is disabled|not enabled/i,
];

export function parseSelftestOutput(out: { stdout: string; stderr: string; exitCode: number }): SelftestVerdict {
  const lines = `${out.stdout}\n${out.stderr}`.split(/\r?\n/);
  let result: string | undefined;
  for (const line of lines) {
    const r = resultOf(line);
    if (r !== undefined) result = r;
  }

  if (result !== undefined) {
    if (/^OK\b/i.test(result)) return { status: 'ok', failedTests: [], message: 'Runtime self test: OK' };
    const detail = result.replace(/^error:\s*/i, '');
    const failedTests = uniq([...detail.matchAll(TEST_ID)].map((m) => m[1]!));
    if (COULD_NOT_RUN.some((re) => re.test(detail)) && failedTests.length === 0)
      return { status: 'error', failedTests: [], message: `self-test could not run: ${detail}` };
    return { status: 'failed', failedTests, message: detail || 'self-test reported an error' };
  }

  const text = `${out.stderr}\n${out.stdout}`;
  const errorLine = lines.map((l) => l.trim()).find((l) => /^Error:/.test(l));
  if (/executable file not found|not found in \$PATH|command not found/i.test(text) || noSuchAgentFile(text) || out.exitCode === 127)
    return { status: 'error', failedTests: [], message: `agent binary not found (${firstLine(errorLine ?? text)})` };
  if (/unable to create a runtime security client instance/i.test(text))
    return { status: 'error', failedTests: [], message: `system-probe unreachable: ${firstLine(errorLine ?? text)}` };
  if (/rpc error: code = (Unavailable|DeadlineExceeded)/.test(text))
    return { status: 'error', failedTests: [], message: `system-probe unreachable: ${firstLine(errorLine ?? text)}` };
  if (/unknown command|unknown flag/i.test(text))
    return { status: 'error', failedTests: [], message: `this agent version has no runtime self-test (${firstLine(errorLine ?? text)})` };
  if (errorLine) return { status: 'error', failedTests: [], message: errorLine };
  if (out.exitCode !== 0) return { status: 'error', failedTests: [], message: `exited with code ${out.exitCode}: ${firstLine(text) || 'no output'}` };
  return { status: 'error', failedTests: [], message: `no self-test result in the output: ${firstLine(text) || 'no output'}` };
}

/**
 * A line with "no such file or directory" and, after it, "security-agent": what
 * /no such file or directory.*security-agent/i matched, in linear time (that regex retries `.*`
 * from every occurrence of the phrase, quadratic on a line that repeats it).
 */
function noSuchAgentFile(text: string): boolean {
  for (const line of text.split(/[\n\r\u2028\u2029]/)) {
    const at = line.search(/no such file or directory/i);
    if (at >= 0 && /security-agent/i.test(line.slice(at + 'no such file or directory'.length))) return true;
  }
  return false;
}

const firstLine = (s: string) => {
  const line =
    s
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
};
const uniq = <T>(xs: T[]) => [...new Set(xs)];
