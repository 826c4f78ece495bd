/**
 * End to end, issue 19 point 1: the agent layout decides the commands, with no configuration.
 * sp-only.yaml (no security-agent container, direct send, node-4 failing): the self-test runs
 * `system-probe runtime self-test` in the system-probe container, the flare the core `agent flare`
 * in the `agent` container with the same review-before-upload promise. A fleet that keeps a
 * security-agent container in direct-send mode (its CLI cannot reach the module) falls back to
 * system-probe. Through the API simulator, the bot, BullMQ and the worker.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

interface Row {
  node: string;
  status: string;
  message: string;
}

const dir = mkdtempSync(join(tmpdir(), 'cws-layouts-e2e-'));
let sp: Simulator;
let ds: Simulator;
let h: Harness;

const flareStage = (c: string, stage: string) => (e: Harness['emu']) =>
  e.messages(c).find((m) => m.metadata?.event_type === 'cws_flare_result' && m.metadata.event_payload.stage === stage);
const footerText = (m: { blocks?: unknown[] }) => JSON.stringify(m.blocks ?? []);

beforeAll(async () => {
  sp = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sp-only.yaml')) });
  // Security-agent kept, direct send on: its CLI dials the default socket and gets Unavailable (SOURCES.md §4.2).
  ds = await startSimulator({
    fleet: parseFleet(
      [
        'name: ds-sa',
        'agent:',
        '  image: gcr.io/datadoghq/agent:7.77.0',
        '  containers: { agent: {}, security-agent: {}, system-probe: {} }',
        '  directSend: true',
        'nodes:',
        '  count: 3',
        '  overrides:',
        '    node-2:',
        '      selftest: { stdout: "Runtime self test: error: failed to receive expected event\\n" }',
        '',
      ].join('\n'),
      'direct-send fleet',
    ),
  });
  await sp.writeKubeconfig(join(dir, 'sp.kubeconfig'));
  await ds.writeKubeconfig(join(dir, 'ds.kubeconfig'));
  h = await startHarness({
    clustersYaml: `
clusters:
  sp-only:
    kind: kubernetes
    kubeconfig: ${join(dir, 'sp.kubeconfig')}
    context: ${sp.contextName}
    namespace: datadog
    selftest: { timeoutMs: 5000 }
  ds-sa:
    kind: kubernetes
    kubeconfig: ${join(dir, 'ds.kubeconfig')}
    context: ${ds.contextName}
    namespace: datadog
    selftest: { timeoutMs: 5000 }
`,
    minIntervalMs: 100,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await sp?.close();
  await ds?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a fleet without the security-agent container (sp-only.yaml)', () => {
  it('self-test: 5/6 OK through system-probe, node-4 failing and named', async () => {
    await h.signer.command('selftest sp-only', { channelId: 'CLAY1', userId: 'UTESTER1' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CLAY1'), { timeoutMs: 30_000 });
    expect(final.text).toBe('Self-test sp-only: 5/6 agents OK');
    const rows = final.metadata!.event_payload.results as Row[];
    expect(rows.filter((r) => r.status !== 'ok')).toEqual([
      expect.objectContaining({ node: 'node-4', status: 'failed', message: 'failed to receive expected event' }),
    ]);
    const text = footerText(final);
    expect(text).toContain('node-4');
    expect(text).toContain('via `system-probe runtime self-test`');
    expect(text).not.toContain('security-agent runtime self-test');
  });

  let review: NonNullable<ReturnType<ReturnType<typeof flareStage>>>;
  it('flare: the core agent’s `agent flare` in the agent container, held at its prompt for review', async () => {
    await h.signer.command('flare sp-only --node node-2 1234567 --email ops@example.com', { channelId: 'CLAY2', userId: 'UTESTER1' });
    review = await h.emu.waitFor(flareStage('CLAY2', 'review'), { timeoutMs: 30_000 });
    const p = review.metadata!.event_payload;
    expect(p).toMatchObject({ node: 'node-2', caseId: '1234567', findings: 0 });
    const archive = p.archive as { name: string; path?: string; bytes: number };
    const pod = sp.state.agentPod('node-2')!.metadata.name;
    // The archive is in the agent container's /tmp, and it is the one that was scanned.
    const file = sp.state.podFiles('datadog', pod, 'agent')!.read(`/tmp/${archive.name}`)!;
    expect(file.data.length).toBe(archive.bytes);
    expect(createHash('sha256').update(file.data).digest('hex')).toBe(String(p.sha256));
    expect(sp.state.flareUploads('node-2')).toHaveLength(0);
  });

  it('Send uploads exactly the reviewed archive (SHA-256 checked before `y`)', async () => {
    const p = review.metadata!.event_payload;
    await h.signer.action({ actionId: 'flare.send', value: String(p.jobId), userId: 'UTESTER1', channelId: 'CLAY2', messageTs: review.ts });
    const sent = await h.emu.waitFor(flareStage('CLAY2', 'sent'), { timeoutMs: 30_000 });
    expect(sent.metadata!.event_payload).toMatchObject({ node: 'node-2', caseId: '1234567' });
    const uploads = sp.state.flareUploads('node-2');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.sha256).toBe(String(p.sha256));
    expect(uploads[0]!.caseId).toBe('1234567');
    expect(uploads[0]!.path.endsWith((p.archive as { name: string }).name)).toBe(true);
  });

  it('Cancel answers no and removes the reviewed archive from the agent container', async () => {
    await h.signer.command('flare sp-only --node node-3 555 --email ops@example.com', { channelId: 'CLAY3', userId: 'UTESTER1' });
    const r = await h.emu.waitFor(flareStage('CLAY3', 'review'), { timeoutMs: 30_000 });
    const name = (r.metadata!.event_payload.archive as { name: string }).name;
    const pod = sp.state.agentPod('node-3')!.metadata.name;
    expect(sp.state.podFiles('datadog', pod, 'agent')!.read(`/tmp/${name}`)).toBeDefined();
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(r.metadata!.event_payload.jobId),
      userId: 'UTESTER1',
      channelId: 'CLAY3',
      messageTs: r.ts,
    });
    const done = await h.emu.waitFor(flareStage('CLAY3', 'cancelled'), { timeoutMs: 30_000 });
    expect(done.ts).toBe(r.ts);
    expect(sp.state.podFiles('datadog', pod, 'agent')!.read(`/tmp/${name}`)).toBeUndefined();
    expect(sp.state.flareUploads('node-3')).toHaveLength(0);
  });
});

describe('a security-agent container whose CLI cannot reach the module (direct send)', () => {
  it('falls back to system-probe runtime self-test: 2/3 OK, node-2 failing named', async () => {
    await h.signer.command('selftest ds-sa', { channelId: 'CLAY4', userId: 'UTESTER1' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CLAY4'), { timeoutMs: 30_000 });
    expect(final.text).toBe('Self-test ds-sa: 2/3 agents OK');
    const rows = final.metadata!.event_payload.results as Row[];
    expect(rows.filter((r) => r.status !== 'ok')).toEqual([expect.objectContaining({ node: 'node-2', status: 'failed' })]);
    expect(footerText(final)).toContain('via `system-probe runtime self-test`');
  });
});
