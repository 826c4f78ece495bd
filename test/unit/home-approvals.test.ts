/**
 * The App Home's approval requests (issue 17, point 5): the ones the user may approve and their
 * own still waiting, each with a link to its message; always within a home view's limits
 * (100 blocks, 3000 characters a section), as the emulator's views.publish checks them.
 */
import { describe, expect, it } from 'vitest';
import { type HomeApproval, HOME_MAX_APPROVALS, HOME_MAX_BLOCKS, renderHome } from '../../src/core/slack/blocks/home.ts';
import { validateHomeView } from '../../src/sandbox/slack-api.ts';

const EXPIRES = '2026-12-02T06:15:00.000Z';
const LINK = 'https://sandbox.slack.com/archives/C0SANDBOX/p1764655200000100?thread_ts=1764655100.000100';

const request = (i: number, o: Partial<HomeApproval> = {}): HomeApproval => ({
  approvalId: `ap-0000000${i}-0000-4000-8000-000000000000`,
  cluster: 'demo',
  action: 'disable_cws',
  requestedBy: 'U0SANDBOX',
  expiresAt: EXPIRES,
  link: LINK,
  ...o,
});

const texts = (blocks: unknown[]) => JSON.stringify(blocks);
const sectionTexts = (view: ReturnType<typeof renderHome>) =>
  view.blocks.flatMap((b) =>
    b.type === 'section' && typeof (b as { text?: { text?: unknown } }).text?.text === 'string' ? [(b as { text: { text: string } }).text.text] : [],
  );

/** 250 requests with long node names in both lists, 1000 clusters: everything over its limit at once. */
const worstCaseHome = (notice?: string) => {
  const many = Array.from({ length: 250 }, (_, i) => request(i, { node: `node-${'n'.repeat(200)}-${i}` }));
  return renderHome({
    userId: 'U1',
    clusters: Array.from({ length: 1000 }, (_, i) => ({ name: `c${i}`, kind: 'host' as const, workers: 1 })),
    jobs: [],
    approvals: { toApprove: many, mine: many },
    ...(notice ? { notice } : {}),
  });
};

describe('App Home: approval requests', () => {
  it('lists the requests to approve (who asked, until when, a link) apart from the user’s own', () => {
    const view = renderHome({
      userId: 'U0APPROVER',
      clusters: [{ name: 'demo', kind: 'kubernetes', workers: 1 }],
      jobs: [],
      approvals: {
        toApprove: [request(1)],
        mine: [request(2, { action: 'restart_agent', node: 'node-3', requestedBy: 'U0APPROVER' })],
      },
    });
    expect(validateHomeView(view)).toBeUndefined();
    const [toApprove, mine] = sectionTexts(view).filter((t) => t.includes('approv') || t.includes('requests'));
    expect(toApprove).toContain('*Waiting for your approval*');
    expect(toApprove).toContain('*Disable CWS (demo)* — asked by <@U0SANDBOX>, until <!date^');
    expect(toApprove).toContain(`<${LINK}|approve or reject>`);
    expect(mine).toContain('*Your requests, waiting for another approver*');
    expect(mine).toContain('*Restart agent on node-3 (demo)*, until');
    expect(mine).not.toContain('asked by');
    expect(mine).toContain(`<${LINK}|open the request>`);
    // The requests come before the clusters.
    const order = view.blocks.map((b) => (b.type === 'header' ? (b as { text: { text: string } }).text.text : b.type));
    expect(order.indexOf('Approval requests')).toBeLessThan(order.indexOf('Your clusters'));
  });

  it('says so when nothing is open, and without the argument (older callers) too', () => {
    const none = renderHome({ userId: 'U1', clusters: [], jobs: [], approvals: { toApprove: [], mine: [] } });
    expect(texts(none.blocks)).toContain('No change waits for your approval, and none of your requests is open.');
    expect(renderHome({ userId: 'U1', clusters: [], jobs: [] })).toEqual(none);
    expect(validateHomeView(none)).toBeUndefined();
  });

  it('only a Slack https link is linked: anything that could break out of the link is left out', () => {
    const view = renderHome({
      userId: 'U1',
      clusters: [],
      jobs: [],
      approvals: {
        toApprove: [request(1, { link: 'javascript:alert(1)' }), request(2, { link: 'https://x.slack.com/a|<!channel>' }), request(3, { link: undefined })],
        mine: [],
      },
    });
    const text = sectionTexts(view).find((t) => t.includes('Waiting for your approval'))!;
    expect(text.match(/^• /gm)).toHaveLength(3);
    expect(text).not.toContain('javascript:');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('approve or reject');
  });

  it('escapes what it shows: an unknown action name cannot add mrkdwn or a mention', () => {
    const view = renderHome({ userId: 'U1', clusters: [], jobs: [], approvals: { toApprove: [request(1, { action: '<!here> & <@U9>' })], mine: [] } });
    const text = sectionTexts(view).find((t) => t.includes('Waiting'))!;
    expect(text).toContain('&lt;!here&gt; &amp; &lt;@U9&gt;');
    expect(text).not.toContain('<!here>');
  });

  it(`shows at most ${HOME_MAX_APPROVALS} a list and says how many more, within 100 blocks and 3000 characters a section`, () => {
    const view = worstCaseHome();
    expect(view.blocks.length).toBeLessThanOrEqual(HOME_MAX_BLOCKS);
    expect(validateHomeView(view)).toBeUndefined();
    const [toApprove, mine] = sectionTexts(view).filter((t) => t.includes('Waiting for your approval') || t.includes('Your requests'));
    for (const t of [toApprove!, mine!]) {
      expect(t.length).toBeLessThanOrEqual(3000);
      const shown = t.match(/^• /gm)!.length;
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThanOrEqual(HOME_MAX_APPROVALS);
      expect(t).toContain(`…and ${250 - shown} more`);
      // Whole lines only: every date token and link that starts also ends.
      expect(t.split('<').length).toBe(t.split('>').length);
    }
  });

  it('ten short requests all fit, with no "more" line', () => {
    const view = renderHome({ userId: 'U1', clusters: [], jobs: [], approvals: { toApprove: Array.from({ length: 10 }, (_, i) => request(i)), mine: [] } });
    const t = sectionTexts(view).find((s) => s.includes('Waiting'))!;
    expect(t.match(/^• /gm)).toHaveLength(10);
    expect(t).not.toContain('more');
  });
});

describe('App Home: Approve and Reject on the requests to approve', () => {
  type Button = { type: string; action_id: string; value?: string; text: { text: string }; confirm?: unknown };
  const buttons = (view: ReturnType<typeof renderHome>) =>
    view.blocks.flatMap((b) => (b.type === 'actions' ? ((b as { elements: Button[] }).elements ?? []) : []));

  it('one Approve (with a confirm) and one Reject per request to approve, values only the approval ID; none on the user’s own', () => {
    const view = renderHome({
      userId: 'U0APPROVER',
      clusters: [],
      jobs: [],
      approvals: { toApprove: [request(1), request(2, { action: 'restart_agent', node: 'node-7' })], mine: [request(3, { requestedBy: 'U0APPROVER' })] },
    });
    expect(validateHomeView(view)).toBeUndefined();
    const b = buttons(view);
    expect(b.map((x) => [x.action_id, x.value, x.text.text])).toEqual([
      ['approval.approve:0', request(1).approvalId, 'Approve: Disable CWS (demo)'],
      ['approval.reject:0', request(1).approvalId, 'Reject'],
      ['approval.approve:1', request(2).approvalId, 'Approve: Restart agent on node-7 (demo)'],
      ['approval.reject:1', request(2).approvalId, 'Reject'],
    ]);
    expect(b.filter((x) => x.action_id.startsWith('approval.approve')).every((x) => x.confirm)).toBe(true);
    expect(b.some((x) => x.value === request(3).approvalId)).toBe(false);
  });

  it('buttons for at most HOME_MAX_APPROVALS requests, long names clipped to a button’s 75 characters, still within 100 blocks', () => {
    const view = worstCaseHome(':warning: This request was already approved by <@U9>; nothing more was done.');
    expect(validateHomeView(view)).toBeUndefined();
    expect(view.blocks.length).toBeLessThanOrEqual(HOME_MAX_BLOCKS);
    expect(buttons(view)).toHaveLength(2 * HOME_MAX_APPROVALS);
    for (const x of buttons(view)) expect(x.text.text.length).toBeLessThanOrEqual(75);
    // the jobs section is still there (nothing cut by the 100-block limit)
    expect(texts(view.blocks)).toContain('Your latest jobs');
  });

  it('a notice answers the last click, at the top', () => {
    const view = renderHome({ userId: 'U1', clusters: [], jobs: [], notice: ':white_check_mark: Approved' });
    expect(sectionTexts(view)[0]).toBe(':white_check_mark: Approved');
    expect(texts(renderHome({ userId: 'U1', clusters: [], jobs: [] }).blocks)).not.toContain('Approved');
  });
});
