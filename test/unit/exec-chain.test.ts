import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type KubernetesClusterConfig, parseClustersFile } from '../../src/config/clusters.ts';
import { ExecFailedError } from '../../workers/targets/errors.ts';
import { KubernetesTarget } from '../../workers/targets/kubernetes.ts';
import type { AgentRef, ExecOptions, ExecResult } from '../../workers/targets/types.ts';
import { CHAIN_MARKER, CHAIN_START, chainScript, splitChainOutput, withoutChains } from '../../workers/targets/chain.ts';

const SELFTEST = ['security-agent', 'runtime', 'self-test'];
const STATUS = ['security-agent', 'status'];

describe('two agent commands in one exec session (workers/targets/chain.ts)', () => {
  it('builds a fixed script: a marker with the exit code on both streams, the next command only after exit 0, the last one exec-ed', () => {
    expect(chainScript([SELFTEST, STATUS])).toBe(
      `echo ${CHAIN_START}; security-agent runtime self-test; rc=$?; echo "${CHAIN_MARKER} $rc"; echo "${CHAIN_MARKER} $rc" >&2; [ "$rc" -eq 0 ] || exit "$rc"; exec security-agent status`,
    );
  });

  it('refuses any word that would need quoting, and chains of fewer than two commands', () => {
    for (const bad of ['a b', "it's", '$(id)', 'x;y', '`id`', '', 'a"b', 'a\nb'])
      expect(() => chainScript([[...SELFTEST, bad], STATUS]), JSON.stringify(bad)).toThrow(/plain word/);
    expect(() => chainScript([SELFTEST])).toThrow(/two commands/);
    expect(() => chainScript([[], STATUS])).toThrow(/empty/);
  });

  it('splits the streams per command at the markers', () => {
    const out = {
      stdout: `${CHAIN_START}\nRuntime self test: OK\n${CHAIN_MARKER} 0\nSelf Tests\n==========\n`,
      stderr: `a log line\n${CHAIN_MARKER} 0\nstatus warning\n`,
      exitCode: 3,
    };
    expect(splitChainOutput(out, 2)).toEqual({
      complete: true,
      results: [
        { stdout: 'Runtime self test: OK\n', stderr: 'a log line\n', exitCode: 0 },
        { stdout: 'Self Tests\n==========\n', stderr: 'status warning\n', exitCode: 3 },
      ],
    });
  });

  it('a first command that exits non-zero ends the chain with its own result', () => {
    const out = {
      stdout: `${CHAIN_START}\n${CHAIN_MARKER} 255\n`,
      stderr: `Error: unable to create a runtime security client instance\n${CHAIN_MARKER} 255\n`,
      exitCode: 255,
    };
    expect(splitChainOutput(out, 2)).toEqual({
      complete: true,
      results: [{ stdout: '', stderr: 'Error: unable to create a runtime security client instance\n', exitCode: 255 }],
    });
  });

  it('a session given up after the first marker keeps the first result; before it, nothing', () => {
    expect(splitChainOutput({ stdout: `${CHAIN_START}\nRuntime self test: OK\n${CHAIN_MARKER} 0\npartial sta`, stderr: `${CHAIN_MARKER} 0\n` }, 2)).toEqual({
      complete: false,
      results: [{ stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 }],
    });
    expect(splitChainOutput({ stdout: `${CHAIN_START}\nRuntime self te`, stderr: '' }, 2)).toEqual({ complete: false, results: [] });
    // no start line: the shell never ran (cri-dockerd prints the runtime's start error on stdout, exit 126)
    expect(splitChainOutput({ stdout: 'OCI runtime exec failed: exec failed: unable to start container process', stderr: '', exitCode: 126 }, 2)).toEqual({
      complete: false,
      results: [],
    });
  });

  it('the first marker splits: a later one in the status output belongs to the status', () => {
    const r = splitChainOutput({ stdout: `${CHAIN_START}\nOK\n${CHAIN_MARKER} 0\nx ${CHAIN_MARKER} 9\n`, stderr: `${CHAIN_MARKER} 0\n`, exitCode: 0 }, 2);
    expect(r.results[1]!.stdout).toBe(`x ${CHAIN_MARKER} 9\n`);
  });
});

describe('selftest.shell: false (withoutChains)', () => {
  it('hides execChain and keeps every other member, bound to the target', async () => {
    const target = {
      calls: 0,
      async exec() {
        this.calls++;
        return { stdout: '', stderr: '', exitCode: 0 };
      },
      async execChain() {
        return { results: [] };
      },
    };
    const t = withoutChains(target);
    expect(t.execChain).toBeUndefined();
    await t.exec();
    expect(target.calls).toBe(1);
    expect(withoutChains<{ exec: unknown; execChain?: unknown }>({ exec: target.exec }).execChain).toBeUndefined();
  });
});

describe('the first chain into an image probes for its shell (KubernetesTarget.execChain)', () => {
  const cfg = parseClustersFile('clusters:\n  t: { kind: kubernetes }\n').clusters.t as KubernetesClusterConfig;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const agent = (pod: string): AgentRef => ({ node: pod, pod, phase: 'Running', ready: true, image: 'example/agent:7.50.3' });
  const ok = (): ExecResult => ({ stdout: `${CHAIN_START}\nRuntime self test: OK\n${CHAIN_MARKER} 0\nstatus\n`, stderr: `${CHAIN_MARKER} 0\n`, exitCode: 0 });

  /** exec answered by `answer` per pod: a result (after its start line), or a promise the test settles. */
  class Scripted extends KubernetesTarget {
    calls: string[] = [];
    constructor(private readonly answer: (pod: string, onStdout?: (c: Buffer) => void) => Promise<ExecResult>) {
      super(cfg, kc);
    }
    override exec(a: AgentRef, _argv: string[], _o: ExecOptions, onStdout?: (c: Buffer) => void): Promise<ExecResult> {
      this.calls.push(a.pod);
      return this.answer(a.pod, onStdout);
    }
  }

  afterEach(() => vi.useRealTimers());

  it('the others wait for the probe’s shell to start, then run at once', async () => {
    let release!: () => void;
    const t = new Scripted((pod, onStdout) => {
      if (pod !== 'p0') return Promise.resolve(ok());
      onStdout?.(Buffer.from(`${CHAIN_START}\n`));
      return new Promise((r) => (release = () => r(ok())));
    });
    const first = t.execChain(agent('p0'), [SELFTEST, STATUS], { timeoutMs: 60_000 });
    const second = await t.execChain(agent('p1'), [SELFTEST, STATUS], { timeoutMs: 60_000 });
    expect(second?.results).toHaveLength(2);
    release();
    expect((await first)?.results).toHaveLength(2);
  });

  it('a probe whose session is slow to open holds the others up for 2 s at most', async () => {
    vi.useFakeTimers();
    let release!: () => void;
    const t = new Scripted((pod) => (pod === 'p0' ? new Promise((r) => (release = () => r(ok()))) : Promise.resolve(ok())));
    const first = t.execChain(agent('p0'), [SELFTEST, STATUS], { timeoutMs: 60_000 });
    let done = false;
    const second = t.execChain(agent('p1'), [SELFTEST, STATUS], { timeoutMs: 60_000 }).then((r) => ((done = true), r));
    await vi.advanceTimersByTimeAsync(1900);
    expect(done).toBe(false);
    expect(t.calls).toEqual(['p0']);
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toBe(true);
    expect((await second)?.results).toHaveLength(2);
    release();
    await first;
  });

  it('an image without a shell: found out once, the others fall back without a session of their own', async () => {
    const t = new Scripted(() =>
      Promise.reject(new ExecFailedError('exec in security-agent of pod p0 on p0 failed: exec: "/bin/sh": stat /bin/sh: no such file or directory')),
    );
    const all = await Promise.all(['p0', 'p1', 'p2'].map((p) => t.execChain(agent(p), [SELFTEST, STATUS], { timeoutMs: 60_000 })));
    expect(all).toEqual([undefined, undefined, undefined]);
    expect(t.calls).toEqual(['p0']);
  });
});
