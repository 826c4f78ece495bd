/** `npm run sim`: the command line as a demo user meets it (real process, real signals). */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { within } from './support.ts';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'cws-sim-main-'));
const children: ChildProcess[] = [];

function sim(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run sim', () => {
  it('serves a fleet, writes its kubeconfig, and stops cleanly on SIGTERM', async () => {
    const kubeconfig = join(dir, 'out', 'small.kubeconfig');
    const s = sim(['--fleet', 'test/fixtures/fleets/small.yaml', '--kubeconfig', kubeconfig]);
    await within(
      new Promise<void>((resolve, reject) => {
        const check = () => (/kubeconfig: .*\n/.test(s.out()) ? resolve() : undefined);
        s.child.stdout!.on('data', check);
        s.exited.then((code) => reject(new Error(`exited ${code}: ${s.err()}`)));
      }),
      20_000,
      'the simulator to start',
    );
    const [first, second] = s.out().split('\n');
    expect(first).toMatch(/^Kubernetes API simulator for fleet "small" \(SIMULATED\) listening on https:\/\/127\.0\.0\.1:\d+$/);
    expect(second).toBe(`kubeconfig: ${kubeconfig}`);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    expect(kc.getCurrentContext()).toBe('small');
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'datadog' });
    expect(pods.items).toHaveLength(3);

    s.child.kill('SIGTERM');
    expect(await within(s.exited, 10_000, 'the simulator to stop')).toBe(0);
  });

  it('exits 2 with usage on bad flags', async () => {
    const unknown = sim(['--fleet', 'x.yaml', '--nodes', '3']);
    expect(await within(unknown.exited, 20_000, 'exit')).toBe(2);
    expect(unknown.err()).toContain("Unknown option '--nodes'");
    expect(unknown.err()).toContain('usage: npm run sim -- --fleet <fleet.yaml>');
    const none = sim([]);
    expect(await within(none.exited, 20_000, 'exit')).toBe(2);
    expect(none.err()).toContain('--fleet is required');
    const port = sim(['--fleet', 'test/fixtures/fleets/small.yaml', '--port', 'http']);
    expect(await within(port.exited, 20_000, 'exit')).toBe(2);
    expect(port.err()).toContain('--port must be a port number');
  });

  it('exits 2 naming the problem in a bad fleet file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nnodes:\n  count: 20\n  overrides:\n    node-7: { selftst: {} }\n');
    const s = sim(['--fleet', bad]);
    expect(await within(s.exited, 20_000, 'exit')).toBe(2);
    expect(s.err()).toBe(`${bad}: nodes.overrides.node-7.selftst: unknown key\n`);
    const missing = sim(['--fleet', join(dir, 'nope.yaml')]);
    expect(await within(missing.exited, 20_000, 'exit')).toBe(2);
    expect(missing.err()).toContain('cannot read the fleet file (ENOENT)');
    expect(existsSync(join(ROOT, '.sim', 'bad.kubeconfig'))).toBe(false);
  });
});
