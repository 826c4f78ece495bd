/**
 * What the App Home reads of the open approval requests (src/bot/commands/approval.ts
 * `openApprovalsFor`) and how it republishes Homes (src/bot/commands/home.ts `publishHomes`),
 * against stand-ins of the tracker and Slack that record what they were asked. The Redis side
 * (`tracker.openApprovals` on a real server) and the published views are covered end to end by
 * test/e2e/sandbox.test.ts.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ClustersFile } from '../../src/config/clusters.ts';
import { type ApprovalRequest, openApprovalsFor } from '../../src/bot/commands/approval.ts';
import type { BotServices } from '../../src/bot/commands/context.ts';
import { homeView, MAX_HOME_REFRESH, publishHomes } from '../../src/bot/commands/home.ts';
import { validateHomeView } from '../../src/sandbox/slack-api.ts';

// homeView reads at the wall clock's now: the requests expire an hour from when the test runs.
const NOW = Date.now();
const LATER = new Date(NOW + 3600_000).toISOString();

let seq = 0;
function request(o: Partial<ApprovalRequest> & Pick<ApprovalRequest, 'cluster' | 'requestedBy'>): ApprovalRequest {
  seq += 1;
  return {
    approvalId: `ap-${String(seq).padStart(8, '0')}-0000-4000-8000-000000000000`,
    action: 'disable_cws',
    channel: 'C0CHAN',
    messageTs: `1764655200.0000${String(seq).padStart(2, '0')}`,
    expiresAt: LATER,
    state: 'pending',
    run: { type: 'remediate', sourceJobId: 'nc-1', action: 'disable_cws' },
    claim: `claim-${seq}`,
    ...o,
  };
}

const clusters = ClustersFile.parse({
  clusters: {
    // Approvers named: U0BOB only.
    named: { kind: 'host', access: { approve: ['U0BOB'] } },
    // No list: everyone may approve.
    open: { kind: 'host' },
    // A user group: resolved through Slack.
    group: { kind: 'host', access: { approve: ['S0OPS'] } },
  },
});

/** The services the App Home uses, over a map of stored requests (`ids` is the open set, soonest first). */
function services(stored: Record<string, unknown>, ids: string[], o: { groups?: Record<string, string[]>; failPublish?: string[] } = {}) {
  const published: { user: string; view: Record<string, unknown> }[] = [];
  const permalinks: string[] = [];
  const groupCalls: string[] = [];
  const warnings: unknown[] = [];
  const logger = pino({ level: 'silent' });
  const s = {
    clusters,
    logger: Object.assign(Object.create(logger), { warn: (obj: unknown) => warnings.push(obj) }),
    tracker: {
      openApprovals: async (nowMs: number, limit: number) => (nowMs > 0 && limit > 0 ? ids : []),
      getApproval: async (id: string) => {
        if (id === 'ap-broken') throw new Error('redis down');
        return stored[id];
      },
      lastVerdict: async () => undefined,
      recentJobs: async () => [],
    },
    producer: { workerCount: async () => 1 },
    slack: {
      permalink: async (channel: string, ts: string) => {
        permalinks.push(ts);
        if (ts.endsWith('13')) throw new Error('ratelimited');
        return `https://sandbox.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
      },
      groupsOf: async (user: string, groupIds: string[]) => {
        groupCalls.push(user);
        return new Set(groupIds.filter((g) => o.groups?.[g]?.includes(user)));
      },
      publishHome: async (user: string, view: Record<string, unknown>) => {
        if (o.failPublish?.includes(user)) throw new Error('views.publish: invalid_arguments');
        published.push({ user, view });
      },
      userEmail: async () => undefined,
      openView: async () => {},
    },
  };
  return { services: s as unknown as BotServices, published, permalinks, groupCalls, warnings };
}

describe('openApprovalsFor', () => {
  const alicesNamed = request({ cluster: 'named', requestedBy: 'U0ALICE' });
  const bobsNamed = request({ cluster: 'named', requestedBy: 'U0BOB', action: 'restart_agent', node: 'node-3' });
  const carolsOpen = request({ cluster: 'open', requestedBy: 'U0CAROL' });
  const davesGroup = request({ cluster: 'group', requestedBy: 'U0DAVE' });
  // Still in the open set, but no longer waiting: expired by time, already decided, unknown cluster, unreadable.
  const expired = request({ cluster: 'open', requestedBy: 'U0CAROL', expiresAt: new Date(NOW - 1).toISOString() });
  const decided = request({ cluster: 'open', requestedBy: 'U0CAROL', state: 'approved', decidedBy: 'U0BOB' });
  const gone = request({ cluster: 'removed', requestedBy: 'U0CAROL' });
  const all = [alicesNamed, bobsNamed, carolsOpen, davesGroup, expired, decided, gone];
  const stored: Record<string, unknown> = { ...Object.fromEntries(all.map((r) => [r.approvalId, r])), 'ap-garbage': { approvalId: 'x' } };
  const ids = [...all.map((r) => r.approvalId), 'ap-garbage', 'ap-missing', 'ap-broken'];
  const idsOf = (l: ApprovalRequest[]) => l.map((r) => r.approvalId);

  it('an approver named in access.approve: the others’ requests there and where everyone approves, and their own apart', async () => {
    const { services: s } = services(stored, ids);
    const bob = await openApprovalsFor(s, 'U0BOB', NOW);
    expect(idsOf(bob.toApprove)).toEqual([alicesNamed.approvalId, carolsOpen.approvalId]);
    expect(idsOf(bob.mine)).toEqual([bobsNamed.approvalId]);
  });

  it('someone not named: nothing on `named`, everything where everyone approves; never their own to approve', async () => {
    const { services: s } = services(stored, ids);
    const alice = await openApprovalsFor(s, 'U0ALICE', NOW);
    expect(idsOf(alice.toApprove)).toEqual([carolsOpen.approvalId]);
    expect(idsOf(alice.mine)).toEqual([alicesNamed.approvalId]);
    const carol = await openApprovalsFor(s, 'U0CAROL', NOW);
    expect(idsOf(carol.toApprove)).not.toContain(carolsOpen.approvalId);
    // Expired, decided, unknown-cluster and unreadable requests are not listed, even as one's own.
    expect(idsOf(carol.mine)).toEqual([carolsOpen.approvalId]);
  });

  it('a user group in access.approve is resolved through Slack, once per cluster', async () => {
    const two = request({ cluster: 'group', requestedBy: 'U0DAVE' });
    const { services: s, groupCalls } = services({ ...stored, [two.approvalId]: two }, [...ids, two.approvalId], { groups: { S0OPS: ['U0ERIN'] } });
    const erin = await openApprovalsFor(s, 'U0ERIN', NOW);
    expect(idsOf(erin.toApprove)).toEqual([carolsOpen.approvalId, davesGroup.approvalId, two.approvalId]);
    expect(groupCalls).toEqual(['U0ERIN']);
    const { services: s2 } = services(stored, ids, { groups: { S0OPS: [] } });
    expect(idsOf((await openApprovalsFor(s2, 'U0ERIN', NOW)).toApprove)).toEqual([carolsOpen.approvalId]);
  });
});

describe('homeView and publishHomes', () => {
  it('the Home links each listed request to its message; a permalink Slack did not give leaves that one unlinked', async () => {
    seq = 10; // the 13th request's permalink fails
    const reqs = Array.from({ length: 4 }, () => request({ cluster: 'open', requestedBy: 'U0CAROL' }));
    const { services: s, permalinks } = services(
      Object.fromEntries(reqs.map((r) => [r.approvalId, r])),
      reqs.map((r) => r.approvalId),
    );
    const view = await homeView(s, 'U0BOB');
    expect(validateHomeView(view)).toBeUndefined();
    const text = JSON.stringify(view.blocks);
    expect(permalinks).toHaveLength(4);
    expect(text.match(/approve or reject/g)).toHaveLength(3);
    expect(text).toContain('asked by <@U0CAROL>');
  });

  it('a Redis failure leaves the requests out and says nothing is open, with a warning logged', async () => {
    const { services: s, warnings } = services({}, []);
    (s.tracker as unknown as { openApprovals: () => Promise<string[]> }).openApprovals = async () => {
      throw new Error('redis down');
    };
    const view = await homeView(s, 'U0BOB');
    expect(JSON.stringify(view.blocks)).toContain('No change waits for your approval');
    expect(warnings).toHaveLength(1);
  });

  it(`publishes each user once, only Slack user IDs, at most ${MAX_HOME_REFRESH}; one failure does not stop the others`, async () => {
    const many = Array.from({ length: 40 }, (_, i) => `U0USER${String(i).padStart(2, '0')}`);
    const { services: s, published, warnings } = services({}, [], { failPublish: ['U0BOB'] });
    await publishHomes(s, ['U0ALICE', 'U0ALICE', 'S0OPS', 'cli:alice', 'U0BOB', ...many]);
    const users = published.map((p) => p.user);
    expect(users).toContain('U0ALICE');
    expect(users.filter((u) => u === 'U0ALICE')).toHaveLength(1);
    expect(users).not.toContain('S0OPS');
    expect(users).not.toContain('cli:alice');
    expect(users).not.toContain('U0BOB');
    expect(users).toHaveLength(MAX_HOME_REFRESH - 1);
    expect(warnings).toHaveLength(1);
    for (const p of published) expect(validateHomeView(p.view)).toBeUndefined();
  });
});
