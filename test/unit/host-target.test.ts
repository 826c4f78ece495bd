import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostCluster } from '../../src/config/clusters.ts';
import { AgentNotFoundError } from '../../workers/targets/errors.ts';
import { CORE_AGENT_PATH, HostTarget } from '../../workers/targets/host.ts';

/** Issue 19: the host target finds the core agent for its flare, and says before running anything when a program is missing. */
const dir = mkdtempSync(join(tmpdir(), 'cws-host-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const target = (binary: string, sudo = false) => new HostTarget(HostCluster.parse({ kind: 'host', binary, sudo }), 'this-host');

describe('HostTarget and the core agent', () => {
  it('`agent` is the package’s bin/agent/agent beside <root>/embedded/bin, an agent beside any other binary, else the package path', () => {
    expect(target('/opt/datadog-agent/embedded/bin/security-agent').resolve(['agent', 'flare'])).toEqual({ file: CORE_AGENT_PATH, args: ['flare'] });
    expect(target('/srv/dd/embedded/bin/security-agent').resolve(['agent', 'flare']).file).toBe('/srv/dd/bin/agent/agent');
    expect(target('/srv/dd/embedded/bin/security-agent', true).resolve(['agent', 'flare', '-e', 'a@b.c'])).toEqual({
      file: 'sudo',
      args: ['-n', '--', '/srv/dd/bin/agent/agent', 'flare', '-e', 'a@b.c'],
    });
    const beside = join(dir, 'beside');
    mkdirSync(beside);
    writeFileSync(join(beside, 'agent'), '#!/bin/sh\n');
    chmodSync(join(beside, 'agent'), 0o755);
    expect(target(join(beside, 'security-agent')).resolve(['agent', 'flare']).file).toBe(join(beside, 'agent'));
    expect(target(join(dir, 'nothing-here', 'security-agent')).resolve(['agent']).file).toBe(CORE_AGENT_PATH);
  });

  it('hasProgram says what is installed; other programs are still refused', () => {
    const t = target(join(dir, 'beside', 'security-agent'));
    expect(t.hasProgram('agent')).toBe(true);
    expect(t.hasProgram('security-agent')).toBe(false);
    expect(t.hasProgram('bash')).toBe(false);
    expect(() => t.resolve(['bash', '-c', 'id'])).toThrow(/only the agent binaries may run on the host/);
  });

  it('openSession of a program that is not installed is refused before anything runs (with sudo too), as AgentNotFoundError', async () => {
    for (const sudo of [false, true]) {
      const t = target(join(dir, 'beside', 'security-agent'), sudo);
      await expect(t.openSession({ node: 'this-host', pod: 'host' }, ['security-agent', 'flare'])).rejects.toBeInstanceOf(AgentNotFoundError);
      await expect(t.openSession({ node: 'this-host', pod: 'host' }, ['security-agent', 'flare'])).rejects.toThrow(
        `${join(dir, 'beside', 'security-agent')} not found on this-host`,
      );
    }
  });
});
