import { directExec } from './support.ts';
import { describe, expect, it } from 'vitest';
import { agentVersionOf, rfc822, selfTestsBlock } from '../../src/sim/agent-status-text.ts';
import { ExecRegistry } from '../../src/sim/exec-registry.ts';
import { exitStatus, kubeletExecURL, kubeletUnreachable, startFailure } from '../../src/sim/exec-status.ts';
import { registerAgentCommands } from '../../src/sim/exec.ts';
import { parseSelftestStatus } from '../../src/core/selftest/status.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { ClusterState } from '../../src/sim/state.ts';

const ARGV = ['security-agent', 'runtime', 'self-test'];

describe('exec status frames (what the kubelet / API server write on channel 3)', () => {
  it('success and non-zero exit over v4 (kubelet) and v5 (API server translator)', () => {
    expect(exitStatus(0, ARGV, 'v5.channel.k8s.io', 'containerd')).toEqual({ metadata: {}, status: 'Success' });
    expect(exitStatus(255, ARGV, 'v4.channel.k8s.io', 'containerd')).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [security-agent runtime self-test], exit code 255',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '255' }] },
    });
    expect(exitStatus(255, ARGV, 'v5.channel.k8s.io', 'containerd').message).toBe(
      'command terminated with non-zero exit code: command terminated with exit code 255',
    );
    expect(exitStatus(126, ['x'], 'v4.channel.k8s.io', 'cri-dockerd').message).toBe(
      'command terminated with non-zero exit code: Error executing in Docker Container: 126',
    );
  });

  it('a missing binary: containerd InternalError (wrapped twice over v5), cri-dockerd exit 126', () => {
    const v4 = startFailure(['ls'], 'abc', 'v4.channel.k8s.io', 'containerd');
    expect(v4).toEqual({
      kind: 'status',
      frame: {
        metadata: {},
        status: 'Failure',
        message:
          'Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "abc": OCI runtime exec failed: exec failed: unable to start container process: exec: "ls": executable file not found in $PATH: unknown',
        reason: 'InternalError',
        details: { causes: [{ message: expect.stringMatching(/^error executing command in container: /) }] },
        code: 500,
      },
    });
    const v5 = startFailure(['/bin/x'], 'abc', 'v5.channel.k8s.io', 'containerd');
    expect(v5.kind === 'status' && v5.frame.message).toMatch(
      /^Internal error occurred: Internal error occurred: error executing command in container: .*exec: "\/bin\/x": stat \/bin\/x: no such file or directory: unknown$/,
    );
    expect(startFailure(['ls'], 'abc', 'v5.channel.k8s.io', 'cri-dockerd')).toEqual({
      kind: 'exit',
      stdout: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "ls": executable file not found in $PATH: unknown\r\n',
      exitCode: 126,
    });
  });

  it('an unreachable kubelet', () => {
    const url = kubeletExecURL('10.0.0.21', 'datadog', 'p', 'security-agent', ARGV, { stdin: false, stdout: true, stderr: true, tty: false });
    expect(url).toBe('https://10.0.0.21:10250/exec/datadog/p/security-agent?command=security-agent&command=runtime&command=self-test&error=1&output=1');
    const r = kubeletUnreachable('10.0.0.21', url);
    expect(r.beforeUpgrade).toBe('error dialing backend: dial tcp 10.0.0.21:10250: connect: connection refused');
    expect(r.frame).toMatchObject({
      reason: 'InternalError',
      code: 500,
      message: `Internal error occurred: error sending request: Post "${url}": dial tcp 10.0.0.21:10250: connect: connection refused`,
    });
  });
});

describe('security-agent status text', () => {
  it('has the template’s Self Tests block, exactly', () => {
    const at = new Date(Date.UTC(2026, 10, 27, 7, 14, 59));
    expect(rfc822(at)).toBe('27 Nov 26 07:14 UTC');
    expect(selfTestsBlock(at, [])).toBe(
      [
        '  Self Tests',
        '  ==========',
        '',
        '    Last execution: 27 Nov 26 07:14 UTC',
        '    ',
        '    Succeeded:',
        '      - datadog_agent_cws_self_test_rule_open',
        '      - datadog_agent_cws_self_test_rule_chmod',
        '      - datadog_agent_cws_self_test_rule_chown',
        '    ',
        '    Failed: none',
      ].join('\n'),
    );
    const failed = selfTestsBlock(at, ['datadog_agent_cws_self_test_rule_chmod']);
    expect(failed).toContain(
      '    Succeeded:\n      - datadog_agent_cws_self_test_rule_open\n      - datadog_agent_cws_self_test_rule_chown\n    \n    Failed:\n      - datadog_agent_cws_self_test_rule_chmod',
    );
    const all = selfTestsBlock(at, [
      'datadog_agent_cws_self_test_rule_open',
      'datadog_agent_cws_self_test_rule_chmod',
      'datadog_agent_cws_self_test_rule_chown',
    ]);
    expect(all).toContain('    Succeeded: none\n    \n    Failed:\n      - datadog_agent_cws_self_test_rule_open');
  });

  it('reads the version off the image tag', () => {
    expect(agentVersionOf('gcr.io/datadoghq/agent:7.50.3')).toBe('7.50.3');
    expect(agentVersionOf('gcr.io/datadoghq/agent:7.40.0-rc.1')).toBe('7.40.0-rc.1');
    expect(agentVersionOf('datadog/agent:7.50.3-jmx')).toBe('7.50.3');
    expect(agentVersionOf('registry:5000/agent@sha256:abc')).toBe('unknown');
  });
});

describe('agent commands in the exec registry', () => {
  const state = new ClusterState(
    parseFleet(
      'name: t\nnodes: { count: 2, overrides: { node-2: { selftest: { failedTests: [datadog_agent_cws_self_test_rule_chown], latencyMs: 5 } } } }',
      't',
    ),
  );
  registerAgentCommands(state.exec, state.fleet.agent);
  const pod1 = state.agentPod('node-1')!;

  async function run(node: string, container: string, argv: string[], signal = new AbortController().signal) {
    const handler = state.exec.resolve(container, argv, state.agentPod(node)!);
    if (!handler) return undefined;
    const { ctx, output } = directExec(state, node, container, argv, signal);
    const code = await handler(ctx);
    return { code, ...output() };
  }

  it('runs each binary only in its own container', () => {
    expect(state.exec.resolve('security-agent', ARGV, pod1)).toBeDefined();
    expect(state.exec.resolve('security-agent', ['/opt/datadog-agent/embedded/bin/security-agent', 'runtime', 'self-test'], pod1)).toBeDefined();
    expect(state.exec.resolve('system-probe', ['system-probe', 'runtime', 'self-test'], pod1)).toBeDefined();
    expect(state.exec.resolve('system-probe', ARGV, pod1)).toBeUndefined();
    expect(state.exec.resolve('security-agent', ['tcpdump'], pod1)).toBeUndefined();
    expect(state.exec.resolve('security-agent', ['security-agent', 'flare', '-e', 'a@b.co'], pod1)).toBeDefined();
    expect(state.exec.resolve('system-probe', ['security-agent', 'flare'], pod1)).toBeUndefined();
    expect(state.exec.resolve('system-probe', ['ls', '/tmp'], pod1)).toBeUndefined();
    // the image's OS tools are in both containers (what they can see differs: netfacts.test.ts)
    for (const c of ['security-agent', 'system-probe']) {
      expect(state.exec.resolve(c, ['cat', '/tmp/x'], pod1)).toBeDefined();
      expect(state.exec.resolve(c, ['tc', 'filter', 'show'], pod1)).toBeDefined();
      expect(state.exec.resolve(c, ['/usr/bin/nsenter', '--net=/host/proc/1/ns/net', 'tc'], pod1)).toBeDefined();
    }
  });

  it('self-test and status follow the node’s behaviour; status parses with the bot’s own parser', async () => {
    expect(await run('node-1', 'security-agent', ARGV)).toEqual({ code: 0, stdout: 'Runtime self test: OK\n', stderr: '' });
    const status = await run('node-2', 'security-agent', ['security-agent', 'status']);
    expect(status!.code).toBe(0);
    expect(parseSelftestStatus(status!.stdout)).toMatchObject({
      succeeded: ['datadog_agent_cws_self_test_rule_open', 'datadog_agent_cws_self_test_rule_chmod'],
      failed: ['datadog_agent_cws_self_test_rule_chown'],
    });
    expect(status!.stdout).toContain('Security Agent (v7.50.3)');
  });

  it('answers unknown subcommands as the agent CLI does', async () => {
    expect(await run('node-1', 'security-agent', ['security-agent', 'frobnicate'])).toEqual({
      code: 255,
      stdout: '',
      stderr: 'Error: unknown command "frobnicate" for "security-agent"\n',
    });
    expect(await run('node-1', 'security-agent', ['security-agent', 'runtime', 'nope'])).toMatchObject({
      code: 255,
      stderr: 'Error: unknown command "nope" for "security-agent runtime"\n',
    });
    expect((await run('node-1', 'system-probe', ['system-probe']))!.code).toBe(0);
  });

  it('a latency is cancelled by the session ending', async () => {
    const ac = new AbortController();
    const p = run('node-2', 'security-agent', ARGV, ac.signal);
    ac.abort(new Error('gone'));
    await expect(p).rejects.toThrow();
  });

  it('later registrations and longer prefixes win', async () => {
    const remove = state.exec.register({ containers: '*', argv: ['security-agent', 'runtime', 'self-test'], handler: () => 7 });
    expect((await run('node-1', 'security-agent', ARGV))!.code).toBe(7);
    remove();
    expect((await run('node-1', 'security-agent', ARGV))!.code).toBe(0);
    expect(() => new ExecRegistry().register({ containers: '*', argv: [], handler: () => 0 })).toThrow();
  });
});
