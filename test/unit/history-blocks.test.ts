/** The builders of `/cws audit`, `/cws jobs`, `/cws status` and the App Home (issue 17, points 3 and 5), with large and hostile input. */
import { describe, expect, it } from 'vitest';
import { type AuditRow, renderAudit, slackDate } from '../../src/core/slack/blocks/audit.ts';
import { renderHome } from '../../src/core/slack/blocks/home.ts';
import { type JobRow, renderJobs } from '../../src/core/slack/blocks/jobs.ts';
import { renderStatus } from '../../src/core/slack/blocks/status.ts';
import { renderResult } from '../../src/core/slack/blocks/selftest.ts';
import { parseCommand } from '../../src/core/grammar.ts';
import { validateMessage } from '../../src/sandbox/block-kit.ts';
import { validateHomeView } from '../../src/sandbox/slack-api.ts';
import { redactEmails } from '../../src/bot/state/audit.ts';
import { JobTracker } from '../../src/bot/state/tracker.ts';
import { readOnlyTracker } from '../../src/bot/commands/status.ts';

const HOSTILE = '<!channel> <!here> <@U0BOSS> <#C0GENERAL> <https://evil.example|click> *b* `t` ```x``` &amp; &<>';
const JOB = 'st-00000000-0000-4000-8000-000000000000';
const entry = (o: Partial<AuditRow> = {}): AuditRow => ({
  at: '2026-12-01T07:00:00.000Z',
  user: 'U0ALICE',
  channel: 'C0CHAN',
  command: 'selftest demo',
  cluster: 'demo',
  outcome: 'queued',
  ...o,
});
const job = (o: Partial<JobRow> = {}): JobRow => ({
  jobId: JOB,
  kind: 'selftest',
  cluster: 'demo',
  requestedBy: 'U0ALICE',
  state: 'active',
  at: 1_764_572_400_000,
  ...o,
});
const mrkdwn = (blocks: unknown) => JSON.stringify(blocks);
const noPings = (text: string) => {
  for (const bad of ['<!channel>', '<!here>', '<@U0BOSS>', '<#C0GENERAL>', '<https://evil']) expect(text).not.toContain(bad);
};

describe('history grammar', () => {
  it('audit, jobs and status parse; bad limits and job IDs are refused', () => {
    expect(parseCommand('audit')).toEqual({ ok: true, command: { name: 'audit' } });
    expect(parseCommand('audit demo --limit 5')).toEqual({ ok: true, command: { name: 'audit', cluster: 'demo', limit: 5 } });
    expect(parseCommand('audit --limit=100')).toEqual({ ok: true, command: { name: 'audit', limit: 100 } });
    for (const bad of ['audit --limit 0', 'audit --limit 101', 'audit --limit -1', 'audit --limit 1e2', 'audit a b']) expect(parseCommand(bad).ok).toBe(false);
    expect(parseCommand('jobs demo')).toEqual({ ok: true, command: { name: 'jobs', cluster: 'demo' } });
    expect(parseCommand(`status ${JOB}`)).toEqual({ ok: true, command: { name: 'status', jobId: JOB } });
    for (const bad of ['status', 'status ../../etc', `status ${JOB}x`, `status ${JOB} more`]) expect(parseCommand(bad).ok).toBe(false);
  });
});

describe('history builders', () => {
  it('audit: a date token, a mention, the command once, the outcome; CLI entries marked; hostile text escaped', () => {
    const m = renderAudit(
      [
        entry(),
        entry({ channel: 'cli', user: 'U0CLI', command: 'selftest demo', outcome: 'ok', jobId: JOB }),
        entry({ outcome: 'denied', user: 'U0MALLORY' }),
        entry({ user: `cli:${HOSTILE}`, command: HOSTILE, detail: HOSTILE, outcome: 'invalid', channel: HOSTILE }),
      ],
      { cluster: 'demo', limit: 20 },
    );
    expect(validateMessage({ text: m.text, blocks: m.blocks })).toBeUndefined();
    const text = mrkdwn(m.blocks);
    expect(text).toContain(`<!date^${Date.parse('2026-12-01T07:00:00.000Z') / 1000}^`);
    expect(text).toContain('<@U0ALICE> `selftest demo` → :arrow_forward: started');
    expect(text).toContain('_CLI_');
    expect(text).toContain(':no_entry: denied');
    expect(text).not.toContain('selftest selftest');
    noPings(text);
  });

  it('audit: 100 entries of the longest kind stay within Slack’s limits and say what did not fit', () => {
    const rows = Array.from({ length: 100 }, (_, i) =>
      entry({ command: `${HOSTILE}${'x'.repeat(300)}`, detail: 'd'.repeat(500), jobId: JOB, at: new Date(i * 1000).toISOString() }),
    );
    const m = renderAudit(rows, { limit: 100 });
    expect(validateMessage({ text: m.text, blocks: m.blocks })).toBeUndefined();
    expect(mrkdwn(m.blocks)).toMatch(/more did not fit/);
  });

  it('slackDate: a token with a UTC fallback, and no token for what is not a date', () => {
    expect(slackDate('2026-12-01T07:00:00.000Z')).toBe(`<!date^${Date.UTC(2026, 11, 1, 7) / 1000}^{date_short} {time}|2026-12-01 07:00 UTC>`);
    expect(slackDate(HOSTILE)).not.toContain('<!');
  });

  it('jobs: running first, links only when they are Slack permalinks', () => {
    const m = renderJobs(
      [
        job({ state: 'completed', link: 'https://cws.slack.com/archives/C0CHAN/p1' }),
        job({ state: 'active' }),
        job({ state: 'failed', link: `https://evil.example|x> ${HOSTILE}`, kind: HOSTILE, requestedBy: HOSTILE }),
      ],
      { hours: 24 },
    );
    expect(validateMessage({ text: m.text, blocks: m.blocks })).toBeUndefined();
    const text = mrkdwn(m.blocks);
    expect(text.indexOf('Running (1)')).toBeLessThan(text.indexOf('Finished, last 24 h (2)'));
    expect(text).toContain('<https://cws.slack.com/archives/C0CHAN/p1|message>');
    noPings(text);
  });

  it('status: the job line then the result as its message shows it, without buttons or metadata', () => {
    const result = renderResult(
      { jobId: JOB, cluster: 'demo', requestedBy: 'U0ALICE' },
      {
        kind: 'selftest',
        cluster: 'demo',
        target: 'host',
        startedAt: '2026-12-01T07:00:00.000Z',
        finishedAt: '2026-12-01T07:00:01.000Z',
        results: [{ node: 'h', pod: 'p', status: 'failed', failedTests: ['t'], message: 'm', durationMs: 1 }],
      },
    );
    expect(result.blocks!.some((b) => b.type === 'actions')).toBe(true);
    const m = renderStatus(job({ state: 'completed' }), result);
    expect(validateMessage({ text: m.text, blocks: m.blocks })).toBeUndefined();
    expect(m.blocks!.some((b) => b.type === 'actions')).toBe(false);
    expect(m.metadata).toBeUndefined();
    expect(m.text).toContain(`Job ${JOB} (selftest on demo): finished.`);
  });

  it('home: within 100 blocks for 5000 clusters; the emulator refuses what Slack refuses', () => {
    const clusters = Array.from({ length: 5000 }, (_, i) => ({ name: `c${i}${'x'.repeat(55)}`, kind: 'host' as const, workers: i % 3 }));
    const view = renderHome({ userId: 'U0ALICE', clusters, jobs: Array.from({ length: 50 }, () => job({ kind: HOSTILE })) });
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(validateHomeView(view)).toBeUndefined();
    noPings(mrkdwn(view.blocks));
    const section = { type: 'section', text: { type: 'mrkdwn', text: 'x' } };
    expect(validateHomeView({ ...view, title: { type: 'plain_text', text: 'CWS' } })?.messages.join()).toMatch(/unsupported field: title/);
    expect(validateHomeView({ ...view, submit: { type: 'plain_text', text: 'Go' } })).toBeDefined();
    expect(validateHomeView({ ...view, type: 'modal' })).toBeDefined();
    expect(validateHomeView({ type: 'home', blocks: Array.from({ length: 101 }, () => section) })).toBeDefined();
    expect(validateHomeView({ type: 'home', blocks: Array.from({ length: 100 }, () => section) })).toBeUndefined();
    expect(validateHomeView({ type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] })).toBeDefined();
  });

  it('audit entries keep no email address in clear (the domain and a hash only)', () => {
    const r = redactEmails('flare demo 12345 --email Alice.Smith+cws@example.com');
    expect(r).not.toContain('Alice.Smith');
    expect(r).toMatch(/^flare demo 12345 --email <email sha256:[0-9a-f]{12}@example\.com>$/);
    expect(redactEmails('alice.smith+cws@example.com')).toBe(redactEmails('Alice.Smith+cws@example.com'));
  });
});

describe('/cws status renders a result read-only', () => {
  it('the tracker it hands the kind reads through, and saves, claims, closes and releases nothing', async () => {
    const calls: string[] = [];
    const redis = new Proxy(
      {},
      {
        get: (_t, prop) => (prop === 'then' ? undefined : (...args: unknown[]) => (calls.push(`${String(prop)} ${String(args[0])}`), Promise.resolve(null))),
      },
    );
    const ro = readOnlyTracker(new JobTracker(redis as never));
    expect(await ro.claimFinal('st-1', 'ts')).toBe(false);
    expect(await ro.close('st-1')).toBe(false);
    expect(await ro.once('scope', 'me')).toEqual({ first: false, holder: 'status' });
    await ro.saveFacts('st-1', { a: 1 });
    await ro.saveOutcome('st-1', { failedNodes: [], target: 'host' });
    await ro.saveVerdict('demo', 'selftest', { jobId: 'st-1', verdict: 'ok' });
    await ro.releaseFlare('demo', 'U1', 'st-1');
    expect(calls).toEqual([]);
    expect(await ro.getRecord('st-1')).toBeUndefined();
    expect(calls).toEqual(['get cws:job:{st-1}:record']);
  });
});
