/**
 * `/cws status <short id>` (src/bot/commands/status.ts `resolveJobId`): a short ID (`st-1b2c3d4e`,
 * as footers show it) resolves only to the one recent job (24 h, the latest 500 of each cluster)
 * whose ID starts with it. Several, none, or a cluster whose recent jobs could not be read: an
 * answer saying what to do, never a silent pick. Over a stand-in tracker that serves `recentJobs`.
 * The Slack side (the answer is ephemeral) is covered by test/e2e/threads-living.test.ts.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ClustersFile } from '../../src/config/clusters.ts';
import type { BotServices } from '../../src/bot/commands/context.ts';
import { PREFIX_SEARCH, resolveJobId } from '../../src/bot/commands/status.ts';

const clusters = ClustersFile.parse({ clusters: { a: { kind: 'host' }, b: { kind: 'host' } } });
const id = (short: string, rest = '0000-4000-8000-000000000000') => `${short}-${rest}`;

function services(recent: Record<string, { jobId: string; at: number }[] | Error>) {
  const asked: [string, number][] = [];
  const tracker = {
    async recentJobs(cluster: string, limit: number) {
      asked.push([cluster, limit]);
      const r = recent[cluster] ?? [];
      if (r instanceof Error) throw r;
      return r.slice(0, limit);
    },
  } as unknown as BotServices['tracker'];
  return { asked, services: { clusters, tracker, logger: pino({ level: 'silent' }) } };
}
/** The answer as the user reads it: its section's mrkdwn (the fallback `text` drops the backticks). */
const textOf = (r: Awaited<ReturnType<typeof resolveJobId>>) =>
  'problem' in r ? String((r.problem.blocks![0] as { text: { text: string } }).text.text) : `resolved ${r.jobId}`;

describe('/cws status <short id>', () => {
  it('a full ID is taken as given, without a lookup', async () => {
    const s = services({});
    expect(await resolveJobId(s.services, id('st-1b2c3d4e'))).toEqual({ jobId: id('st-1b2c3d4e') });
    expect(s.asked).toEqual([]);
  });

  it('the one recent job that starts with it, on whichever cluster', async () => {
    const s = services({ a: [{ jobId: id('nc-99999999'), at: 2 }], b: [{ jobId: id('st-1b2c3d4e'), at: 1 }] });
    expect(await resolveJobId(s.services, 'st-1b2c3d4e')).toEqual({ jobId: id('st-1b2c3d4e') });
    // Each cluster's recent jobs, as many as the tracker keeps.
    expect(s.asked).toEqual([
      ['a', PREFIX_SEARCH],
      ['b', PREFIX_SEARCH],
    ]);
  });

  it('ambiguous (two clusters, or one): never picks one, names the matches newest first, says what to do', async () => {
    const s = services({ a: [{ jobId: id('st-1b2c3d4e', '1111-4000-8000-000000000000'), at: 1 }], b: [{ jobId: id('st-1b2c3d4e'), at: 5 }] });
    const r = await resolveJobId(s.services, 'st-1b2c');
    expect('problem' in r).toBe(true);
    const text = textOf(r);
    expect(text).toMatch(/^:warning: 2 recent jobs start with `st-1b2c`: `st-1b2c3d4e-0000-[^`]+`, `st-1b2c3d4e-1111-[^`]+`\. I did not pick one\./);
    expect(text).toMatch(
      /Give more of the job ID, or the full one\. Use the full job ID \(in the metadata of the job’s message\), or find it with `\/cws jobs`\./,
    );
  });

  it('many matches: five named, the rest counted', async () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ jobId: id(`st-1b2c3d4${i}`), at: i }));
    const text = textOf(await resolveJobId(services({ a: many }).services, 'st-1b2c'));
    expect(text).toMatch(/8 recent jobs start with `st-1b2c`/);
    expect(text.match(/`st-1b2c3d4\d-/g)).toHaveLength(5);
    expect(text).toMatch(/`st-1b2c3d47-[^`]+`.*and 3 more\. I did not pick one\./);
  });

  it('the same job listed twice (a cluster renamed to another key) is one match', async () => {
    const one = { jobId: id('st-1b2c3d4e'), at: 1 };
    expect(await resolveJobId(services({ a: [one], b: [one] }).services, 'st-1b2c3d4e')).toEqual({ jobId: one.jobId });
  });

  it('none (older than 24 h, or past the latest 500): says short IDs reach only those, and where the full ID is', async () => {
    const text = textOf(await resolveJobId(services({ a: [{ jobId: id('nc-99999999'), at: 1 }] }).services, 'st-1b2c3d4e'));
    expect(text).toMatch(/^:warning: No job of the last 24 h starts with `st-1b2c3d4e` \(short IDs are looked up among the latest 500 jobs of each cluster/);
    expect(text).toMatch(/An older job needs its full ID: it is in the metadata of the job’s message \(`\/cws jobs` lists the recent ones in full\)\./);
  });

  it('a cluster whose recent jobs cannot be read: not "no job", and a single match elsewhere is not taken as the only one', async () => {
    const down = new Error('ECONNREFUSED');
    const none = textOf(await resolveJobId(services({ a: down, b: [] }).services, 'st-1b2c3d4e'));
    expect(none).toMatch(/^:warning: Could not look up `st-1b2c3d4e`: the recent jobs of `a` could not be read \(the bot’s Redis did not answer\)\./);
    expect(none).not.toMatch(/No job/);
    const one = await resolveJobId(services({ a: down, b: [{ jobId: id('st-1b2c3d4e'), at: 1 }] }).services, 'st-1b2c3d4e');
    expect('problem' in one).toBe(true);
    expect(textOf(one)).toMatch(/`st-1b2c3d4e` matches `st-1b2c3d4e-0000-[^`]+`, but the recent jobs of `a` could not be read .*may not be the only one/);
  });
});
