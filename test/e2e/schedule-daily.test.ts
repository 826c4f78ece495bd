/**
 * `/cws schedule … daily at HH:MM` through the real bot and the Slack emulator: the time is in the
 * creator's Slack time zone (users.info `tz`), else UTC, and the confirmation says which; the
 * BullMQ job scheduler gets the cron pattern in that zone. Deleting is for the creator (or an
 * approver: none here). A netcheck cannot be scheduled on a Docker host.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_QUEUE } from '../../src/contract/keys.ts';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;
let redis: Redis;
let ticks: Queue;
const PARIS = 'USCHTZ01';
const NOTZ = 'USCHTZ02';
const CH = 'CSCHDAY1';
const ack = (r: { json?: unknown }) => JSON.stringify(r.json ?? '');

/** HH:MM of `ms` in time zone `tz`. */
const clock = (ms: number, tz: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));

beforeAll(async () => {
  h = await startHarness({
    clustersYaml: `clusters:\n  dk: { kind: docker, socket: /nonexistent.sock, access: { run: [${PARIS}, ${NOTZ}], approve: [] } }\n`,
    withWorker: false,
  });
  h.emu.users.set(PARIS, { id: PARIS, name: 'paris', tz: 'Europe/Paris' });
  redis = new Redis(h.redis.url, { maxRetriesPerRequest: 2 });
  ticks = new Queue(SCHEDULE_QUEUE, { connection: redis });
}, 60_000);

afterAll(async () => {
  await ticks?.close();
  redis?.disconnect();
  await h?.close();
});

describe('/cws schedule … daily at', () => {
  let parisId = '';

  it('runs at HH:MM in the creator’s Slack time zone, and says so', async () => {
    const text = ack(await h.signer.command('schedule selftest dk daily at 07:30', { userId: PARIS, channelId: CH }));
    parisId = /sc-[0-9a-f]{8}/.exec(text)?.[0] ?? '';
    expect(parisId, text).not.toBe('');
    expect(text).toContain('daily at 07:30 (Europe/Paris)');
    expect(text).toContain('your time zone in Slack');
    const s = await ticks.getJobScheduler(parisId);
    expect(s).toMatchObject({ pattern: '30 7 * * *', tz: 'Europe/Paris' });
    expect(clock(s!.next!, 'Europe/Paris')).toBe('07:30');
    expect(s!.next! - Date.now()).toBeGreaterThan(0);
    expect(s!.next! - Date.now()).toBeLessThanOrEqual(25 * 3600_000);
    expect(text).toContain(`<!date^${Math.floor(s!.next! / 1000)}^`);
  });

  it('in UTC when Slack gives no time zone, and says so', async () => {
    const text = ack(await h.signer.command('schedule netcheck dk daily at 23:05', { userId: NOTZ, channelId: CH }));
    expect(text).toContain('inspects Kubernetes clusters'); // a netcheck needs Kubernetes
    const st = ack(await h.signer.command('schedule selftest dk daily at 23:05', { userId: NOTZ, channelId: CH }));
    const id = /sc-[0-9a-f]{8}/.exec(st)![0];
    expect(st).toContain('daily at 23:05 (UTC)');
    expect(st).toContain('Slack did not give your time zone');
    const s = await ticks.getJobScheduler(id);
    expect(s).toMatchObject({ pattern: '5 23 * * *', tz: 'UTC' });
    expect(clock(s!.next!, 'UTC')).toBe('23:05');
  });

  it('lists both (not run yet); only the creator may delete (the cluster has no approver)', async () => {
    const list = ack(await h.signer.command('schedule list', { userId: NOTZ, channelId: CH }));
    expect(list).toContain(parisId);
    expect(list).toContain('daily at 07:30 (Europe/Paris)');
    expect(list).toContain('not run yet');
    expect(ack(await h.signer.command(`schedule delete ${parisId}`, { userId: NOTZ, channelId: CH }))).toContain('Not allowed');
    expect(await ticks.getJobScheduler(parisId)).toBeDefined();
    expect(ack(await h.signer.command(`schedule delete ${parisId}`, { userId: PARIS, channelId: CH }))).toContain('Deleted');
    expect(await ticks.getJobScheduler(parisId)).toBeUndefined();
    expect(ack(await h.signer.command(`schedule delete ${parisId}`, { userId: PARIS, channelId: CH }))).toContain('No schedule');
    const audit = (await h.bot.services.audit.recent(50)).filter((e) => e.command.startsWith('schedule '));
    expect(audit.find((e) => e.outcome === 'ok' && e.detail?.startsWith(`created ${parisId}`))).toMatchObject({ user: PARIS, cluster: 'dk' });
    expect(audit.find((e) => e.outcome === 'ok' && e.detail?.startsWith(`deleted ${parisId}`))).toMatchObject({ user: PARIS });
    expect(audit.find((e) => e.outcome === 'denied' && e.detail === `delete ${parisId}`)).toMatchObject({ user: NOTZ });
  });
});
