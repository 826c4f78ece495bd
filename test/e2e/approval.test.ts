/**
 * Two-person approval (issue 17, point 2): on a cluster with `requireApproval`, a fix click posts
 * an approval request in the report's thread (`cws_approval_request`), with Approve and Reject.
 * The requester cannot approve their own request (nothing changes at the simulator's DaemonSet);
 * another approver's Approve runs the change, whose result carries `approvedBy`; Reject and expiry
 * close it. Each step is mirrored to the incident channel. Emulator rules (Block Kit, rate limits) on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import type { SlackMessage } from '../../src/sandbox/slack-api.ts';
import {
  ciliumFleet,
  click,
  closeSimulated,
  finalSelftest,
  type Harness,
  RAW_ID,
  remediationResultIn,
  shownText,
  simulatedClusters,
  startHarness,
} from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-approval-'));
const sims: Record<string, Simulator> = {};
let h: Harness;

const raceFleet = (name: string) => ciliumFleet(name, { agent: '7.39.1', cilium: '1.9.5', count: 3, pref: 1 });

// UALICE01 may change and approve, UBOB0001 may approve, UCAROL01 may only change.
const ACCESS = 'access: { remediate: [UALICE01, UCAROL01], approve: [UALICE01, UBOB0001] }';

beforeAll(async () => {
  const extras: Record<string, string> = {
    'ap-a': 'requireApproval: true, incidentChannel: CAPINC01',
    'ap-rej': 'requireApproval: [disable_network_detections, disable_cws], incidentChannel: CAPINC02',
    'ap-exp': 'requireApproval: true, approval: { ttlSeconds: 1 }',
    'ap-home': 'requireApproval: true',
  };
  for (const name of Object.keys(extras)) sims[name] = await startSimulator({ fleet: parseFleet(raceFleet(name), name) });
  // A self-test with failing nodes, whose "Restart agent" needs an approval.
  sims['ap-st'] = await startSimulator({ fleet: loadFleet(join(import.meta.dirname, '../fixtures/fleets/sim-a.yaml')) });
  const yaml =
    'clusters:\n' +
    (await simulatedClusters(dir, sims, (name) =>
      name === 'ap-st' ? `selftest: { timeoutMs: 2000 }, ${ACCESS}, requireApproval: [restart_agent]` : `${ACCESS}, ${extras[name]}`,
    ));
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 60_000);

afterAll(() => closeSimulated(h, sims, dir));

const spEnv = (cluster: string) =>
  sims[cluster]!.state.getDaemonSet('datadog', 'datadog-agent')!.spec!.template.spec!.containers.find((c: { name: string }) => c.name === 'system-probe')!
    .env ?? [];
const NETWORK_OFF = { name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' };

async function report(cluster: string, channel: string, userId: string) {
  await h.signer.command(`netcheck ${cluster}`, { channelId: channel, userId });
  return h.emu.waitFor((e) => e.messages(channel).find((x) => x.metadata?.event_type === 'cws_netcheck_result'), { timeoutMs: 30_000 });
}
/** The approval request in the report's thread, as first posted (a copy: a late click sends the buttons a client still shows). */
const requestIn = async (m: SlackMessage) =>
  structuredClone(
    await h.emu.waitFor((e) => e.messages(m.channel).find((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_approval_request'), {
      timeoutMs: 30_000,
    }),
  );
const told = (re: RegExp) => h.emu.waitFor((e) => e.callsTo('response_url').find((c) => re.test(String(c.args.text))), { timeoutMs: 30_000 });
const resultIn = (m: SlackMessage) => remediationResultIn(h, m);
const settle = () => new Promise((r) => setTimeout(r, 700));

describe('two-person approval', () => {
  it('refuses self-approval (nothing changes), then another approver’s Approve applies the change, once', async () => {
    const m = await report('ap-a', 'CAPWORK1', 'UALICE01');
    await click(h, m, 'Disable network detections', 'UALICE01');
    const req = await requestIn(m);
    const p = req.metadata!.event_payload;
    expect(p).toMatchObject({ cluster: 'ap-a', action: 'disable_network_detections', requestedBy: 'UALICE01' });
    expect(String(p.approvalId)).toMatch(/^ap-/);
    expect(Date.parse(String(p.expiresAt)) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(spEnv('ap-a')).not.toContainEqual(NETWORK_OFF);

    // The requester cannot approve it; nothing changes.
    await click(h, req, 'Approve', 'UALICE01');
    await told(/cannot approve your own request/);
    await settle();
    expect(spEnv('ap-a')).not.toContainEqual(NETWORK_OFF);
    expect(h.emu.messages('CAPWORK1').find((x) => x.metadata?.event_type === 'cws_remediation_result')).toBeUndefined();

    // Someone not in access.approve cannot either.
    await click(h, req, 'Approve', 'UCAROL01');
    await told(/Not allowed: .*approve changes/);

    // Another approver: the change runs, its result says who approved it.
    await click(h, req, 'Approve', 'UBOB0001');
    const done = await resultIn(m);
    expect(done.metadata!.event_payload).toMatchObject({ action: 'disable_network_detections', status: 'applied', by: 'UALICE01', approvedBy: 'UBOB0001' });
    expect(JSON.stringify(done.blocks)).toContain('Approved by <@UBOB0001>');
    expect(spEnv('ap-a')).toContainEqual(NETWORK_OFF);
    const closed = h.emu.message(req.channel, req.ts)!;
    expect(closed.metadata!.event_payload).toMatchObject({ state: 'approved', decidedBy: 'UBOB0001' });
    expect(JSON.stringify(closed.blocks)).not.toContain('approval.approve');

    // A second click does nothing more.
    await click(h, req, 'Approve', 'UBOB0001');
    await told(/already approved by <@UBOB0001>/);
    await settle();
    expect(h.emu.messages('CAPWORK1').filter((x) => x.metadata?.event_type === 'cws_remediation_result')).toHaveLength(1);

    // Mirrored: the request (one message, edited to approved) and the change (who approved it).
    const inc = h.emu.messages('CAPINC01').filter((x) => x.metadata?.event_type === 'cws_incident_update');
    expect(inc.find((x) => x.metadata!.event_payload.jobId === p.approvalId)!.metadata!.event_payload).toMatchObject({ kind: 'approval', state: 'approved' });
    const change = await h.emu.waitFor(
      () =>
        h.emu
          .messages('CAPINC01')
          .find((x) => x.metadata?.event_payload.jobId === done.metadata!.event_payload.jobId && x.metadata?.event_payload.state === 'ok'),
      { timeoutMs: 30_000 },
    );
    expect(JSON.stringify(change.blocks)).toContain('approved by <@UBOB0001>');
    expect(inc.filter((x) => x.metadata!.event_payload.jobId === p.approvalId)).toHaveLength(1);
    // Who approved is a mention in the request's mirror, never a raw ID; nor in any mirror message.
    const mirroredRequest = h.emu.messages('CAPINC01').find((x) => x.metadata?.event_payload.jobId === p.approvalId)!;
    expect(JSON.stringify(mirroredRequest.blocks)).toContain('approved by <@UBOB0001>');
    for (const x of h.emu.messages('CAPINC01')) expect(shownText(x)).not.toMatch(RAW_ID);

    // Audited: the request, the refusals, the approval, the change.
    const audit = await h.bot.services.audit.recent(100);
    const about = audit.filter((a) => a.detail?.includes(String(p.approvalId)));
    expect(about.map((a) => [a.user, a.outcome])).toEqual(
      expect.arrayContaining([
        ['UALICE01', 'queued'],
        ['UALICE01', 'denied'],
        ['UCAROL01', 'denied'],
        ['UBOB0001', 'ok'],
        ['UALICE01', 'queued'],
      ]),
    );
  });

  it('"Restart agent" waits for the approval too, then restarts exactly that agent', async () => {
    const podsOn = (node: string) =>
      sims['ap-st']!.state.listPods('datadog')
        .filter((p) => p.spec?.nodeName === node)
        .map((p) => p.metadata!.name!);
    await h.signer.command('selftest ap-st', { channelId: 'CAPWORK5', userId: 'UALICE01' });
    const final = await h.emu.waitFor((e) => finalSelftest(e, 'CAPWORK5'), { timeoutMs: 30_000 });
    const before = podsOn('node-7');
    await click(h, final, 'Restart agent on node-7', 'UALICE01');
    const req = await requestIn(final);
    expect(req.metadata!.event_payload).toMatchObject({ action: 'restart_agent', node: 'node-7', requestedBy: 'UALICE01' });
    await settle();
    expect(podsOn('node-7')).toEqual(before);
    await click(h, req, 'Approve', 'UBOB0001');
    const r7 = await h.emu.waitFor(
      (e) =>
        e
          .messages('CAPWORK5')
          .find((m) => m.thread_ts === final.ts && m.metadata?.event_type === 'cws_remediation_result' && m.metadata.event_payload.node === 'node-7'),
      { timeoutMs: 30_000 },
    );
    expect(r7.metadata!.event_payload).toMatchObject({
      action: 'restart_agent',
      status: 'restarted',
      by: 'UALICE01',
      approvedBy: 'UBOB0001',
      before: { pod: before[0] },
    });
    expect(podsOn('node-7')).not.toEqual(before);
  });

  it('Reject closes the request; nothing changes, and the fix may be asked for again', async () => {
    const m = await report('ap-rej', 'CAPWORK2', 'UCAROL01');
    await click(h, m, 'Disable network detections', 'UCAROL01');
    const req = await requestIn(m);
    await click(h, req, 'Reject', 'UBOB0001');
    await h.emu.waitFor(() => h.emu.message(req.channel, req.ts)?.metadata?.event_payload.state === 'rejected' || undefined);
    // The incident channel says who rejected it as a mention, and shows no raw ID anywhere.
    const approvalId = String(req.metadata!.event_payload.approvalId);
    const mirrored = await h.emu.waitFor(
      (e) => e.messages('CAPINC02').find((x) => x.metadata?.event_payload.jobId === approvalId && x.metadata.event_payload.state === 'rejected'),
      { timeoutMs: 30_000 },
    );
    expect(JSON.stringify(mirrored.blocks)).toContain('rejected by <@UBOB0001>');
    for (const x of h.emu.messages('CAPINC02')) expect(shownText(x)).not.toMatch(RAW_ID);
    await settle();
    expect(spEnv('ap-rej')).not.toContainEqual(NETWORK_OFF);
    await click(h, req, 'Approve', 'UBOB0001');
    await told(/already rejected by <@UBOB0001>/);
    await settle();
    expect(spEnv('ap-rej')).not.toContainEqual(NETWORK_OFF);
    // Freed: the same button asks again (a new request).
    await click(h, m, 'Disable network detections', 'UCAROL01');
    await h.emu.waitFor(
      (e) => e.messages(m.channel).filter((x) => x.thread_ts === m.ts && x.metadata?.event_type === 'cws_approval_request').length === 2 || undefined,
      { timeoutMs: 30_000 },
    );
  });

  it('an unanswered request closes by itself at expiry: its buttons are replaced, nothing changes', async () => {
    const m = await report('ap-exp', 'CAPWORK4', 'UCAROL01');
    await click(h, m, 'Disable network detections', 'UCAROL01');
    const req = await requestIn(m);
    // No click: the reconcile loop (every 2 s here) closes it once it has expired.
    const closed = await h.emu.waitFor(
      () => (h.emu.message(req.channel, req.ts)?.metadata?.event_payload.state === 'expired' ? h.emu.message(req.channel, req.ts) : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    expect(JSON.stringify(closed.blocks)).not.toContain('approval.approve');
    expect(JSON.stringify(closed.blocks)).toContain('without an approval: nothing was changed');
    expect(spEnv('ap-exp')).not.toContainEqual(NETWORK_OFF);
    // The App Homes that listed it (the requester's, each named approver's) are republished without it.
    const expiredAt = h.emu.callsTo('chat.update').find((c) => c.args.ts === req.ts && JSON.stringify(c.args).includes('expired'))!.at;
    for (const user of ['UCAROL01', 'UALICE01', 'UBOB0001'])
      await h.emu.waitFor(
        (e) =>
          e
            .callsTo('views.publish')
            .find((c) => c.args.user_id === user && c.at >= expiredAt && !JSON.stringify(c.args.view).includes('Disable network detections (ap-exp)')),
        { timeoutMs: 10_000 },
      );
  });

  it('an expired request’s buttons do nothing and say so', async () => {
    const m = await report('ap-exp', 'CAPWORK3', 'UCAROL01');
    await click(h, m, 'Disable network detections', 'UCAROL01');
    const req = await requestIn(m);
    await new Promise((r) => setTimeout(r, 1500));
    await click(h, req, 'Approve', 'UBOB0001');
    await told(/expired at .* without an approval; nothing was changed/);
    await h.emu.waitFor(() => h.emu.message(req.channel, req.ts)?.metadata?.event_payload.state === 'expired' || undefined);
    await settle();
    expect(spEnv('ap-exp')).not.toContainEqual(NETWORK_OFF);
  });
});

describe('two-person approval from the App Home', () => {
  type Button = { action_id: string; block_id: string; value: string; text: { text: string } };
  const homeOf = (user: string) => h.emu.homeViews.get(user);
  const homeText = (user: string) => JSON.stringify(homeOf(user)?.view ?? {});
  const homeButton = (view: Record<string, unknown>, text: RegExp): Button => {
    for (const b of (view.blocks ?? []) as { type: string; block_id: string; elements?: Omit<Button, 'block_id'>[] }[])
      for (const e of b.type === 'actions' ? (b.elements ?? []) : []) if (text.test(e.text.text)) return { ...e, block_id: b.block_id };
    throw new Error(`no button ${text} on the Home`);
  };
  const clickHome = (user: string, home: { id: string; view: Record<string, unknown> }, button: Button) =>
    h.signer.action({ actionId: button.action_id, value: button.value, blockId: button.block_id, userId: user, view: { id: home.id, ...home.view } });

  it('an approver’s Approve on their Home runs the change as on the message, and the Home answers; a stale Home’s second click does nothing more', async () => {
    const m = await report('ap-home', 'CAPWORK6', 'UALICE01');
    await click(h, m, 'Disable network detections', 'UALICE01');
    const req = await requestIn(m);
    const approvalId = String(req.metadata!.event_payload.approvalId);
    // The approver's Home was republished with the request and its buttons (the requester's has none for it).
    const home = await h.emu.waitFor(() => (homeText('UBOB0001').includes(approvalId) ? structuredClone(homeOf('UBOB0001')) : undefined), {
      timeoutMs: 10_000,
    });
    expect(() => homeButton(homeOf('UALICE01')!.view, /^Approve: Disable network detections \(ap-home\)/)).toThrow(/no button/);
    const approve = homeButton(home!.view, /^Approve: Disable network detections \(ap-home\)/);
    expect(approve.value).toBe(approvalId);

    expect((await clickHome('UBOB0001', home!, approve)).status).toBe(200);
    const done = await resultIn(m);
    expect(done.metadata!.event_payload).toMatchObject({ action: 'disable_network_detections', status: 'applied', by: 'UALICE01', approvedBy: 'UBOB0001' });
    expect(spEnv('ap-home')).toContainEqual(NETWORK_OFF);
    expect(h.emu.message(req.channel, req.ts)!.metadata!.event_payload).toMatchObject({ state: 'approved', decidedBy: 'UBOB0001' });
    await h.emu.waitFor(() => (homeText('UBOB0001').includes('Approved: the change runs now') && !homeText('UBOB0001').includes(approvalId)) || undefined, {
      timeoutMs: 10_000,
    });
    const audit = await h.bot.services.audit.recent(50);
    expect(audit.find((a) => a.user === 'UBOB0001' && a.detail?.includes(approvalId))).toMatchObject({ outcome: 'ok', channel: req.channel });

    // The Home as it was before (a second tab): told on the Home, nothing runs again.
    await clickHome('UBOB0001', home!, approve);
    await h.emu.waitFor(() => homeText('UBOB0001').includes('already approved by') || undefined, { timeoutMs: 10_000 });
    expect(h.emu.messages('CAPWORK6').filter((x) => x.metadata?.event_type === 'cws_remediation_result')).toHaveLength(1);
  });
});
