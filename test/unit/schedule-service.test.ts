/**
 * The schedule service against a private Redis and the Slack emulator, ticks called directly (no
 * Worker, no BullMQ worker serving the cluster: the runs stay queued): the run slot (one run at a
 * time, a slot left by a closed job given back, a tick still starting one), access re-checked at
 * each tick (refused, audited, told once), a deleted schedule's tick, the post-or-silent
 * decision taken once per job, and a posted result's "last checked" line composed with the
 * living outcomes of its buttons (src/bot/living.ts), whichever edit comes last.
 */
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteFollowUp, rememberResult } from '../../src/bot/living.ts';
import { Notifier } from '../../src/bot/notifier.ts';
import { Schedules } from '../../src/bot/schedules/service.ts';
import { RedisAuditLog } from '../../src/bot/state/audit.ts';
import { JobProducer } from '../../src/bot/state/producer.ts';
import { JobTracker } from '../../src/bot/state/tracker.ts';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { keys } from '../../src/contract/keys.ts';
import { SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

const TOKEN = 'xoxb-schedule-service';
let redis: PrivateRedis;
let client: Redis;
let emu: SlackEmulator;
let web: WebClient;
let producer: JobProducer;
let tracker: JobTracker;
let audit: RedisAuditLog;
let notifier: Notifier;
const logger = pino({ level: 'silent' });

const schedulesFor = (run: string) =>
  new Schedules({
    redis: client,
    connection: client,
    clusters: parseClustersFile(`clusters:\n  c1: { kind: host, binary: /nonexistent, access: { run: [${run}] } }\n`, 'test'),
    producer,
    tracker,
    notifier,
    audit,
    logger,
    groupsOf: async () => new Set(),
    permalink: async (channel, ts) => ((await web.chat.getPermalink({ channel, message_ts: ts })) as { permalink?: string }).permalink,
  });

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: null });
  emu = await SlackEmulator.start({ token: TOKEN });
  web = new WebClient(TOKEN, { slackApiUrl: emu.url, retryConfig: { retries: 0 } });
  producer = new JobProducer(client, { attempts: 1, backoffMs: 10 });
  tracker = new JobTracker(client);
  audit = new RedisAuditLog(client);
  notifier = new Notifier(web as never, { minIntervalMs: 10, logger });
}, 30_000);

afterAll(async () => {
  await producer?.close();
  client?.disconnect();
  await emu?.close();
  await redis?.stop();
});

const entriesOf = async (id: string) => (await audit.recent(500)).filter((e) => e.command.includes(`(scheduled ${id})`)).reverse();

describe('the run slot', () => {
  it('one run at a time; a slot left by a closed job is given back; a tick still starting one holds it', async () => {
    const s = schedulesFor('UCREATE1');
    const spec = await s.create({ what: 'selftest', cluster: 'c1', cadence: { every: 60 }, createdBy: 'UCREATE1', channel: 'CSVC0001' });
    expect(await s.queue.getJobScheduler(spec.id)).toMatchObject({ every: 3_600_000 });

    const first = await s.tick(spec.id, 't1');
    expect(first).toHaveProperty('ran');
    const jobId = (first as { ran: string }).ran;
    expect(await tracker.getRecord(jobId)).toMatchObject({
      kind: 'selftest',
      requestedBy: 'UCREATE1',
      channel: 'CSVC0001',
      post: 'deferred',
      schedule: spec.id,
    });
    expect(await client.get(keys.scheduleRunning(spec.id))).toBe(jobId);
    expect((await producer.getJob('c1', jobId))?.data).toMatchObject({ requestedBy: 'UCREATE1' });

    // The run is still open: the next tick is skipped, and says which run holds the slot.
    expect(await s.tick(spec.id, 't2')).toEqual({ skipped: jobId });
    const skipped = (await entriesOf(spec.id)).find((e) => e.detail?.startsWith('tick t2'));
    expect(skipped).toMatchObject({ outcome: 'answered', user: 'UCREATE1', detail: `tick t2: skipped, the previous run (${jobId}) is still going` });

    // Its result closed but its slot never freed (a bot died in between): the next tick takes over.
    await (await producer.getJob('c1', jobId))!.remove();
    await tracker.close(jobId);
    const third = await s.tick(spec.id, 't3');
    expect(third).toHaveProperty('ran');
    const second = (third as { ran: string }).ran;
    expect(second).not.toBe(jobId);

    // Closed the ordinary way: the slot is free at once.
    await (await producer.getJob('c1', second))!.remove();
    await s.final((await tracker.getRecord(second))!, { value: { results: [] } }, { text: 'r' });
    await tracker.close(second);
    await s.closed((await tracker.getRecord(second))!, []);
    expect(await client.get(keys.scheduleRunning(spec.id))).toBeNull();

    // A tick that is starting a run (another replica, between taking the slot and enqueueing): skipped.
    await client.set(keys.scheduleRunning(spec.id), 'tick:other', 'PX', 60_000);
    expect(await s.tick(spec.id, 't4')).toEqual({ skipped: 'tick:other' });
    await client.del(keys.scheduleRunning(spec.id));

    // Deleted: its scheduler goes first; a tick that still comes does nothing.
    await s.delete(spec.id);
    expect(await s.queue.getJobScheduler(spec.id)).toBeUndefined();
    expect(await s.tick(spec.id, 't5')).toEqual({ gone: true });
    await s.close();
  });
});

describe('access at each tick', () => {
  it('a creator no longer allowed: refused and audited at every tick, the channel told once; told again after a run was allowed', async () => {
    const allowed = schedulesFor('UCREATE2');
    const spec = await allowed.create({ what: 'selftest', cluster: 'c1', cadence: { every: 60 }, createdBy: 'UCREATE2', channel: 'CSVC0002' });
    const revoked = schedulesFor('USOMEONE');
    expect(await revoked.tick(spec.id, 'd1')).toHaveProperty('denied');
    expect(await revoked.tick(spec.id, 'd2')).toHaveProperty('denied');
    const denied = (await entriesOf(spec.id)).filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => e.detail?.split(':')[0])).toEqual(['tick d1', 'tick d2']);
    expect(denied.every((e) => e.user === 'UCREATE2' && e.cluster === 'c1')).toBe(true);
    expect(denied[0]!.detail).toContain('you are not allowed to run commands on cluster `c1`');
    await emu.waitFor(() => emu.messages('CSVC0002').length === 1 || undefined);
    expect(emu.messages('CSVC0002')).toHaveLength(1);
    expect(JSON.stringify(emu.messages('CSVC0002')[0]!.blocks)).toContain('did not run');
    expect(JSON.stringify(emu.messages('CSVC0002')[0]!.blocks)).toContain('<@UCREATE2>');
    // Allowed again: it runs, and a later refusal is told again.
    expect(await allowed.tick(spec.id, 'd3')).toHaveProperty('ran');
    await client.del(keys.scheduleRunning(spec.id));
    expect(await revoked.tick(spec.id, 'd4')).toHaveProperty('denied');
    await emu.waitFor(() => emu.messages('CSVC0002').length === 2 || undefined);
    await allowed.delete(spec.id);
    await allowed.close();
    await revoked.close();
  });
});

describe('post or stay silent', () => {
  it('the first run posts; the same outcome is silent; a change posts what changed with a link; decided once per job', async () => {
    const s = schedulesFor('UCREATE3');
    const spec = await s.create({ what: 'netcheck', cluster: 'c1', cadence: { every: 60 }, createdBy: 'UCREATE3', channel: 'CSVC0003' });
    const record = (jobId: string) => ({ jobId, kind: 'netcheck' as const, cluster: 'c1', requestedBy: 'UCREATE3', channel: 'CSVC0003', schedule: spec.id });
    const nc = (verdict: string, codes: string[]) => ({ value: { verdict, findings: codes.map((code) => ({ code, severity: 'warning', message: 'x' })) } });
    const result = { text: 'Netcheck', blocks: [{ type: 'divider' as const }] };

    const r1 = await s.final(record('nc-1'), nc('action_required', ['a']), result);
    expect('message' in r1 && JSON.stringify(r1.message.blocks)).toContain('first run');
    const posted = await notifier.post('CSVC0003', 'message' in r1 ? r1.message : result);
    await s.closed(record('nc-1'), [{ channel: 'CSVC0003', ts: posted.ts }]);

    expect(await s.final(record('nc-2'), nc('action_required', ['a']), result)).toEqual({ silent: true });
    // Asked again (another replica, a reconcile) with a different value: the first decision stands.
    expect(await s.final(record('nc-2'), nc('ok', []), result)).toEqual({ silent: true });
    await s.closed(record('nc-2'), []);

    const r3 = await s.final(record('nc-3'), nc('ok', []), result);
    const t = 'message' in r3 ? JSON.stringify(r3.message.blocks) : '';
    expect(t).toContain('verdict: action_required → ok');
    expect(t).toContain('gone: `a`');
    expect(t).toContain(`/archives/CSVC0003/p${posted.ts.replace('.', '')}|the last result`);
    await s.closed(record('nc-3'), []);
    expect((await s.last(spec.id)).summary).toEqual({ kind: 'netcheck', verdict: 'ok', findings: [] });
    await s.delete(spec.id);
    // A run of a schedule deleted meanwhile: silent.
    expect(await s.final(record('nc-4'), nc('broken', ['b']), result)).toEqual({ silent: true });
    await s.close();
  });
});

describe('a scheduled result is a living message', () => {
  it('its "Last checked" line and the outcome of a fix started from it both stay, whichever edit comes last', async () => {
    const s = schedulesFor('UCREATE4');
    const spec = await s.create({ what: 'netcheck', cluster: 'c1', cadence: { every: 60 }, createdBy: 'UCREATE4', channel: 'CSVC0004' });
    const record = (jobId: string) => ({ jobId, kind: 'netcheck' as const, cluster: 'c1', requestedBy: 'UCREATE4', channel: 'CSVC0004', schedule: spec.id });
    const same = { value: { verdict: 'action_required', findings: [{ code: 'a', severity: 'warning', message: 'x' }] } };
    const J1 = 'nc-00000000-0000-4000-8000-00000000a001';
    const FIX = 'rm-00000000-0000-4000-8000-00000000a002';
    const report = {
      text: 'Netcheck c1: action_required',
      blocks: [
        { type: 'section' as const, block_id: 'verdict', text: { type: 'mrkdwn' as const, text: ':warning: *Action required*' } },
        {
          type: 'actions' as const,
          elements: [
            {
              type: 'button' as const,
              action_id: 'netcheck.remediate:0',
              text: { type: 'plain_text' as const, text: 'Disable network detections' },
              value: `${J1}|disable_network_detections`,
            },
          ],
        },
        { type: 'context' as const, block_id: 'footer', elements: [{ type: 'mrkdwn' as const, text: 'job nc-00000000' }] },
      ],
    };
    // As JobUpdates.finish does: the kind stores its result, the schedule puts its notice above, what is posted is stored.
    await rememberResult(tracker, J1, report);
    const r1 = await s.final(record(J1), same, report);
    if (!('message' in r1)) throw new Error('the first run posts');
    await tracker.saveLive(J1, r1.message);
    const posted = await notifier.post('CSVC0004', r1.message);
    await tracker.addMessage(J1, { channel: 'CSVC0004', ts: posted.ts });
    await s.closed(record(J1), [{ channel: 'CSVC0004', ts: posted.ts }]);
    const shown = () => JSON.stringify(emu.message('CSVC0004', posted.ts)?.blocks ?? []);
    const d = { tracker, notifier, logger };

    // A fix started from its button: under way on the result.
    const startedAt = Date.now();
    await noteFollowUp(d, J1, { jobId: FIX, action: 'disable_network_detections', by: 'UFIXER04', startedAt, state: 'running' });
    await emu.waitFor(() => shown().includes('Disabling network detections'), { timeoutMs: 5_000 });

    // An unchanged run: the "Last checked" line joins, the fix under way stays.
    expect(await s.final(record('nc-00000000-0000-4000-8000-00000000a003'), same, report)).toEqual({ silent: true });
    await s.closed(record('nc-00000000-0000-4000-8000-00000000a003'), []);
    await emu.waitFor(() => shown().includes('Last checked'), { timeoutMs: 5_000 });
    expect(shown()).toContain('Disabling network detections: started by <@UFIXER04>');
    expect(shown()).not.toContain('Disable network detections'); // its button stays replaced

    // The fix ends: its outcome replaces the line under way; the "Last checked" line stays.
    await noteFollowUp(d, J1, { jobId: FIX, action: 'disable_network_detections', by: 'UFIXER04', startedAt, endedAt: Date.now(), state: 'done' });
    await emu.waitFor(() => shown().includes('Network detections disabled by <@UFIXER04>'), { timeoutMs: 5_000 });
    expect(shown()).toContain('no change since this result');
    expect(shown()).toContain('first run'); // the schedule's notice too
    const blocks = emu.message('CSVC0004', posted.ts)!.blocks as { block_id?: string }[];
    expect(blocks.filter((b) => b.block_id === 'cws-schedule-last-checked')).toHaveLength(1);
    // The line is the message's last block, the outcomes above the footer.
    expect(blocks.at(-1)!.block_id).toBe('cws-schedule-last-checked');
    expect(blocks.findIndex((b) => b.block_id === 'followup_outcomes')).toBeLessThan(blocks.findIndex((b) => b.block_id === 'footer'));

    await s.delete(spec.id);
    await s.close();
  });
});
