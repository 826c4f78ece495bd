/**
 * The simulator's `/bin/sh` (src/sim/shell.ts) against the real dash on this machine (Debian's
 * essential `dash`, the same shell the agent's Ubuntu image has): every script that uses only
 * builtins must give the same stdout, stderr and exit code. Then what only the simulator can run:
 * the agent's binaries through it, and what it refuses.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { registerAgentCommands } from '../../src/sim/exec.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { runShell } from '../../src/sim/shell.ts';
import { ClusterState } from '../../src/sim/state.ts';
import { chainScript, splitChainOutput } from '../../workers/targets/chain.ts';
import { directExec } from './support.ts';

const DASH = '/usr/bin/dash';

function dash(script: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // argv0 /bin/sh: dash names itself by argv[0] in its messages, as in the image.
    const p = spawn(DASH, ['-c', script, ...extra], { argv0: '/bin/sh', env: { PATH: '/nonexistent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function fleetState(yaml = '') {
  const state = new ClusterState(
    parseFleet(`name: t\n${yaml}nodes: { count: 2, overrides: { node-2: { selftest: { failedTests: [datadog_agent_cws_self_test_rule_chown] } } } }`, 't'),
  );
  registerAgentCommands(state.exec, state.fleet.agent);
  return state;
}
const state = fleetState();

async function sim(argv: string[], node = 'node-1', container = 'security-agent', s = state, signal = new AbortController().signal) {
  const { ctx, output } = directExec(s, node, container, argv, signal);
  const code = await runShell(ctx);
  return { code, ...output() };
}

const SCRIPTS: [string, string[]?][] = [
  ['true; rc=$?; echo "@@m $rc"; echo "@@m $rc" >&2; [ "$rc" -eq 0 ] || exit "$rc"; echo after'],
  ['false; rc=$?; echo "@@m $rc"; echo "@@m $rc" >&2; [ "$rc" -eq 0 ] || exit "$rc"; echo never'],
  ['false; echo $?; true; echo $?'],
  ['nosuchcmd; echo $?'],
  ['nosuchcmd arg'],
  ['exec nosuchcmd'],
  ['exec nosuchcmd; echo unreachable'],
  ['true\nnosuch\necho three'],
  ['echo a; )'],
  ['echo a\n)'],
  ['echo a && ;'],
  ['; echo a'],
  ['&& echo a'],
  ['echo a &&'],
  ['echo a ||\n echo b'],
  ['x=1; echo "$x ${x} $0 $1-$2" $3', ['zz', 'yy']],
  ['x=" a  b "; echo [$x] "[$x]" [$nope] "[$nope]"'],
  ['x=1 y=2; echo $x$y'],
  ['[ "" -eq 0 ]'],
  ['[ a'],
  ['[ a b ]'],
  ['[ a b c ]'],
  ['[ 1 -eq ]'],
  ['test 1 -eq'],
  ['[ a = ]'],
  ['[ ]; echo $?; [ a ]; echo $?; [ -n "" ]; echo $?; [ -z "" ]; echo $?'],
  ['[ 1 -lt 2 ] && echo lt; [ 2 -le 2 ] && echo le; [ 3 -gt 2 ] && echo gt; [ 2 -ge 3 ] || echo notge; [ 1 -ne 1 ] || echo eq'],
  ['[ ! a = b ] && echo ne; [ a != a ] || echo same; test x = x && echo test'],
  ['[ x -eq 1 ]; echo $?'],
  ['exit 300'],
  ['exit x'],
  ['exit 1 2'],
  ['false; exit'],
  ['exit 3; echo never'],
  ['echo \'single $x "\' "dq \\$x \\" \\\\ \\a" a\\ b'],
  ['# comment\necho c # trailing\n'],
  ['echo -n x; echo y'],
  ['echo "a\\tb\\nc"; echo "cut\\chere"; echo done'],
  ['>&2 echo hi; echo there 1>&2; echo out'],
  ['echo "unterminated'],
  ["echo 'unterminated"],
  ['echo ${x'],
  ['echo a;; echo b'],
  ['echo "multi\nline"; nosuch'],
  ['echo one \\\n two; nosuch'],
  ["echo 'a\nb' && nosuch"],
  ['echo x &&\n\n nosuch\nnosuch2'],
  ['true ||\n)'],
  [': ; true && false || echo fallback; echo $?'],
  [''],
  ['\n\n'],
  ['echo $ "$" a$'],
];

describe('the simulator’s sh answers as dash does', () => {
  for (const [script, extra] of SCRIPTS) {
    it(JSON.stringify(script), async () => {
      const real = await dash(script, extra);
      const ours = await sim(['/bin/sh', '-c', script, ...(extra ?? [])]);
      expect(ours).toEqual(real);
    });
  }
});

describe('the simulator’s sh runs the container’s binaries', () => {
  const selftest = ['security-agent', 'runtime', 'self-test'];
  const status = ['security-agent', 'status'];

  it('a chained self-test and status give what two exec sessions give', async () => {
    for (const node of ['node-1', 'node-2']) {
      const r = await sim(['/bin/sh', '-c', chainScript([selftest, status])], node);
      const split = splitChainOutput({ stdout: r.stdout, stderr: r.stderr, exitCode: r.code }, 2);
      expect(split.complete).toBe(true);
      const one = await sim(['/bin/sh', '-c', `exec ${selftest.join(' ')}`], node);
      const two = await sim(['/bin/sh', '-c', `exec ${status.join(' ')}`], node);
      expect(split.results[0]).toEqual({ stdout: one.stdout, stderr: one.stderr, exitCode: one.code });
      // the status text carries the time it was rendered at: compare its shape
      expect(split.results[1]!.exitCode).toBe(two.code);
      expect(split.results[1]!.stdout.replace(/\d/g, '0')).toBe(two.stdout.replace(/\d/g, '0'));
    }
  });

  it('a binary of another container is not found, as PATH lookup would not find it', async () => {
    expect(await sim(['/bin/sh', '-c', 'exec system-probe runtime self-test'])).toEqual({
      code: 127,
      stdout: '',
      stderr: '/bin/sh: 1: exec: system-probe: not found\n',
    });
    expect((await sim(['sh', '-c', 'system-probe runtime self-test'], 'node-1', 'system-probe')).stdout).toBe('Runtime self test: OK\n');
  });

  it('>&2 sends a binary’s stdout to stderr', async () => {
    expect(await sim(['/bin/sh', '-c', 'security-agent runtime self-test >&2'])).toEqual({ code: 0, stdout: '', stderr: 'Runtime self test: OK\n' });
  });

  it('refuses, loudly, what it does not model', async () => {
    for (const [script, what] of [
      ['security-agent status | grep x', 'pipelines'],
      ['sleep 1 &', 'background jobs'],
      ['echo $(id)', 'command substitution'],
      ['echo `id`', 'command substitution'],
      ['cat < /etc/passwd', 'the redirection <'],
      ['echo x > /tmp/f', 'the redirection >'],
      ['echo x 2>&1', 'the redirection 2>&1'],
      ['if true; then echo y; fi', 'the compound command "if"'],
      ['ls /tmp/*', 'pathname expansion'],
      ['FOO=1 security-agent status', 'assignments before a command'],
      ['echo ${x:-y}', 'parameter expansion'],
      ['echo $#', 'special parameter'],
    ] as const) {
      const r = await sim(['/bin/sh', '-c', script]);
      expect(r.code, script).toBe(2);
      expect(r.stderr, script).toContain(`simulator sh: ${what}`);
    }
    expect(await sim(['/bin/sh'])).toMatchObject({ code: 2, stderr: expect.stringContaining('only `sh -c SCRIPT`') });
    expect(await sim(['sh', '-c'])).toEqual({ code: 2, stdout: '', stderr: 'sh: 0: -c requires an argument\n' });
  });

  it('stops when the session ends', async () => {
    const ac = new AbortController();
    const p = sim(['/bin/sh', '-c', 'security-agent runtime self-test; echo after'], 'node-1', 'security-agent', state, ac.signal);
    ac.abort(new Error('gone'));
    await expect(p).rejects.toThrow();
  });

  it('is absent from an image the fleet says has none, and only from that image', () => {
    const s = fleetState('agent: { shell: false }\n');
    const pod = s.agentPod('node-1')!;
    expect(s.exec.resolve('security-agent', ['/bin/sh', '-c', 'true'], pod)).toBeUndefined();
    expect(s.exec.resolve('security-agent', ['security-agent', 'status'], pod)).toBeDefined();
    const other = { ...pod, spec: { ...pod.spec, containers: pod.spec.containers.map((c) => ({ ...c, image: 'gcr.io/datadoghq/agent:7.60.0' })) } };
    expect(s.exec.resolve('security-agent', ['/bin/sh', '-c', 'true'], other)).toBeDefined();
    expect(state.exec.resolve('security-agent', ['/bin/sh', '-c', 'true'], state.agentPod('node-1')!)).toBeDefined();
  });
});
