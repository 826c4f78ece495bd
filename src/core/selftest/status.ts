import type { SelftestVerdict } from './verdict.ts';

/**
 * The "Self Tests" block of `security-agent status` (pkg/status/templates/runtimesecurity.tmpl):
 *
 *     Self Tests
 *     ==========
 *       Last execution: 14 Mar 25 10:02 UTC
 *       Succeeded:            (or "Succeeded: none")
 *         - datadog_agent_cws_self_test_rule_open
 *       Failed:               (or "Failed: none")
 *         - datadog_agent_cws_self_test_rule_chmod
 *
 * In newer agents `Runtime self test: OK` only means the tests were triggered; this block is
 * where failing tests are named.
 */
export interface SelftestStatus {
  lastExecution?: string;
  succeeded: string[];
  failed: string[];
}

export function parseSelftestStatus(stdout: string): SelftestStatus | undefined {
  const lines = stdout.split(/\r?\n/);
  const start = lines.findIndex((l, i) => /^\s*Self Tests\s*$/.test(l) && /^\s*=+\s*$/.test(lines[i + 1] ?? ''));
  if (start < 0) return undefined;
  const out: SelftestStatus = { succeeded: [], failed: [] };
  let list: string[] | undefined;
  for (const line of lines.slice(start + 2)) {
    // The next section heading ends the block.
    if (/^\s*=+\s*$/.test(line)) break;
    const m = fieldOf(line);
    if (m) {
      const [key, rest] = m;
      if (key === 'Last execution') {
        out.lastExecution = rest;
        list = undefined;
      } else {
        list = key === 'Succeeded' ? out.succeeded : out.failed;
        if (rest && rest !== 'none') list.push(rest);
      }
      continue;
    }
    const item = /^\s*-\s+(\S+)\s*$/.exec(line);
    if (item && list) list.push(item[1]!);
    else if (line.trim() && !item) list = undefined;
  }
  return out;
}

/**
 * `Key: value` of the block, value trimmed. The same as /^\s*(Last execution|Succeeded|Failed):\s*(.*?)\s*$/
 * without its backtracking, which is quadratic on a long line (seconds for 200 KB of spaces).
 */
function fieldOf(line: string): [string, string] | undefined {
  const head = /^\s*(Last execution|Succeeded|Failed):/.exec(line);
  if (!head) return undefined;
  const value = line.slice(head[0].length).trim();
  return /[\n\r\u2028\u2029]/.test(value) ? undefined : [head[1]!, value]; // `.` stops at a line terminator
}

/**
 * Adds what `status` says to the self-test verdict: a triggered run whose status lists failed
 * tests is "failed" with those tests named. A missing block changes nothing.
 */
export function combineWithStatus(verdict: SelftestVerdict, status: SelftestStatus | undefined): SelftestVerdict {
  if (!status || status.failed.length === 0) return verdict;
  if (verdict.status === 'error') return verdict;
  const when = status.lastExecution ? ` (last execution ${status.lastExecution})` : '';
  const detail = verdict.status === 'failed' && verdict.message ? `${verdict.message}; ` : '';
  return {
    status: 'failed',
    failedTests: [...new Set([...verdict.failedTests, ...status.failed])],
    message: `${detail}security-agent status reports failing self-tests${when}`,
  };
}
