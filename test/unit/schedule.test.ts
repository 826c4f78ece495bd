import { describe, expect, it } from 'vitest';
import { parseCommand, usageAll, USAGE } from '../../src/core/grammar.ts';
import { describeCadence, isTimeZone, parseDuration, parseTimeOfDay, repeatOptions } from '../../src/core/schedule/cadence.ts';
import { describeOutcome, diffOutcomes, fingerprint, summarise } from '../../src/core/schedule/outcome.ts';
import {
  LAST_CHECKED_BLOCK,
  renderScheduleCreated,
  renderScheduleDenied,
  renderScheduleList,
  slackDate,
  withLastChecked,
  withScheduleNotice,
} from '../../src/core/schedule/render.ts';
import { assertSlackAccepts } from '../../src/sandbox/block-kit.ts';
import { help } from '../../src/bot/commands/help.ts';
import { keys, queueName, SCHEDULE_QUEUE } from '../../src/contract/keys.ts';
import { ScheduleSpec } from '../../src/contract/schedules.ts';

describe('durations', () => {
  it.each([
    ['1m', 1],
    ['15m', 15],
    ['90min', 90],
    ['6h', 360],
    ['1d', 1440],
    ['30d', 43200],
    ['2H', 120],
  ])('%s is %i minutes', (text, minutes) => expect(parseDuration(text)).toEqual({ ok: true, minutes }));

  it('refuses less than a minute, saying the minimum', () => {
    for (const t of ['30s', '59sec', '0m', '0h']) {
      const r = parseDuration(t);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toContain('at most once a minute');
    }
  });

  it('refuses what is not a whole duration, and more than 30 days', () => {
    for (const t of ['1.5h', '15', 'm', '-1m', '1w', '1m30s', '']) expect(parseDuration(t).ok).toBe(false);
    const long = parseDuration('31d');
    expect(!long.ok && long.error).toContain('30d');
  });

  it('times of day are HH:MM on a 24-hour clock', () => {
    expect(parseTimeOfDay('07:30')).toMatchObject({ ok: true, hhmm: '07:30' });
    expect(parseTimeOfDay('7:05')).toMatchObject({ ok: true, hhmm: '07:05', hour: 7, minute: 5 });
    for (const t of ['24:00', '12:60', '1230', '12:3', 'noon']) expect(parseTimeOfDay(t).ok).toBe(false);
  });

  it('repeat options: every N minutes × the minute length; daily is a cron pattern in its time zone', () => {
    expect(repeatOptions({ every: 15 })).toEqual({ every: 900_000 });
    expect(repeatOptions({ every: 1 }, 1000)).toEqual({ every: 1000 });
    expect(repeatOptions({ daily: '07:05', tz: 'Europe/Paris' }, 1000)).toEqual({ pattern: '5 7 * * *', tz: 'Europe/Paris' });
    expect(describeCadence({ every: 1 })).toBe('every minute');
    expect(describeCadence({ every: 360 })).toBe('every 6 hours');
    expect(describeCadence({ every: 1440 })).toBe('every day');
    expect(describeCadence({ every: 90 })).toBe('every 90 minutes');
    expect(describeCadence({ daily: '07:30', tz: 'UTC' })).toBe('daily at 07:30 (UTC)');
  });

  it('time zones are IANA names this runtime knows', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('../etc')).toBe(false);
  });
});

describe('the /cws schedule grammar', () => {
  it('create with every or daily at, list, delete', () => {
    expect(parseCommand('schedule netcheck prod every 15m')).toEqual({
      ok: true,
      command: { name: 'schedule', action: 'create', what: 'netcheck', cluster: 'prod', every: 15 },
    });
    expect(parseCommand('schedule SELFTEST prod-eu.1 Daily AT 7:30')).toEqual({
      ok: true,
      command: { name: 'schedule', action: 'create', what: 'selftest', cluster: 'prod-eu.1', daily: '07:30' },
    });
    expect(parseCommand('schedule list')).toEqual({ ok: true, command: { name: 'schedule', action: 'list' } });
    expect(parseCommand('schedule delete sc-0a1b2c3d')).toEqual({ ok: true, command: { name: 'schedule', action: 'delete', id: 'sc-0a1b2c3d' } });
  });

  it('refuses less than a minute with the usage', () => {
    const r = parseCommand('schedule selftest prod every 30s');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('at most once a minute');
    expect(!r.ok && r.usage).toContain('/cws schedule <selftest|netcheck> <cluster> every <duration>');
  });

  it.each([
    ['schedule', 'say what to schedule'],
    ['schedule flare prod every 1h', 'cannot be scheduled'],
    ['schedule netcheck', 'cluster name is required'],
    ['schedule netcheck Prod every 1h', 'not a valid cluster name'],
    ['schedule netcheck prod', 'say how often'],
    ['schedule netcheck prod hourly', 'say how often'],
    ['schedule netcheck prod every', 'needs a duration'],
    ['schedule netcheck prod every 1h now', 'unexpected argument'],
    ['schedule netcheck prod daily 07:00', 'daily at HH:MM'],
    ['schedule netcheck prod daily at 25:00', 'not a time of day'],
    ['schedule list all', 'takes no arguments'],
    ['schedule delete', 'ID of the schedule'],
    ['schedule delete st-0a1b2c3d', 'not a schedule ID'],
    ['schedule delete sc-0a1b2c3d sc-0a1b2c3e', 'unexpected argument'],
  ])('%s → %s', (text, error) => {
    const r = parseCommand(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(error);
  });

  it('is in the help', () => {
    expect(usageAll()).toContain(USAGE.schedule);
    expect(usageAll()).toContain('/cws schedule list');
  });
});

const st = (nodes: Record<string, string>) => ({
  value: {
    kind: 'selftest',
    cluster: 'c',
    target: 'kubernetes',
    startedAt: 'x',
    finishedAt: 'y',
    results: Object.entries(nodes).map(([node, status], i) => ({
      node,
      pod: `p${i}-${Math.random()}`,
      status,
      failedTests: [],
      message: '',
      durationMs: i * 7,
    })),
  },
});
const nc = (verdict: string, findings: { code: string; node?: string }[]) => ({
  value: { kind: 'netcheck', verdict, findings: findings.map((f) => ({ ...f, severity: 'warning', message: `m ${Math.random()}` })) },
});

describe('change detection', () => {
  it('self-test: only node verdicts count (not pods, durations or messages)', () => {
    const a = summarise('selftest', st({ 'node-1': 'ok', 'node-2': 'ok' }));
    const b = summarise('selftest', st({ 'node-2': 'ok', 'node-1': 'ok' }));
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(diffOutcomes(a, b)).toEqual([]);
    const c = summarise('selftest', st({ 'node-1': 'ok', 'node-2': 'failed', 'node-3': 'ok' }));
    expect(fingerprint(c)).not.toBe(fingerprint(a));
    expect(diffOutcomes(a, c)).toEqual(['`node-2`: ok → failed', '`node-3`: new, ok']);
    expect(diffOutcomes(c, a)).toEqual(['`node-2`: failed → ok', '`node-3`: no agent checked any more (was ok)']);
    expect(describeOutcome(c)).toBe('2/3 nodes OK');
  });

  it('self-test: a node with two pods has the worst verdict of them', () => {
    const v = st({ 'node-1': 'ok' });
    v.value.results.push({ ...v.value.results[0]!, pod: 'other', status: 'failed' });
    expect(summarise('selftest', v).nodes).toEqual({ 'node-1': 'failed' });
  });

  it('netcheck: the verdict and the findings (code and node), not their wording', () => {
    const a = summarise('netcheck', nc('action_required', [{ code: 'priority_conflict', node: 'n1' }, { code: 'helm' }]));
    const a2 = summarise('netcheck', nc('action_required', [{ code: 'helm' }, { code: 'priority_conflict', node: 'n1' }]));
    expect(fingerprint(a)).toBe(fingerprint(a2));
    const b = summarise('netcheck', nc('ok', [{ code: 'helm' }, { code: 'classifier_ok' }]));
    expect(diffOutcomes(a, b)).toEqual(['verdict: action_required → ok', 'new finding: `classifier_ok`', 'gone: `priority_conflict@n1`']);
    expect(describeOutcome(b)).toBe('ok, 2 findings');
  });

  it('a run that failed as a whole, and the one after it', () => {
    const ok = summarise('netcheck', nc('ok', []));
    const down = summarise('netcheck', { failure: { code: 'cluster_unreachable' } });
    expect(diffOutcomes(ok, down)).toEqual(['the run failed as a whole: `cluster_unreachable`']);
    expect(diffOutcomes(down, ok)).toEqual(['the run completed again (last time it failed: `cluster_unreachable`)']);
    expect(diffOutcomes(down, down)).toEqual([]);
  });

  it('many changes are capped with a count', () => {
    const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`n${String(i).padStart(2, '0')}`, 'ok']));
    const failed = Object.fromEntries(Object.keys(many).map((k) => [k, 'failed']));
    const lines = diffOutcomes(summarise('selftest', st(many)), summarise('selftest', st(failed)));
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toBe('…and 15 more changes');
  });
});

describe('rendering and contract', () => {
  const v = { id: 'sc-0a1b2c3d', what: 'netcheck' as const, cluster: 'prod', cadence: { every: 15 }, createdBy: 'U1', channel: 'C1' };

  it('a change notice sits above the result, links the last one, and keeps within 50 blocks', () => {
    const result = { text: 'Netcheck: ok', blocks: Array.from({ length: 50 }, () => ({ type: 'divider' as const })) };
    const m = withScheduleNotice(result, v, {
      changes: ['verdict: action_required → ok'],
      previous: 'https://slack/p1',
      previousAt: '2026-01-01T00:00:00.000Z',
    });
    expect(m.blocks).toHaveLength(50);
    const first = JSON.stringify(m.blocks![0]);
    expect(first).toContain('*changed* since <https://slack/p1|the last result>');
    expect(first).toContain('<!date^1767225600^');
    expect(first).toContain('verdict: action_required → ok');
    expect(m.text).toContain('Netcheck: ok');
    // The notification text drops mrkdwn markers but keeps emoji names whole (`_` is part of them).
    expect(m.text).toMatch(/^:alarm_clock: Scheduled netcheck sc-0a1b2c3d of prod /);
    expect(JSON.stringify(withScheduleNotice(result, v, {}).blocks![0])).toContain('first run');
  });

  it('the list shows id, what, cluster, cadence, creator, next run as a Slack date, last outcome', () => {
    const m = renderScheduleList([{ ...v, next: 1767225600000, last: { outcome: 'ok', at: '2026-01-01T00:00:00.000Z' } }], 1);
    const t = JSON.stringify(m.blocks);
    for (const s of [
      'sc-0a1b2c3d',
      'netcheck of `prod`',
      'every 15 minutes',
      '<@U1>',
      slackDate(1767225600000),
      'Last outcome: ok',
      '1 on clusters you may not',
    ])
      expect(t).toContain(s);
  });

  it('the tick queue cannot be a cluster queue; schedule keys share their hash tag', () => {
    expect(SCHEDULE_QUEUE).not.toMatch(/^\{cws\./);
    expect(SCHEDULE_QUEUE).not.toContain(':');
    expect(queueName('schedules')).not.toBe(SCHEDULE_QUEUE);
    const tag = (k: string) => /\{([^}]*)\}/.exec(k)?.[1];
    expect(new Set([keys.schedule('sc-1'), keys.scheduleLast('sc-1'), keys.scheduleRunning('sc-1')].map(tag))).toEqual(new Set(['sc-1']));
    expect(tag(keys.scheduleDecision('nc-1'))).toBe('nc-1');
  });

  it('the stored schedule is checked', () => {
    const ok = { ...v, createdAt: 'now' };
    expect(ScheduleSpec.safeParse(ok).success).toBe(true);
    expect(ScheduleSpec.safeParse({ ...ok, cadence: { every: 0 } }).success).toBe(false);
    expect(ScheduleSpec.safeParse({ ...ok, cadence: { daily: '24:00', tz: 'UTC' } }).success).toBe(false);
    expect(ScheduleSpec.safeParse({ ...ok, id: 'sc-zz' }).success).toBe(false);
  });
});

describe('Slack accepts every schedule message', () => {
  const v = { id: 'sc-0a1b2c3d', what: 'selftest' as const, cluster: 'prod', cadence: { daily: '07:30', tz: 'Europe/Paris' }, createdBy: 'U1', channel: 'C1' };
  it('created, listed (many), denied, and the notice over a full result', () => {
    assertSlackAccepts({ channel: 'C1', ...renderScheduleCreated({ ...v, next: Date.now() }, { tzNote: 'your time zone in Slack' }) }, 'created');
    const many = Array.from({ length: 70 }, (_, i) => ({
      ...v,
      id: `sc-${String(i).padStart(8, '0')}`,
      next: Date.now(),
      last: { outcome: '5/6 nodes OK', at: new Date().toISOString() },
    }));
    const list = renderScheduleList(many, 3);
    assertSlackAccepts({ channel: 'C1', ...list }, 'list');
    expect(JSON.stringify(list.blocks)).toContain('45 more not shown');
    assertSlackAccepts({ channel: 'C1', ...renderScheduleList([], 2) }, 'empty list');
    assertSlackAccepts({ channel: 'C1', ...renderScheduleDenied(v, 'you are not allowed to run commands on cluster `prod`') }, 'denied');
    const changes = diffOutcomes(
      summarise('selftest', st(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`node-${i}-${'x'.repeat(200)}`, 'ok'])))),
      summarise('selftest', st(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`node-${i}-${'x'.repeat(200)}`, 'failed'])))),
    );
    assertSlackAccepts(
      {
        channel: 'C1',
        ...withScheduleNotice({ text: 'result', blocks: [{ type: 'divider' }] }, v, { changes, previous: 'https://x.slack.com/archives/C1/p1' }),
      },
      'notice',
    );
  });
});

describe('the "last checked" line of unchanged runs', () => {
  it('is one context line at the end, replaced by the next; none when the message has no room', () => {
    const m = { text: 'r', blocks: [{ type: 'divider' as const }] };
    const once = withLastChecked(m, 1767225600000)!;
    const twice = withLastChecked(once, 1767225660000)!;
    expect(twice.blocks).toHaveLength(2);
    expect(twice.blocks!.filter((b) => b.block_id === LAST_CHECKED_BLOCK)).toHaveLength(1);
    expect(JSON.stringify(twice.blocks!.at(-1))).toContain('<!date^1767225660^');
    assertSlackAccepts({ channel: 'C1', ...twice }, 'last checked');
    expect(withLastChecked({ text: 'r', blocks: Array.from({ length: 50 }, () => ({ type: 'divider' as const })) }, 0)).toBeUndefined();
  });
});

describe('/cws help schedule', () => {
  it('gives the usage, the durations, the time zone and who may delete', () => {
    const t = JSON.stringify(help({ name: 'help', topic: 'schedule' }).ack);
    for (const s of ['/cws schedule list', '`1m` (the shortest)', 'Slack time zone', 'approver of the cluster']) expect(t).toContain(s);
  });
});
