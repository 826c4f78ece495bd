import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { combineWithStatus, parseSelftestStatus } from '../../src/core/selftest/status.ts';
import { parseSelftestOutput } from '../../src/core/selftest/verdict.ts';

const dir = join(import.meta.dirname, '../fixtures/selftest');
interface Fixture {
  exitCode: number;
  expect: { status: string; failedTests: string[]; messageContains?: string };
  source: string;
}
const load = (name: string) => ({
  stdout: readFileSync(join(dir, `${name}.stdout`), 'utf8'),
  stderr: readFileSync(join(dir, `${name}.stderr`), 'utf8'),
  meta: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Fixture,
});
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && !f.startsWith('status-'))
  .map((f) => f.replace(/\.json$/, ''));

describe('parseSelftestOutput against outputs of the real agent (test/fixtures/selftest/SOURCES.md)', () => {
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  it.each(cases)('%s', (name) => {
    const { stdout, stderr, meta } = load(name);
    const v = parseSelftestOutput({ stdout, stderr, exitCode: meta.exitCode });
    expect(v.status).toBe(meta.expect.status);
    expect(v.failedTests).toEqual(meta.expect.failedTests);
    if (meta.expect.messageContains) expect(v.message).toContain(meta.expect.messageContains);
  });
});

describe('parseSelftestOutput edge cases', () => {
  it('never trusts exit code 0 alone', () => {
    expect(parseSelftestOutput({ stdout: 'Runtime self test: error: self-tests are disabled\n', stderr: '', exitCode: 0 }).status).toBe('error');
    expect(parseSelftestOutput({ stdout: '', stderr: '', exitCode: 0 })).toMatchObject({ status: 'error', message: /no self-test result/ });
  });
  it('names failing rule IDs when an older agent lists them', () => {
    const v = parseSelftestOutput({
      stdout: 'Runtime self test: error: failed to receive expected event: [datadog_agent_cws_self_test_rule_open datadog_agent_cws_self_test_rule_chmod]\n',
      stderr: '',
      exitCode: 0,
    });
    expect(v).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_open', 'datadog_agent_cws_self_test_rule_chmod'] });
  });
  it('the last result line wins over earlier log lines', () => {
    const v = parseSelftestOutput({ stdout: 'Runtime self test: error: a\nINFO something\nRuntime self test: OK\n', stderr: '', exitCode: 0 });
    expect(v.status).toBe('ok');
  });
  it('reports a missing binary (docker/kubectl exec of an image without security-agent)', () => {
    const v = parseSelftestOutput({
      stdout:
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "security-agent": executable file not found in $PATH: unknown\r\n',
      stderr: '',
      exitCode: 126,
    });
    expect(v).toMatchObject({ status: 'error', message: /agent binary not found/ });
  });
  it('reports an agent without the runtime subcommand', () => {
    const v = parseSelftestOutput({ stdout: '', stderr: 'Error: unknown command "runtime" for "security-agent"\n', exitCode: 1 });
    expect(v).toMatchObject({ status: 'error', message: /no runtime self-test/ });
  });
  it('reports sudo refusing to run without a password', () => {
    const v = parseSelftestOutput({ stdout: '', stderr: 'sudo: a password is required\n', exitCode: 1 });
    expect(v).toMatchObject({ status: 'error', message: /exited with code 1: sudo: a password is required/ });
  });
});

describe('the "Self Tests" block of security-agent status', () => {
  it('parses failed and succeeded tests', () => {
    const s = parseSelftestStatus(readFileSync(join(dir, 'status-failed.stdout'), 'utf8'));
    expect(s).toEqual({
      lastExecution: '14 Mar 25 10:02 UTC',
      succeeded: ['datadog_agent_cws_self_test_rule_open'],
      failed: ['datadog_agent_cws_self_test_rule_chmod', 'datadog_agent_cws_self_test_rule_chown'],
    });
  });
  it('parses "none"', () => {
    const s = parseSelftestStatus(readFileSync(join(dir, 'status-ok.stdout'), 'utf8'));
    expect(s?.failed).toEqual([]);
    expect(s?.succeeded.length).toBeGreaterThan(0);
  });
  it('is undefined without the block', () => expect(parseSelftestStatus('Agent (v7.50.3)\n')).toBeUndefined());
  it('turns a triggered OK into failed with the tests named', () => {
    const ok = parseSelftestOutput({ stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 });
    const v = combineWithStatus(ok, { lastExecution: 'x', succeeded: [], failed: ['datadog_agent_cws_self_test_rule_chmod'] });
    expect(v).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_chmod'], message: /status reports failing/ });
    expect(combineWithStatus(ok, undefined)).toBe(ok);
    expect(combineWithStatus(ok, { succeeded: ['a'], failed: [] })).toBe(ok);
  });
});

describe('huge lines are read in linear time (found by test/property)', () => {
  // Exec output is capped at 1 MiB, its lines are not: these took 12 s (200 KB) and would take
  // minutes at the cap, with the worker's event loop blocked the whole time.
  const within = (fn: () => unknown, ms = 1000) => {
    const t0 = performance.now();
    const r = fn();
    expect(performance.now() - t0).toBeLessThan(ms);
    return r;
  };
  const spaces = ' '.repeat(200_000);

  it('a result line with a long run of spaces', () => {
    expect(within(() => parseSelftestOutput({ stdout: `Runtime self test: error: a${spaces}b\n`, stderr: '', exitCode: 0 }))).toMatchObject({
      status: 'failed',
      message: `a${spaces}b`,
    });
    expect(within(() => parseSelftestOutput({ stdout: `Runtime self test: OK${spaces}\r`, stderr: '', exitCode: 0 }))).toMatchObject({ status: 'ok' });
  });
  it('a line repeating "no such file or directory"', () => {
    const v = within(() => parseSelftestOutput({ stdout: '', stderr: 'no such file or directory '.repeat(20_000), exitCode: 1 }));
    expect(v).toMatchObject({ status: 'error', message: /^exited with code 1/ });
    expect(
      parseSelftestOutput({ stdout: '', stderr: 'exec: no such file or directory: /opt/datadog-agent/bin/security-agent\n', exitCode: 1 }).message,
    ).toMatch(/agent binary not found/);
  });
  it('a status field with a long run of spaces', () => {
    const s = within(() => parseSelftestStatus(`  Self Tests\n  ==========\n    Failed: a${spaces}b\n    Last execution: now${spaces}\n`));
    expect(s).toEqual({ lastExecution: 'now', succeeded: [], failed: [`a${spaces}b`] });
  });
  it('reads a result line exactly as before: trimmed, and not when a line terminator is inside it', () => {
    expect(parseSelftestOutput({ stdout: 'Runtime self test:\tOK \u00a0', stderr: '', exitCode: 0 }).status).toBe('ok');
    expect(parseSelftestOutput({ stdout: 'Runtime self test: OK\rjunk', stderr: '', exitCode: 0 }).message).toMatch(/no self-test result/);
    expect(parseSelftestStatus('Self Tests\n===\nFailed: a\u2028b\n')).toEqual({ succeeded: [], failed: [] });
  });
});

describe('system-probe runtime self-test (issue 19): the same strings, the same verdicts (SOURCES.md §4.1)', () => {
  it('OK, a server-side error (exit 0) and the client-side Unavailable error (exit 255) read as for security-agent', () => {
    expect(parseSelftestOutput({ stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 })).toMatchObject({ status: 'ok' });
    expect(parseSelftestOutput({ stdout: 'Runtime self test: error: failed to receive expected event\n', stderr: '', exitCode: 0 })).toEqual({
      status: 'failed',
      failedTests: [],
      message: 'failed to receive expected event',
    });
    const unavailable = parseSelftestOutput({
      stdout: '',
      stderr:
        'Error: unable to get a process self test: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /opt/datadog-agent/run/runtime-security.sock: connect: no such file or directory"\n',
      exitCode: 255,
    });
    // the worker falls back from security-agent to system-probe on exactly this message
    expect(unavailable).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^system-probe unreachable: Error: unable to get a process self test/),
    });
    expect(
      parseSelftestOutput({
        stdout: '',
        stderr: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "system-probe": executable file not found in $PATH\n',
        exitCode: 127,
      }),
    ).toMatchObject({ status: 'error', message: expect.stringMatching(/^agent binary not found/) });
  });
});
