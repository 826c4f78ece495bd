import type { ExecResult } from './types.ts';

/**
 * Several agent commands in one exec session, through the container's `/bin/sh` (the agent image is
 * `FROM ubuntu`, Dockerfiles/agent/Dockerfile: dash; test/fixtures/selftest/SOURCES.md §5.4). Each exec
 * session costs a TLS handshake and a WebSocket upgrade at the API server; a self-test that must read
 * `security-agent status` after it (src/core/selftest/version.ts) costs one session instead of two.
 *
 * The script is built here from fixed argv words, never from input: every word must be plain
 * (`SAFE_WORD`), so nothing in it needs quoting. After each command but the last, a marker line with
 * its exit code goes to stdout and stderr, which splits the two streams per command; a command that
 * exits non-zero ends the chain with its code (the next command is not run), the last one is `exec`ed.
 * A first line, `CHAIN_START`, says the shell is running: a target learns that its image has one as soon
 * as the session starts, not when the first command ends.
 */
export const CHAIN_MARKER = '@@cws-chatops-exit';
export const CHAIN_START = '@@cws-chatops-shell';
const SAFE_WORD = /^[A-Za-z0-9_./=:-]+$/;

export function chainScript(commands: readonly (readonly string[])[]): string {
  if (commands.length < 2) throw new Error('a chain needs at least two commands');
  for (const argv of commands) {
    if (argv.length === 0) throw new Error('an empty command in a chain');
    const bad = argv.find((w) => !SAFE_WORD.test(w));
    if (bad !== undefined) throw new Error(`not a plain word for a chained command: ${JSON.stringify(bad)}`);
  }
  const head = commands
    .slice(0, -1)
    .map((argv) => `${argv.join(' ')}; rc=$?; echo "${CHAIN_MARKER} $rc"; echo "${CHAIN_MARKER} $rc" >&2; [ "$rc" -eq 0 ] || exit "$rc"`);
  return [`echo ${CHAIN_START}`, ...head, `exec ${commands.at(-1)!.join(' ')}`].join('; ');
}

/**
 * Splits the chain's output into each command's result: the commands that finished, in order (fewer
 * than asked when one exited non-zero, or the session ended early: `complete` false; none when the
 * shell never started). `exitCode` is the
 * session's, the last command's when it ran.
 */
export function splitChainOutput(out: { stdout: string; stderr: string; exitCode?: number }, commands: number): { results: ExecResult[]; complete: boolean } {
  const results: ExecResult[] = [];
  if (!out.stdout.startsWith(`${CHAIN_START}\n`)) return { results, complete: false };
  let stdout = out.stdout.slice(CHAIN_START.length + 1);
  let stderr = out.stderr;
  for (let i = 0; i < commands - 1; i++) {
    const o = cut(stdout);
    const e = cut(stderr);
    if (!o) return { results, complete: false };
    results.push({ stdout: o.before, stderr: e ? e.before : stderr, exitCode: o.code });
    if (o.code !== 0) return { results, complete: true };
    stdout = o.after;
    stderr = e ? e.after : '';
  }
  if (out.exitCode === undefined) return { results, complete: false };
  results.push({ stdout, stderr, exitCode: out.exitCode });
  return { results, complete: true };
}

const MARKER_LINE = new RegExp(`${CHAIN_MARKER} (\\d{1,3})\\n`);

function cut(s: string): { before: string; code: number; after: string } | undefined {
  const m = MARKER_LINE.exec(s);
  if (!m) return undefined;
  return { before: s.slice(0, m.index), code: Number(m[1]), after: s.slice(m.index + m[0].length) };
}

/** The same target without chains (a cluster's `selftest.shell: false`): its commands run one session each. */
export function withoutChains<T extends { execChain?: unknown }>(target: T): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'execChain') return undefined;
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}
