import { describe, expect, it } from 'vitest';
import { agentVersionFromImage, formatVersion, okIsFinal, statusNeeded } from '../../src/core/selftest/version.ts';
import { runSelftestOnAgent } from '../../workers/jobs/selftest.ts';
import type { AgentRef, AgentTarget, ExecResult } from '../../workers/targets/types.ts';

describe('agentVersionFromImage', () => {
  it.each([
    ['gcr.io/datadoghq/agent:7.50.3', '7.50.3'],
    ['datadog/agent:7.39.1-jmx', '7.39.1'],
    ['public.ecr.aws/datadog/agent:7.34.0', '7.34.0'],
    ['registry.example.com:5000/mirror/datadog/agent:7.33.1', '7.33.1'],
    ['gcr.io/datadoghq/agent:7.52.0-rc.3-jmx', '7.52.0'],
    ['datadog/agent:6.34.1', '6.34.1'],
    ['docker.io/datadog/datadog-agent:7.30.0', '7.30.0'],
    ['gcr.io/datadoghq/agent:7.50.3@sha256:' + 'a'.repeat(64), '7.50.3'],
  ])('%s is %s', (image, version) => {
    const v = agentVersionFromImage(image);
    expect(v && formatVersion(v)).toBe(version);
  });

  it.each([
    [undefined],
    [''],
    ['gcr.io/datadoghq/agent'],
    ['gcr.io/datadoghq/agent:latest'],
    ['gcr.io/datadoghq/agent:7'],
    ['gcr.io/datadoghq/agent:7-jmx'],
    ['gcr.io/datadoghq/agent@sha256:' + 'b'.repeat(64)],
    ['registry.example.com:5000/agent'],
    // Someone else's numbering: not the agent's repository, or not an agent major.
    ['quay.io/cilium/cilium:v1.9.5'],
    ['mycorp/security:1.2.3'],
    ['datadog/agent:5.32.9'],
    ['datadog/agent:7.50'],
  ])('%s names no agent version', (image) => {
    expect(agentVersionFromImage(image)).toBeUndefined();
  });
});

describe('statusNeeded', () => {
  const v = (image: string) => agentVersionFromImage(image);
  it('never after an error verdict, whatever the version', () => {
    for (const image of ['datadog/agent:7.20.0', 'datadog/agent:7.50.3', 'datadog/agent:latest'])
      expect(statusNeeded(v(image), { status: 'error' })).toBe(false);
  });
  it('not after OK from a module-era agent (before 7.35 / 6.35): a failing test fails the command there', () => {
    expect(statusNeeded(v('datadog/agent:7.34.9'), { status: 'ok' })).toBe(false);
    expect(statusNeeded(v('datadog/agent:6.34.0'), { status: 'ok' })).toBe(false);
    expect(okIsFinal(v('datadog/agent:7.30.1'))).toBe(true);
  });
  it('after OK from 7.35 on, and from an agent of unknown version (treated as the newest)', () => {
    expect(statusNeeded(v('datadog/agent:7.35.0'), { status: 'ok' })).toBe(true);
    expect(statusNeeded(v('gcr.io/datadoghq/agent:7.50.3'), { status: 'ok' })).toBe(true);
    expect(statusNeeded(v('datadog/agent:6.35.0'), { status: 'ok' })).toBe(true);
    expect(statusNeeded(undefined, { status: 'ok' })).toBe(true);
  });
  it('after a failed verdict in every era: only status names the failing tests', () => {
    expect(statusNeeded(v('datadog/agent:7.30.0'), { status: 'failed' })).toBe(true);
    expect(statusNeeded(v('datadog/agent:7.50.3'), { status: 'failed' })).toBe(true);
  });
});

/** An in-memory AgentTarget that records the argv of every exec. */
function recordingTarget(answer: (argv: string[]) => ExecResult): AgentTarget & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    kind: 'kubernetes',
    description: 'memory',
    calls,
    listAgents: async () => [],
    async exec(_agent, argv) {
      calls.push(argv);
      return answer(argv);
    },
  };
}
const OK = { stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0 };
const FAILED_STATUS = {
  stdout: '  Self Tests\n  ==========\n    Last execution: now\n    Succeeded: none\n    Failed:\n      - datadog_agent_cws_self_test_rule_open\n',
  stderr: '',
  exitCode: 0,
};
const at = (image: string): AgentRef => ({ node: 'n1', pod: 'p1', image, containers: ['security-agent', 'system-probe'] });

describe('runSelftestOnAgent: one exec where the version makes the verdict final', () => {
  it('a module-era OK is one exec, and final', async () => {
    const t = recordingTarget((argv) => (argv[1] === 'status' ? FAILED_STATUS : OK));
    const r = await runSelftestOnAgent(t, at('gcr.io/datadoghq/agent:7.34.0'), undefined, 60_000);
    expect(r).toMatchObject({ status: 'ok', command: 'security-agent runtime self-test' });
    expect(t.calls).toEqual([['security-agent', 'runtime', 'self-test']]);
  });

  it('a later OK still reads status, which names the failing test it hid', async () => {
    const t = recordingTarget((argv) => (argv[1] === 'status' ? FAILED_STATUS : OK));
    const r = await runSelftestOnAgent(t, at('gcr.io/datadoghq/agent:7.50.3'), undefined, 60_000);
    expect(r).toMatchObject({ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_open'] });
    expect(t.calls).toEqual([
      ['security-agent', 'runtime', 'self-test'],
      ['security-agent', 'status'],
    ]);
  });

  it('an image with no version (latest) is treated as the newest: status is read', async () => {
    const t = recordingTarget((argv) => (argv[1] === 'status' ? FAILED_STATUS : OK));
    await runSelftestOnAgent(t, at('gcr.io/datadoghq/agent:latest'), undefined, 60_000);
    expect(t.calls).toHaveLength(2);
  });

  it('the version the target put on the AgentRef is used before the image', async () => {
    const t = recordingTarget((argv) => (argv[1] === 'status' ? FAILED_STATUS : OK));
    await runSelftestOnAgent(t, { ...at('gcr.io/datadoghq/agent:latest'), version: { major: 7, minor: 33, patch: 0 } }, undefined, 60_000);
    expect(t.calls).toHaveLength(1);
  });

  it('a module-era failure still reads status (to name the tests)', async () => {
    const t = recordingTarget((argv) =>
      argv[1] === 'status' ? FAILED_STATUS : { stdout: 'Runtime self test: error: failed to receive expected event\n', stderr: '', exitCode: 0 },
    );
    const r = await runSelftestOnAgent(t, at('datadog/agent:7.33.0'), undefined, 60_000);
    expect(r.status).toBe('failed');
    expect(t.calls).toHaveLength(2);
  });
});
