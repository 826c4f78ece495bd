/**
 * End to end, host target: signed `/cws selftest` → Bolt → BullMQ → worker → execFile of a
 * fake `security-agent` that prints the real agent's strings → Slack emulator.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_STREAM } from '../../src/bot/state/audit.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const FAKE = join(import.meta.dirname, '../support/fake-agent/security-agent');
const dirs: string[] = [];
function agentDir(mode: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cws-host-agent-'));
  copyFileSync(FAKE, join(dir, 'security-agent'));
  writeFileSync(join(dir, 'selftest-mode'), `${mode}\n`);
  dirs.push(dir);
  return join(dir, 'security-agent');
}

let h: Harness;
let channelSeq = 0;
const channel = () => `C${String(++channelSeq).padStart(6, '0')}`;

beforeAll(async () => {
  const yaml = `
clusters:
  host-ok: { kind: host, binary: ${agentDir('ok')} }
  host-failed: { kind: host, binary: ${agentDir('status-failed')} }
  host-legacy: { kind: host, binary: ${agentDir('failed-legacy')} }
  host-unreachable: { kind: host, binary: ${agentDir('unreachable')} }
  host-hang: { kind: host, binary: ${agentDir('hang')}, selftest: { timeoutMs: 1000 } }
  host-slow: { kind: host, binary: ${agentDir('slow')} }
  host-missing: { kind: host, binary: /nonexistent/opt/datadog-agent/embedded/bin/security-agent }
  host-private: { kind: host, binary: ${agentDir('ok')}, access: { run: [UALLOWED1] } }
  host-nobody: { kind: host, binary: ${agentDir('ok')}, access: { run: [] } }
  host-group: { kind: host, binary: ${agentDir('ok')}, access: { run: [S0ONCALL1] } }
`;
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 200 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(text: string, opts: { userId?: string } = {}) {
  const ch = channel();
  const res = await h.signer.command(text, { channelId: ch, userId: opts.userId ?? 'UTESTER1' });
  return { ch, res };
}

describe('/cws selftest on a host agent', () => {
  it('all OK: acked fast, queued message edited in place into the result with metadata', async () => {
    const { ch, res } = await run('selftest host-ok');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch));
    expect(h.emu.messages(ch)).toHaveLength(1); // one message, updated in place
    expect(final.updates).toBeGreaterThanOrEqual(1);
    expect(final.text).toBe('Self-test host-ok: 1/1 agents OK');
    expect(final.metadata!.event_payload).toMatchObject({
      cluster: 'host-ok',
      total: 1,
      ok: 1,
      failed: 0,
      results: [{ pod: 'host', status: 'ok', failedTests: [] }],
    });
    const posted = h.emu.callsTo('chat.postMessage').find((c) => c.args.channel === ch)!;
    expect(String(posted.args.text)).toMatch(/queued/);
  });

  it('failing tests are named (from the Self Tests block of security-agent status)', async () => {
    const { ch } = await run('selftest host-failed');
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch));
    expect(final.metadata!.event_payload).toMatchObject({
      ok: 0,
      failed: 1,
      results: [{ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_chmod', 'datadog_agent_cws_self_test_rule_chown'] }],
    });
    expect(JSON.stringify(final.blocks)).toContain('failing tests: `chmod`, `chown`'); // by what they test; full names in the metadata (issue 17)
  });

  it('a server-side failure with exit code 0 is still a failure', async () => {
    const { ch } = await run('selftest host-legacy');
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch));
    expect(final.metadata!.event_payload).toMatchObject({
      failed: 1,
      results: [{ status: 'failed', message: expect.stringContaining('failed to receive expected event') }],
    });
  });

  it('system-probe unreachable is an error with the agent’s message', async () => {
    const { ch } = await run('selftest host-unreachable');
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch));
    expect(final.metadata!.event_payload).toMatchObject({
      results: [{ status: 'error', message: expect.stringMatching(/system-probe unreachable.*code = Unavailable/) }],
    });
  });

  it('a hanging agent becomes a timeout verdict', async () => {
    const { ch } = await run('selftest host-hang');
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch), { timeoutMs: 15_000 });
    expect(final.metadata!.event_payload).toMatchObject({ results: [{ status: 'timeout', message: 'timed out after 1 s' }] });
  });

  it('a missing binary is an error saying where and what to check', async () => {
    const { ch } = await run('selftest host-missing');
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch));
    expect(final.metadata!.event_payload).toMatchObject({ results: [{ status: 'error', message: expect.stringMatching(/not found on .*binary/) }] });
  });

  it('unauthorised users get an ephemeral denial and nothing is queued', async () => {
    for (const cluster of ['host-private', 'host-nobody']) {
      const before = h.emu.calls.length;
      const { ch, res } = await run(`selftest ${cluster}`, { userId: 'UINTRUDER' });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/Not allowed/) });
      expect(h.emu.messages(ch)).toHaveLength(0);
      expect(h.emu.calls.slice(before).filter((c) => c.method === 'chat.postMessage')).toHaveLength(0);
    }
    const { ch } = await run('selftest host-private', { userId: 'UALLOWED1' });
    await h.emu.waitFor((e) => finalSelftest(e, ch));
  });

  it('access lists may name a Slack user group: its members may run, others may not', async () => {
    h.emu.usergroups.set('S0ONCALL1', ['UONCALL01']);
    const denied = await run('selftest host-group', { userId: 'UOUTSIDE1' });
    expect(denied.res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/Not allowed/) });
    const { ch } = await run('selftest host-group', { userId: 'UONCALL01' });
    await h.emu.waitFor((e) => finalSelftest(e, ch));
    expect(h.emu.callsTo('usergroups.users.list').length).toBe(1); // cached
  });

  it('bad input gets an ephemeral usage message, never an error page', async () => {
    for (const [text, re] of [
      ['selftest', /cluster name is required/],
      ['selftest Prod!', /not a valid cluster name/],
      ['bogus', /unknown subcommand/i],
      ['selftest nope', /Unknown cluster `?nope/],
      ['flare host-ok 12x', /digits only/],
    ] as const) {
      const { res } = await run(text);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(re) });
    }
  });

  it('help and clusters answer privately; clusters shows the online worker', async () => {
    const { res: help } = await run('help');
    expect(help.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/cws selftest <cluster>') });
    const { res: clusters } = await run('clusters');
    expect(clusters.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('host-ok') });
    expect(JSON.stringify((clusters.json as { blocks: unknown }).blocks)).toMatch(/host-ok\* \(host\) — :large_green_circle: 1 worker online/);
  });

  it('a second identical request while one runs attaches to the running job', async () => {
    const a = await run('selftest host-slow');
    await h.emu.waitFor((e) => e.messages(a.ch).length === 1 || undefined);
    const b = await run('selftest host-slow');
    const fa = await h.emu.waitFor((e) => finalSelftest(e, a.ch), { timeoutMs: 15_000 });
    const fb = await h.emu.waitFor((e) => finalSelftest(e, b.ch), { timeoutMs: 15_000 });
    expect(fb.metadata!.event_payload.jobId).toBe(fa.metadata!.event_payload.jobId);
    const queuedB = h.emu.callsTo('chat.postMessage').find((c) => c.args.channel === b.ch)!;
    expect(String(queuedB.args.text)).toMatch(/already running/);
  });

  it('Slack answering 429 mid-job delays the result but does not lose it', async () => {
    h.emu.failNext('chat.update', { status: 429, retryAfterSec: 1 }, 2);
    const { ch } = await run('selftest host-ok');
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch), { timeoutMs: 15_000 });
    expect(final.metadata!.event_payload).toMatchObject({ ok: 1 });
    expect(h.emu.calls.filter((c) => c.method === 'chat.update' && c.status === 429)).toHaveLength(2);
  });

  it('Re-run: the button is authorised again and re-runs what the stored job asked', async () => {
    const { ch } = await run('selftest host-private', { userId: 'UALLOWED1' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, ch));
    const jobId = String(final.metadata!.event_payload.jobId);
    // Someone without access clicks it: refused.
    const denied = await h.signer.action({ actionId: 'selftest.rerun', value: jobId, userId: 'UINTRUDER', channelId: ch, messageTs: final.ts });
    expect(denied.status).toBe(200);
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => String(c.args.text).includes('Not allowed')));
    // A forged value does not reach any cluster.
    await h.signer.action({ actionId: 'selftest.rerun', value: 'st-../../etc', userId: 'UALLOWED1', channelId: ch, messageTs: final.ts });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => String(c.args.text).includes('too old to re-run')));
    // The allowed user re-runs: a new message with a new job.
    await h.signer.action({ actionId: 'selftest.rerun', value: jobId, userId: 'UALLOWED1', channelId: ch, messageTs: final.ts });
    const second = await h.emu.waitFor((e) => e.messages(ch).filter((m) => m.metadata?.event_type === 'cws_selftest_result').length === 2 || undefined);
    expect(second).toBe(true);
    const jobIds = h.emu.messages(ch).map((m) => m.metadata?.event_payload.jobId);
    expect(new Set(jobIds).size).toBe(2);
  });

  it('rejects requests with a bad signature', async () => {
    const res = await h.signer.raw('command=%2Fcws&text=selftest+host-ok', {
      'x-slack-signature': 'v0=deadbeef',
      'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
    });
    expect(res.status).toBe(401);
  });

  it('every command lands in the audit stream', async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis(h.redis.url);
    const rows = await r.xrange(AUDIT_STREAM, '-', '+');
    r.disconnect();
    const entries = rows.map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]]]))));
    expect(entries.some((e) => e.outcome === 'denied' && e.user === 'UINTRUDER' && e.cluster === 'host-private')).toBe(true);
    expect(entries.some((e) => e.outcome === 'invalid')).toBe(true);
    expect(entries.some((e) => e.outcome === 'queued' && e.jobId && e.channel)).toBe(true);
    expect(entries.some((e) => e.outcome === 'attached')).toBe(true);
    expect(entries.some((e) => e.outcome === 'ok' && e.command === 'selftest')).toBe(true);
    expect(entries.some((e) => e.outcome === 'failed')).toBe(true);
  });
});
