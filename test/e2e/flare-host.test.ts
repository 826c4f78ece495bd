/**
 * The flare's review-before-upload, end to end on host agents: signed `/cws flare` and signed
 * button clicks → bot → worker holding the agent's prompt open → fake `security-agent flare`
 * (the real CLI's strings and prompts) → Slack emulator.
 */
import { keys } from '../../src/contract/keys.ts';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUploads } from '../support/fake-agent/uploads.ts';
import { type HostAgent, prepareHostAgent } from '../support/host-agent.ts';
import { type Harness, startHarness } from '../support/harness.ts';

// The fake agent (like the real one) writes archives to $TMPDIR; keep them in a private folder.
const archives = mkdtempSync(join(tmpdir(), 'cws-flare-archives-'));
process.env.TMPDIR = archives;

let h: Harness;
const agents: HostAgent[] = [];
const coreAgents: HostAgent[] = [];
const named = new Map<string, HostAgent>();
let n = 0;
const ch = () => `CFLARE${String(++n).padStart(4, '0')}`;

type Payload = Record<string, unknown> & { stage: string; sha256?: string; archive: { name: string; bytes: number; files: number } | null };
const flareMsgs = (c: string) => h.emu.messages(c).filter((m) => m.metadata?.event_type === 'cws_flare_result');
const stage = (c: string, s: string) => () => flareMsgs(c).find((m) => (m.metadata!.event_payload as Payload).stage === s);
const review = (c: string) => h.emu.waitFor(stage(c, 'review'), { timeoutMs: 20_000 });

beforeAll(async () => {
  const mk = async (flare: string) => {
    const a = await prepareHostAgent({ flare });
    agents.push(a);
    return a.binary;
  };
  const core = async (flare: string) => {
    const a = await prepareHostAgent({ flare, layout: 'core-only' });
    agents.push(a);
    coreAgents.push(a);
    return a.binary; // where security-agent would be: not installed on these hosts
  };
  const both = async (running: boolean) => {
    const a = await prepareHostAgent({ flare: 'ok', layout: 'both', securityAgentRunning: running });
    agents.push(a);
    named.set(running ? 'both' : 'sa-stopped', a);
    return a.binary;
  };
  const mkStopped = async () => {
    const a = await prepareHostAgent({ flare: 'ok', securityAgentRunning: false });
    agents.push(a);
    named.set('sa-stopped-alone', a);
    return a.binary;
  };
  const yaml = `
clusters:
  fl-core: { kind: host, binary: ${await core('ok')} }
  fl-core-secret: { kind: host, binary: ${await core('secret')} }
  fl-none: { kind: host, binary: ${join(archives, 'no-agent-here', 'security-agent')} }
  fl-sa-stopped: { kind: host, binary: ${await both(false)} }
  fl-sa-stopped-alone: { kind: host, binary: ${await mkStopped()} }
  fl-both: { kind: host, binary: ${await both(true)} }
  fl-ok: { kind: host, binary: ${await mk('ok')}, access: { remediate: [UREMEDY1] } }
  fl-secret: { kind: host, binary: ${await mk('secret')} }
  fl-forbidden: { kind: host, binary: ${await mk('forbidden')} }
  fl-hang: { kind: host, binary: ${await mk('hang')}, flare: { uploadTimeoutMs: 1500 } }
  fl-expiring: { kind: host, binary: ${await mk('ok')}, flare: { reviewTtlMs: 1500 } }
`;
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  for (const a of agents) a.cleanup();
  rmSync(archives, { recursive: true, force: true });
});

describe('/cws flare on a host agent', () => {
  it('builds, shows a review, and sends exactly that archive when the requester clicks Send', async () => {
    const c = ch();
    const res = await h.signer.command('flare fl-ok 1234567 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    expect(res.status).toBe(200);
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    expect(p).toMatchObject({ cluster: 'fl-ok', caseId: '1234567', stage: 'review', findings: 0 });
    expect(p.archive!.name).toMatch(/^datadog-agent-.*\.zip$/);
    expect(p.archive!.files).toBeGreaterThanOrEqual(10);
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('security-agent-status.log');
    expect(text).toContain('nothing that looks like a key');
    expect(readdirSync(archives).filter((f) => f.endsWith('.zip'))).toHaveLength(1); // on the agent, not copied anywhere

    await h.signer.action({ actionId: 'flare.send', value: String(p.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const sent = await h.emu.waitFor(stage(c, 'sent'), { timeoutMs: 20_000 });
    expect(sent.ts).toBe(r.ts); // updated in place
    expect(sent.metadata!.event_payload).toMatchObject({ stage: 'sent', caseId: '1234567', archive: p.archive });
    expect(JSON.stringify(sent.blocks)).toContain('Your logs were successfully uploaded');
    // The result names the command that built it, in the review and the final message.
    expect(text).toContain('`security-agent flare`');
    expect(JSON.stringify(sent.blocks)).toContain('built by `security-agent flare`');
    // What the agent uploaded is byte for byte the archive reviewed (size and SHA-256 of the review).
    const up = fakeUploads(agents.find((a) => !a.coreAgent && a !== named.get('sa-stopped-alone'))!.dir).at(-1)!;
    expect(up).toMatchObject({ outcome: 'ok', caseId: '1234567', sha256: p.sha256 });
    expect(up.bytes.length).toBe(p.archive!.bytes);
  });

  it('the archive replaced after review: Send answers n and the agent uploads nothing', async () => {
    const c = ch();
    await h.signer.command('flare fl-ok 2468 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    const path = join(archives, p.archive!.name);
    const reviewed = readFileSync(path);
    writeFileSync(path, Buffer.concat([reviewed, Buffer.from('appended after the review')]));
    const before = fakeUploads(agents.find((a) => !a.coreAgent && a !== named.get('sa-stopped-alone'))!.dir).length;
    await h.signer.action({ actionId: 'flare.send', value: String(p.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const failed = await h.emu.waitFor(stage(c, 'failed'), { timeoutMs: 20_000 });
    expect(failed.metadata!.event_payload).toMatchObject({ reason: 'archive_changed' });
    expect(JSON.stringify(failed.blocks)).toContain('the archive changed after review, so nothing was sent');
    expect(fakeUploads(agents.find((a) => !a.coreAgent && a !== named.get('sa-stopped-alone'))!.dir)).toHaveLength(before);
    expect(existsSync(path)).toBe(true); // not the reviewed file: left alone
    rmSync(path);
  });

  it('Cancel aborts at the prompt and removes the archive; a later Send does nothing', async () => {
    const c = ch();
    await h.signer.command('flare fl-ok 42 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const jobId = String(r.metadata!.event_payload.jobId);
    await h.signer.action({ actionId: 'flare.cancel', value: jobId, userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const done = await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
    expect(JSON.stringify(done.blocks)).toContain('Then the bot removed the archive from the node.');
    const name = (r.metadata!.event_payload as Payload).archive!.name;
    expect(readdirSync(archives)).not.toContain(name);
    await h.signer.action({ actionId: 'flare.send', value: jobId, userId: 'UASKER01', channelId: c, messageTs: r.ts });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((x) => /already (cancelled|sent)/.test(String(x.args.text))));
  });

  it('refuses Send from someone who is neither the requester nor a remediator; a remediator may', async () => {
    const c = ch();
    await h.signer.command('flare fl-ok 77 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const jobId = String(r.metadata!.event_payload.jobId);
    await h.signer.action({ actionId: 'flare.send', value: jobId, userId: 'USTRANGER', channelId: c, messageTs: r.ts });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((x) => /Not allowed: only <@UASKER01>/.test(String(x.args.text))));
    await h.signer.action({ actionId: 'flare.send', value: jobId, userId: 'UREMEDY1', channelId: c, messageTs: r.ts });
    await h.emu.waitFor(stage(c, 'sent'), { timeoutMs: 20_000 });
  });

  it('a double click and a Slack retry upload once', async () => {
    const c = ch();
    await h.signer.command('flare fl-ok 88 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const jobId = String(r.metadata!.event_payload.jobId);
    await Promise.all([1, 2, 3].map(() => h.signer.action({ actionId: 'flare.send', value: jobId, userId: 'UASKER01', channelId: c, messageTs: r.ts })));
    await h.emu.waitFor(stage(c, 'sent'), { timeoutMs: 20_000 });
    expect(h.emu.callsTo('response_url').filter((x) => /already sent/.test(String(x.args.text))).length).toBeGreaterThanOrEqual(1);
    const { Redis } = await import('ioredis');
    const redis = new Redis(h.redis.url);
    const audits = await redis.xrange('cws:audit', '-', '+');
    redis.disconnect();
    const sends = audits.filter(([, f]) => f.includes('flare send') && f.includes(jobId) && f.includes('queued'));
    expect(sends).toHaveLength(1);
  });

  it('shows a secret left in the archive, masked', async () => {
    const c = ch();
    await h.signer.command('flare fl-secret 99 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    expect(r.metadata!.event_payload).toMatchObject({ findings: 1 });
    const text = JSON.stringify(r.blocks);
    expect(text).toMatch(/possible secret/);
    expect(text).toContain('etc/datadog.yaml');
    expect(text).not.toContain('4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99');
  });

  it('an upload failure ends as failed with the agent’s error', async () => {
    const c = ch();
    await h.signer.command('flare fl-forbidden 55 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    await h.signer.action({ actionId: 'flare.send', value: String(r.metadata!.event_payload.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const failed = await h.emu.waitFor(stage(c, 'failed'), { timeoutMs: 20_000 });
    expect(failed.metadata!.event_payload).toMatchObject({ reason: 'upload_failed' });
    expect(JSON.stringify(failed.blocks)).toContain('403 Forbidden');
  });

  it('a hanging upload times out', async () => {
    const c = ch();
    await h.signer.command('flare fl-hang 66 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    await h.signer.action({ actionId: 'flare.send', value: String(r.metadata!.event_payload.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const failed = await h.emu.waitFor(stage(c, 'failed'), { timeoutMs: 20_000 });
    expect(JSON.stringify(failed.blocks)).toMatch(/did not finish within 1\.5 s/);
  });

  it('an unanswered review expires: the agent is told no, Send then does nothing', async () => {
    const c = ch();
    await h.signer.command('flare fl-expiring 11 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    // The review lives 1.5 s: the notifier may coalesce it into the final edit when Slack pacing
    // delays the first post, so the test waits for the outcome, which is what it is about.
    const done = await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
    expect(done.metadata!.event_payload).toMatchObject({ reason: 'expired' });
    expect(JSON.stringify(done.blocks)).toContain('Then the bot removed the archive from the node.');
    await h.signer.action({ actionId: 'flare.send', value: String(done.metadata!.event_payload.jobId), userId: 'UASKER01', channelId: c, messageTs: done.ts });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((x) => /already expired/.test(String(x.args.text))));
  });

  it('without a case ID or email, asks for the email in a modal, then builds', async () => {
    const c = ch();
    h.emu.users.set('UASKER01', { id: 'UASKER01', name: 'asker', email: 'asker@example.com' });
    const res = await h.signer.command('flare fl-ok', { channelId: c, userId: 'UASKER01' });
    expect(res.status).toBe(200);
    const opened = await h.emu.waitFor((e) => e.callsTo('views.open').at(-1));
    const view = opened.args.view as { callback_id: string; private_metadata: string; blocks: { element?: { initial_value?: string } }[] };
    expect(view.callback_id).toBe('flare_email');
    expect(JSON.stringify(view.blocks)).toContain('asker@example.com'); // prefilled from the profile
    const bad = await h.signer.viewSubmission({
      callbackId: 'flare_email',
      privateMetadata: view.private_metadata,
      userId: 'UASKER01',
      values: { email: { value: { type: 'email_text_input', value: 'nope' } }, case: { value: { type: 'plain_text_input', value: '' } } },
    });
    expect(JSON.parse(bad.body)).toMatchObject({ response_action: 'errors', errors: { email: expect.stringMatching(/email address/) } });
    await h.signer.viewSubmission({
      callbackId: 'flare_email',
      privateMetadata: view.private_metadata,
      userId: 'UASKER01',
      values: { email: { value: { type: 'email_text_input', value: 'asker@example.com' } }, case: { value: { type: 'plain_text_input', value: '' } } },
    });
    const r = await review(c);
    expect(r.metadata!.event_payload).toMatchObject({ caseId: null, stage: 'review' });
    expect(JSON.stringify(r.blocks)).toContain('new case for asker@example.com');
    // One flare per agent at a time: end this review so the next test's flare on fl-ok can start.
    await h.signer.action({ actionId: 'flare.cancel', value: String(r.metadata!.event_payload.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
  });

  it('a review the bot did not see (restart, lost event) is shown by the catch-up, once', async () => {
    const c = ch();
    await h.signer.command('flare fl-ok 31 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const jobId = String(r.metadata!.event_payload.jobId);
    // Forget that it was shown and blank the message, as if the progress event had been missed.
    const { Redis } = await import('ioredis');
    const redis = new Redis(h.redis.url);
    await redis.del(keys.jobShown(jobId));
    redis.disconnect();
    const before = h.emu.message(c, r.ts)!.updates;
    await h.bot.reconcile();
    await h.emu.waitFor((e) => (e.message(c, r.ts)!.updates > before ? true : undefined));
    const after = h.emu.message(c, r.ts)!.updates;
    expect(h.emu.message(c, r.ts)!.metadata!.event_payload).toMatchObject({ stage: 'review', jobId });
    await h.bot.reconcile(); // nothing new to show: no edit
    await h.signer.action({ actionId: 'flare.cancel', value: jobId, userId: 'UASKER01', channelId: c, messageTs: r.ts });
    await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
    expect(h.emu.callsTo('chat.update').filter((x) => x.args.ts === r.ts && x.status === 200).length).toBe(after + 1);
  });

  it('a host without security-agent: the core agent’s flare, held at its prompt, reviewed, and exactly that archive sent', async () => {
    const c = ch();
    const a = coreAgents[0]!;
    await h.signer.command('flare fl-core 31415 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    expect(p).toMatchObject({ cluster: 'fl-core', caseId: '31415', stage: 'review', findings: 0 });
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('*Built by*\\n`agent flare`');
    expect(text).toContain('status.log'); // the core agent's archive…
    expect(text).not.toContain('security-agent-status.log'); // …not the security-agent's
    // Held at its prompt: built, on the host, nothing uploaded yet.
    const onHost = readdirSync(archives).filter((f) => f.endsWith('.zip'));
    expect(onHost).toContain(p.archive!.name);
    expect(fakeUploads(a.dir)).toHaveLength(0);

    await h.signer.action({ actionId: 'flare.send', value: String(p.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const sent = await h.emu.waitFor(stage(c, 'sent'), { timeoutMs: 20_000 });
    expect(sent.metadata!.event_payload).toMatchObject({ stage: 'sent', caseId: '31415', archive: p.archive });
    expect(JSON.stringify(sent.blocks)).toContain('built by `agent flare`');
    const ups = fakeUploads(a.dir);
    expect(ups).toHaveLength(1);
    expect(ups[0]).toMatchObject({ outcome: 'ok', caseId: '31415', sha256: p.sha256 });
    expect(ups[0]!.bytes.length).toBe(p.archive!.bytes);
    rmSync(join(archives, p.archive!.name), { force: true }); // kept by the agent after an upload, as the real one does
  });

  it('a host without security-agent: Cancel tells the core agent no and removes its archive; a changed archive is not sent', async () => {
    const a = coreAgents[0]!;
    const c = ch();
    await h.signer.command('flare fl-core 2718 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    await h.signer.action({ actionId: 'flare.cancel', value: String(p.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    const done = await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
    expect(JSON.stringify(done.blocks)).toContain('Then the bot removed the archive from the node.');
    expect(JSON.stringify(done.blocks)).toContain('built by `agent flare`');
    expect(readdirSync(archives)).not.toContain(p.archive!.name);

    const c2 = ch();
    await h.signer.command('flare fl-core 2719 --email ops@example.com', { channelId: c2, userId: 'UASKER01' });
    const r2 = await review(c2);
    const p2 = r2.metadata!.event_payload as Payload;
    const path = join(archives, p2.archive!.name);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('appended after the review')]));
    const before = fakeUploads(a.dir).length;
    await h.signer.action({ actionId: 'flare.send', value: String(p2.jobId), userId: 'UASKER01', channelId: c2, messageTs: r2.ts });
    const failed = await h.emu.waitFor(stage(c2, 'failed'), { timeoutMs: 20_000 });
    expect(failed.metadata!.event_payload).toMatchObject({ reason: 'archive_changed' });
    expect(fakeUploads(a.dir)).toHaveLength(before);
    rmSync(path, { force: true });
  });

  it('a host without security-agent: a secret left in the core agent’s archive is shown, masked', async () => {
    const c = ch();
    await h.signer.command('flare fl-core-secret 99 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    expect(r.metadata!.event_payload).toMatchObject({ findings: 1 });
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('`agent flare`');
    expect(text).toContain('etc/datadog.yaml');
    expect(text).not.toContain('4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99');
    await h.signer.action({ actionId: 'flare.cancel', value: String(r.metadata!.event_payload.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
  });

  it('a host with neither security-agent nor the core agent: the failure names both paths', async () => {
    const c = ch();
    await h.signer.command('flare fl-none 5 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const failed = await h.emu.waitFor(stage(c, 'failed'), { timeoutMs: 20_000 });
    const text = JSON.stringify(failed.blocks);
    expect(text).toContain('no-agent-here/security-agent not found');
    expect(text).toContain('no core agent either (/opt/datadog-agent/bin/agent/agent not found');
  });

  it('security-agent installed but not running, the core agent there: its partial local flare is declined and removed, the core agent’s is reviewed and sent', async () => {
    const c = ch();
    const a = named.get('sa-stopped')!;
    const before = new Set(readdirSync(archives));
    await h.signer.command('flare fl-sa-stopped 4242 --email ops@example.com', { channelId: c, userId: 'UASKER01' });
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('*Built by*\\n`agent flare`');
    expect(text).not.toContain('security-agent-status.log');
    // Only the core agent's archive is left on the host: the security-agent's local one was removed.
    expect(readdirSync(archives).filter((f) => !before.has(f))).toEqual([p.archive!.name]);
    await h.signer.action({ actionId: 'flare.send', value: String(p.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
    await h.emu.waitFor(stage(c, 'sent'), { timeoutMs: 20_000 });
    const ups = fakeUploads(a.dir);
    expect(ups).toHaveLength(1);
    expect(ups[0]).toMatchObject({ outcome: 'ok', caseId: '4242', sha256: p.sha256 });
    rmSync(join(archives, p.archive!.name), { force: true });
  });

  it('security-agent not running and no core agent: its local flare is the one reviewed; running: security-agent flare as before', async () => {
    for (const [cluster, name, files] of [
      ['fl-sa-stopped-alone', 'sa-stopped-alone', 'security-agent-status.log'],
      ['fl-both', 'both', 'security-agent-status.log'],
    ] as const) {
      const c = ch();
      await h.signer.command(`flare ${cluster} 77 --email ops@example.com`, { channelId: c, userId: 'UASKER01' });
      const r = await review(c);
      const text = JSON.stringify(r.blocks);
      expect(text).toContain('*Built by*\\n`security-agent flare`');
      expect(text).toContain(files);
      await h.signer.action({ actionId: 'flare.cancel', value: String(r.metadata!.event_payload.jobId), userId: 'UASKER01', channelId: c, messageTs: r.ts });
      await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 20_000 });
      expect(fakeUploads(named.get(name)!.dir)).toHaveLength(0);
    }
  });

  it('invalid input is refused with a usage message', async () => {
    const { res } = { res: await h.signer.command('flare fl-ok 12ab', { channelId: ch(), userId: 'UASKER01' }) };
    expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/digits only/) });
    expect(existsSync(archives)).toBe(true);
  });
});
