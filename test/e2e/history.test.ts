/**
 * History and App Home end to end (issue 17, points 3 and 5): `/cws audit` after a sequence of
 * commands including a CLI run (the real `npx cws` process) and a denial, `/cws jobs`,
 * `/cws status` of a finished and of a running job, the audit's retention and log line, and the
 * App Home published on `app_home_opened` and valid.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_STREAM, RedisAuditLog } from '../../src/bot/state/audit.ts';
import { signSlackRequest } from '../../src/sandbox/signer.ts';
import { validateHomeView } from '../../src/sandbox/slack-api.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';
import { startRedis } from '../support/redis.ts';

const ROOT = join(import.meta.dirname, '../..');
const FAKE = join(import.meta.dirname, '../support/fake-agent/security-agent');
const dir = mkdtempSync(join(tmpdir(), 'cws-history-'));
const configPath = join(dir, 'cws.yaml');
function agent(mode: string): string {
  const d = mkdtempSync(join(dir, 'agent-'));
  copyFileSync(FAKE, join(d, 'security-agent'));
  writeFileSync(join(d, 'selftest-mode'), `${mode}\n`);
  return join(d, 'security-agent');
}

let h: Harness;
/** A job on the cluster only UALLOWED1 may run on. */
let privateJob: string;
let seq = 0;
const channel = () => `CH${String(++seq).padStart(6, '0')}`;

beforeAll(async () => {
  const yaml = `
audit: { retentionDays: 30 }
clusters:
  hist-ok: { kind: host, binary: ${agent('ok')} }
  hist-slow: { kind: host, binary: ${agent('slow')} }
  hist-private: { kind: host, binary: ${agent('ok')}, access: { run: [UALLOWED1] } }
`;
  writeFileSync(configPath, yaml);
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 200 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cws(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/cws.mjs'), ...args],
      { cwd: ROOT, env: { ...process.env, REDIS_URL: h.redis.url, CWS_CONFIG: configPath, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr }),
    );
  });
}

/** A slash command; its ephemeral ack as Slack shows it (text of every block). */
async function command(text: string, userId = 'UTESTER1', ch = channel()) {
  const res = await h.signer.command(text, { channelId: ch, userId });
  expect(res.status).toBe(200);
  const json = res.json as { response_type?: string; text?: string; blocks?: unknown[] } | undefined;
  return { ch, json, shown: JSON.stringify(json?.blocks ?? []), text: json?.text ?? '' };
}

/** The job ID in a result message's metadata. */
const jobIdOf = (m: { metadata?: { event_payload: Record<string, unknown> } }) => String(m.metadata!.event_payload.jobId);

/** An Events API callback, signed, as Slack posts it (JSON). */
async function event(ev: Record<string, unknown>) {
  const body = JSON.stringify({
    token: 'verification-token',
    team_id: 'T0001',
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: `Ev${Date.now()}${++seq}`,
    event_time: Math.floor(Date.now() / 1000),
    event: ev,
  });
  const res = await fetch(`http://127.0.0.1:${h.port}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signSlackRequest('test-signing-secret-0123456789', body) },
    body,
  });
  return res.status;
}

describe('history: /cws audit, /cws jobs, /cws status', () => {
  let okJob: string;
  let okChannel: string;

  it('a sequence of commands: a Slack self-test, a CLI run, a denial, an invalid command', async () => {
    const run = await command('selftest hist-ok');
    okChannel = run.ch;
    const final = await h.emu.waitFor((e) => finalSelftest(e, run.ch), { timeoutMs: 20_000 });
    okJob = jobIdOf(final);
    const cli = await cws(['selftest', 'hist-ok'], { CWS_USER: 'UCLI00001' });
    expect(cli.code).toBe(0);
    const denied = await command('selftest hist-private', 'UOTHER001');
    expect(denied.shown).toContain('Not allowed');
    const cliDenied = await cws(['selftest', 'hist-private'], { CWS_USER: 'UOTHER001' });
    expect(cliDenied.code).toBe(2);
    const priv = await command('selftest hist-private', 'UALLOWED1');
    privateJob = jobIdOf(await h.emu.waitFor((e) => finalSelftest(e, priv.ch), { timeoutMs: 20_000 }));
    expect((await command('selftest --bogus', 'UTESTER1')).shown).toContain('Unknown option');
  }, 60_000);

  it('/cws audit <cluster>: when, who, the command as typed once, the outcome; the CLI run marked; the job’s result', async () => {
    const a = await command('audit hist-ok');
    expect(a.json?.response_type).toBe('ephemeral');
    expect(a.shown).toMatch(/<!date\^\d+\^/);
    expect(a.shown).toContain('<@UTESTER1> `selftest hist-ok` → :arrow_forward: started');
    expect(a.shown).toContain('<@UCLI00001> `selftest hist-ok` → :arrow_forward: started');
    expect(a.shown).toContain('_CLI_');
    expect(a.shown).toContain(`\`selftest\` result → :white_check_mark: OK`);
    expect(a.shown).toContain(okJob);
    expect(a.shown).not.toContain('selftest selftest');
    // Newest first: the CLI run came after the Slack one.
    expect(a.shown.indexOf('<@UCLI00001>')).toBeLessThan(a.shown.indexOf('<@UTESTER1> `selftest hist-ok`'));
    expect(a.shown).not.toContain('hist-private');
  });

  it('/cws audit: denials are shown to those who may run on the cluster, and the trail of a cluster to no one else', async () => {
    const allowed = await command('audit hist-private', 'UALLOWED1');
    expect(allowed.shown).toContain('<@UOTHER001> `selftest hist-private` → :no_entry: denied');
    expect(allowed.shown).toMatch(/<@UOTHER001> `selftest hist-private` → :no_entry: denied · _CLI_/);
    const refused = await command('audit hist-private', 'UOTHER001');
    expect(refused.shown).toContain('Not allowed');
    expect(refused.shown).not.toContain('selftest hist-private');
    // Without a cluster: only the clusters the user may run on (and their own entries naming none).
    // An invalid command names no cluster: its author sees it.
    expect((await command('audit')).shown).toContain('<@UTESTER1> `selftest --bogus` → :grey_question: invalid');
    const mine = await command('audit --limit 100', 'UOTHER001');
    expect(mine.shown).not.toContain('hist-private` →');
    expect(mine.shown).toContain('hist-ok');
    const limited = await command('audit hist-ok --limit 1');
    expect(limited.shown.match(/<!date\^/g)).toHaveLength(1);
    expect((await command('audit --limit 500')).shown).toContain('must be a number from 1 to 100');
  });

  it('/cws jobs: the recent jobs with their state, requester and a link to the message', async () => {
    const j = await command('jobs hist-ok');
    expect(j.json?.response_type).toBe('ephemeral');
    expect(j.shown).toContain(okJob);
    expect(j.shown).toContain(':white_check_mark: finished');
    expect(j.shown).toContain('by <@UTESTER1>');
    expect(j.shown).toContain(`<https://`);
    expect(j.shown).toContain(`/archives/${okChannel}/p`);
    expect((await command('jobs hist-private', 'UOTHER001')).shown).toContain('Not allowed');
    expect((await command('jobs')).shown).toContain(okJob);
  });

  it('/cws status of a finished job: its result again, read-only (nothing posted, edited or claimed)', async () => {
    const before = h.emu.calls.filter((c) => c.method.startsWith('chat.')).length;
    const s = await command(`status ${okJob}`);
    expect(s.json?.response_type).toBe('ephemeral');
    expect(s.shown).toContain(okJob);
    expect(s.shown).toContain(':white_check_mark: finished');
    expect(s.text).toContain('Self-test hist-ok: 1/1 agents OK');
    expect(s.shown).not.toContain('"type":"actions"');
    await new Promise((r) => setTimeout(r, 300));
    const after = h.emu.calls.filter((c) => c.method.startsWith('chat.') && c.method !== 'chat.getPermalink').length;
    expect(after).toBeLessThanOrEqual(before);
    // Someone who may not run on its cluster is not told.
    const refused = await command(`status ${privateJob}`, 'UOTHER001');
    expect(refused.shown).toContain('Not allowed');
    expect(refused.shown).not.toContain('agents OK');
    expect((await command(`status ${privateJob}`, 'UALLOWED1')).text).toContain('Self-test hist-private: 1/1 agents OK');
    expect((await command('status st-00000000-0000-4000-8000-000000000000')).shown).toContain('No job');
  });

  it('/cws status of a running job: its state now, then its result once finished', async () => {
    const run = await command('selftest hist-slow');
    const queued = await h.emu.waitFor((e) =>
      e.messages(run.ch).find((m) => m.metadata?.event_payload?.jobId ?? /st-[0-9a-f]{8}/.test(JSON.stringify(m.blocks))),
    );
    // The short ID its footer shows (issue 17): `/cws status` resolves it.
    const jobId = JSON.stringify(queued.blocks).match(/job (st-[0-9a-f]{8}) ·/)![1]!;
    const running = await command(`status ${jobId}`);
    expect(running.shown).toMatch(/running|waiting for a worker/);
    expect(running.shown).not.toContain(':white_check_mark: finished');
    await h.emu.waitFor((e) => finalSelftest(e, run.ch), { timeoutMs: 20_000 });
    const done = await command(`status ${jobId}`);
    expect(done.shown).toContain(':white_check_mark: finished');
    expect(done.text).toContain('Self-test hist-slow: 1/1 agents OK');
  }, 30_000);

  it('the fallback of a refused result names `/cws status JOB_ID`', async () => {
    const { howToGet } = await import('../../src/bot/kinds/kind.ts');
    expect(howToGet('st-1')).toBe('The full result is in the job record: `/cws status st-1`.');
  });
});

describe('the audit trail: retention and one log line per entry', () => {
  it('entries older than the retention are trimmed (XADD MINID ~), newer ones kept', async () => {
    // A Redis of its own: stream IDs only grow, so old entries can only be written to a fresh stream.
    const fresh = await startRedis();
    const redis = new Redis(fresh.url);
    try {
      // One entry per stream node, so approximate trimming (~) trims entry by entry here.
      await redis.config('SET', 'stream-node-max-entries', '1');
      const entry = (user: string, at: number) => [
        'at',
        new Date(at).toISOString(),
        'user',
        user,
        'channel',
        'C0',
        'command',
        'selftest hist-ok',
        'outcome',
        'queued',
      ];
      const day = 86_400_000;
      await redis.xadd(AUDIT_STREAM, `${Date.now() - 40 * day}-0`, ...entry('UOLD00001', Date.now() - 40 * day));
      await redis.xadd(AUDIT_STREAM, `${Date.now() - 31 * day}-0`, ...entry('UOLD00002', Date.now() - 31 * day));
      await redis.xadd(AUDIT_STREAM, `${Date.now() - 29 * day}-0`, ...entry('UKEPT0001', Date.now() - 29 * day));
      await new RedisAuditLog(redis, { retentionDays: 30 }).append({ user: 'UNEW00001', channel: 'C0', command: 'audit', outcome: 'answered' });
      const users = (await redis.xrange(AUDIT_STREAM, '-', '+')).map(([, f]) => f[f.indexOf('user') + 1]);
      expect(users).toEqual(['UKEPT0001', 'UNEW00001']);
      // The default: 90 days.
      await redis.xadd(AUDIT_STREAM, '*', ...entry('UNEW00002', Date.now()));
      await new RedisAuditLog(redis).append({ user: 'UNEW00003', channel: 'C0', command: 'audit', outcome: 'answered' });
      expect(await redis.xlen(AUDIT_STREAM)).toBe(4);
    } finally {
      redis.disconnect();
      await fresh.stop();
    }
  });

  it('each entry is also a structured log line {audit: true, …}, with no email address in clear', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const redis = new Redis(h.redis.url);
    try {
      const log = new RedisAuditLog(redis, { logger: pino({ level: 'info' }, sink), retentionDays: 90 });
      await log.append({
        user: 'UTESTER1',
        channel: 'C0001',
        command: 'flare hist-ok 123456 --email alice.smith@example.com',
        cluster: 'hist-ok',
        outcome: 'queued',
      });
      await new Promise((r) => setTimeout(r, 50));
      const line = lines.find((l) => l.audit === true)!;
      expect(line).toMatchObject({ audit: true, user: 'UTESTER1', channel: 'C0001', cluster: 'hist-ok', outcome: 'queued', msg: 'audit' });
      expect(JSON.stringify(line)).not.toContain('alice.smith');
      expect(String(line.command)).toMatch(/--email <email sha256:[0-9a-f]{12}@example\.com>/);
      const stored = await redis.xrevrange(AUDIT_STREAM, '+', '-', 'COUNT', 1);
      expect(JSON.stringify(stored)).not.toContain('alice.smith');
    } finally {
      redis.disconnect();
    }
  });
});

describe('the App Home', () => {
  it('app_home_opened → views.publish: the clusters the user may run on, their last self-test, the user’s latest jobs; valid', async () => {
    expect(await event({ type: 'app_home_opened', user: 'UTESTER1', channel: 'D0HOME001', tab: 'home' })).toBe(200);
    const home = await h.emu.waitFor((e) => e.homeViews.get('UTESTER1'), { timeoutMs: 10_000 });
    expect(validateHomeView(home.view)).toBeUndefined();
    const shown = JSON.stringify(home.view);
    expect(home.view.type).toBe('home');
    expect(shown).toContain('*hist-ok* (host)');
    expect(shown).toMatch(/1 worker online/);
    expect(shown).toMatch(/Last self-test: :large_green_circle: OK <!date\^\d+\^/);
    expect(shown).toContain('Last netcheck: _never run_');
    expect(shown).not.toContain('hist-private');
    expect(shown).toContain('Your latest jobs');
    expect(shown).toMatch(/st-[0-9a-f-]{36}/);
    const publish = h.emu.callsTo('views.publish').at(-1)!;
    expect(publish.args.user_id).toBe('UTESTER1');
    // The Messages tab is no Home: nothing is published for it.
    const count = h.emu.callsTo('views.publish').length;
    expect(await event({ type: 'app_home_opened', user: 'UTESTER1', channel: 'D0HOME001', tab: 'messages' })).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.emu.callsTo('views.publish')).toHaveLength(count);
    // Another user sees their own clusters only.
    await event({ type: 'app_home_opened', user: 'UALLOWED1', channel: 'D0HOME002', tab: 'home' });
    const other = await h.emu.waitFor((e) => e.homeViews.get('UALLOWED1'));
    expect(JSON.stringify(other.view)).toContain('*hist-private* (host)');
    expect(JSON.stringify(other.view)).toContain(privateJob);
    expect(JSON.stringify(other.view)).not.toContain('by <@UTESTER1>');
  });

  it('the emulator refuses a home view Slack would refuse', async () => {
    const res = await fetch(`${h.emu.url}views.publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-test-token' },
      body: JSON.stringify({ user_id: 'UTESTER1', view: { type: 'home', title: { type: 'plain_text', text: 'x' }, blocks: [] } }),
    });
    expect(await res.json()).toMatchObject({ ok: false, error: 'invalid_arguments' });
  });
});
