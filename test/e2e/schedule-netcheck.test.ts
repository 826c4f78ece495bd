/**
 * Scheduled checks end to end (issue 19 point 3): the real bot (with `every 1m` shortened to about a
 * second by its test-only `schedules.minuteMs`), the real worker, the Slack emulator and the
 * Kubernetes simulator, the DaemonSet patched with real `kubectl set env`. A schedule posts its
 * first result, stays silent on an unchanged run, posts the change (linking the last result),
 * survives a restart of bot and worker, re-checks its creator's access at each run, and runs one
 * at a time with two bot replicas and two workers.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_QUEUE } from '../../src/contract/keys.ts';
import type { SlackSigner } from '../../src/sandbox/signer.ts';
import { ciliumFleet } from '../support/harness.ts';
import { ackText, createSchedule, kubectlPath, runsReached, type ScheduleRig, setAgentEnv, startScheduleRig, textOf, until } from '../support/schedules.ts';

const OWNER = 'USCHOWN1';
const OTHER = 'USCHOTH1';
const APPROVER = 'USCHAPP1';
const CH = 'CSCHED01';
const CH_DENY = 'CSCHED02';
const INCIDENT = 'CSCHINC1';

// A Cilium at tc priority 3 and the agent's default classifier_priority 10: `action_required`;
// `DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY=2` on system-probe makes it `ok`.
const FLEET = ciliumFleet('sched', { count: 3, pref: 3 });

let rig: ScheduleRig;
let signer: SlackSigner;
let scheduleId = '';

/** The clusters file: `sc-deny`'s run list is what a restart changes (access re-checked at each run). */
const clustersYaml = (denyRun: string) =>
  `clusters:\n` +
  `  sc-net: { kind: kubernetes, kubeconfig: ${rig.kubeconfig}, context: ${rig.sim.contextName}, access: { run: [${OWNER}, ${OTHER}], approve: [${APPROVER}] }, incidentChannel: ${INCIDENT} }\n` +
  `  sc-deny: { kind: kubernetes, kubeconfig: ${rig.kubeconfig}, context: ${rig.sim.contextName}, access: { run: [${denyRun}] } }\n`;

const results = (channel: string) => rig.emu.messages(channel).filter((m) => m.metadata?.event_type === 'cws_netcheck_result');

beforeAll(async () => {
  rig = await startScheduleRig({ fleet: FLEET, fleetName: 'sched' });
  const yaml = clustersYaml(OWNER);
  ({ signer } = await rig.startBot(yaml));
  await rig.startWorker(yaml);
}, 60_000);

afterAll(() => rig?.close());

describe.skipIf(!kubectlPath)('/cws schedule netcheck', () => {
  it('refuses a cadence under a minute, and a user without access.run', async () => {
    const fast = await signer.command('schedule netcheck sc-net every 30s', { userId: OWNER, channelId: CH });
    expect(ackText(fast)).toContain('at most once a minute');
    const denied = await signer.command('schedule netcheck sc-deny every 1m', { userId: OTHER, channelId: CH });
    expect(ackText(denied)).toContain('Not allowed');
    expect(await rig.reader.scard('cws:schedules')).toBe(0);
  });

  it('posts its first result, then nothing while the outcome stays the same', async () => {
    const created = await createSchedule(signer, 'schedule netcheck sc-net every 1m', OWNER, CH);
    const text = created.text;
    scheduleId = created.id;
    expect(scheduleId, text).not.toBe('');
    expect(text).toContain('every minute');

    const first = await rig.emu.waitFor(() => results(CH)[0], { timeoutMs: 30_000 });
    expect(first.metadata!.event_payload).toMatchObject({ verdict: 'action_required' });
    expect(textOf(first)).toContain(`Scheduled netcheck \`${scheduleId}\``);
    expect(textOf(first)).toContain('first run');

    // Two more runs finish (their results closed and audited): still one message in the channel.
    await runsReached(rig, scheduleId, 3, 'three finished runs');
    expect(results(CH)).toHaveLength(1);
    expect(rig.emu.messages(CH)).toHaveLength(1);
    // …whose "last checked" line the unchanged runs edit in, under the same result.
    const touched = await rig.emu.waitFor(() => results(CH).find((m) => textOf(m).includes('Last checked')));
    expect(touched.ts).toBe(first.ts);
    expect(textOf(touched)).toContain('no change since this result');
    expect(textOf(touched)).toContain('first run');
    expect(touched.metadata!.event_payload).toMatchObject({ verdict: 'action_required' });
    // The incident channel has the first run only (unchanged runs post nothing), with the netcheck's own
    // one-line verdict (not the schedule's notice, which would show its creator as a raw ID there) and a short job ID.
    const mirrored = rig.emu.messages(INCIDENT).filter((m) => m.metadata?.event_type === 'cws_incident_update');
    expect(mirrored).toHaveLength(1);
    const line = JSON.stringify(mirrored[0]!.blocks);
    expect(line).not.toContain('Scheduled');
    expect(line).not.toContain('&lt;@');
    expect(line).toMatch(/job `nc-[0-9a-f]{8}`/);
    const runs = await rig.runsOf(scheduleId);
    expect(runs.every((e) => e.user === OWNER && e.cluster === 'sc-net' && e.jobId)).toBe(true);
    const queued = (await rig.audit()).filter((e) => e.command === `schedule netcheck sc-net (scheduled ${scheduleId})` && e.outcome === 'queued');
    expect(queued.length).toBeGreaterThanOrEqual(3);
    expect(queued.every((e) => e.user === OWNER)).toBe(true);
  }, 60_000);

  it('posts what changed after `kubectl set env` on the DaemonSet, linking the last result', async () => {
    const patched = await setAgentEnv(rig, 'system-probe', 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY=2');
    expect(patched.code, patched.stderr).toBe(0);
    const change = await rig.emu.waitFor(() => results(CH)[1], { timeoutMs: 30_000 });
    expect(change.metadata!.event_payload).toMatchObject({ verdict: 'ok' });
    const t = textOf(change);
    expect(t).toContain('*changed* since');
    expect(t).toContain('verdict: action_required → ok');
    const first = results(CH)[0]!;
    expect(t).toContain(`/archives/${CH}/p${first.ts.replace('.', '')}`);
    expect(rig.emu.messages(CH)).toHaveLength(2);
  }, 60_000);

  it('lists the schedule; a user who is neither its creator nor an approver may not delete it', async () => {
    // The change's run is closed (its result became the schedule's last) a moment after its message is posted.
    await until(async () => (await rig.reader.get(`cws:schedule:{${scheduleId}}:last`))?.includes(results(CH)[1]!.ts), 'the change to be the last run');
    const list = ackText(await signer.command('schedule list', { userId: OTHER, channelId: CH }));
    for (const s of [scheduleId, 'netcheck of `sc-net`', 'every minute', `<@${OWNER}>`, '<!date^', 'Last outcome: ok']) expect(list).toContain(s);
    const refused = ackText(await signer.command(`schedule delete ${scheduleId}`, { userId: OTHER, channelId: CH }));
    expect(refused).toContain('Not allowed');
    expect(await rig.reader.sismember('cws:schedules', scheduleId)).toBe(1);
  });

  it('survives a restart of bot and worker, and re-checks the creator’s access at each run', async () => {
    // A second schedule, by OWNER on sc-deny, which the restarted bot's config no longer lets OWNER run.
    const { id: denyId, text: ack } = await createSchedule(signer, 'schedule netcheck sc-deny every 1m', OWNER, CH_DENY);
    expect(denyId, ack).not.toBe('');
    await rig.emu.waitFor(() => results(CH_DENY)[0], { timeoutMs: 30_000 });

    await rig.stopAll();
    const before = (await rig.runsOf(scheduleId)).length;
    const yaml = clustersYaml(OTHER);
    ({ signer } = await rig.startBot(yaml));
    await rig.startWorker(yaml);

    // sc-net runs again after the restart, unchanged: silent.
    await runsReached(rig, scheduleId, before + 2, 'two runs after the restart');
    expect(results(CH)).toHaveLength(2);
    // Then a change (the env var removed again) is posted, compared with the run before the restart.
    const unpatched = await setAgentEnv(rig, 'system-probe', 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY-');
    expect(unpatched.code, unpatched.stderr).toBe(0);
    const back = await rig.emu.waitFor(() => results(CH)[2], { timeoutMs: 30_000 });
    expect(textOf(back)).toContain('verdict: ok → action_required');
    expect(textOf(back)).toContain(`/archives/${CH}/p${results(CH)[1]!.ts.replace('.', '')}`);

    // sc-deny: refused at every tick (audited), the channel told once.
    await until(
      async () => (await rig.audit()).filter((e) => e.command.includes(`(scheduled ${denyId})`) && e.outcome === 'denied').length >= 3,
      'three refused ticks',
    );
    const notices = rig.emu.messages(CH_DENY).filter((m) => textOf(m).includes('did not run'));
    expect(notices).toHaveLength(1);
    expect(textOf(notices[0]!)).toContain(`<@${OWNER}>`);
    expect(results(CH_DENY)).toHaveLength(1);
    // Its creator may delete it.
    expect(ackText(await signer.command(`schedule delete ${denyId}`, { userId: OWNER, channelId: CH_DENY }))).toContain('Deleted');
  }, 90_000);

  it('runs one at a time, once per tick, with two bot replicas and two workers', async () => {
    const yaml = clustersYaml(OTHER);
    await rig.startBot(yaml); // a second replica beside the restarted one
    await rig.startWorker(yaml);
    const from = Date.now();
    await until(async () => (await rig.runsOf(scheduleId)).filter((e) => Date.parse(e.at) >= from).length >= 5, 'five runs with two replicas', 60_000);

    const entries = (await rig.audit()).filter((e) => e.command.includes(`(scheduled ${scheduleId})`));
    // Every tick was handled by one replica only: no tick ID in two entries.
    const ticks = entries.filter((e) => e.command.startsWith('schedule ')).map((e) => /tick (\S+?):?(\s|$)/.exec(e.detail ?? '')?.[1]);
    expect(ticks.every(Boolean)).toBe(true);
    expect(new Set(ticks).size).toBe(ticks.length);
    // Every run was closed once, and the next one started only after it: queued, finished, queued, finished…
    const seq = entries.filter((e) => e.outcome === 'queued' || (!e.command.startsWith('schedule ') && e.jobId));
    const started = seq.filter((e) => e.outcome === 'queued').map((e) => e.jobId);
    const finished = seq.filter((e) => e.outcome !== 'queued').map((e) => e.jobId);
    expect(new Set(finished).size).toBe(finished.length);
    expect(new Set(started).size).toBe(started.length);
    for (let i = 0; i < seq.length; i++) {
      const e = seq[i]!;
      if (e.outcome === 'queued') {
        // The next entry of the sequence is this run's end (or nothing yet): no second run started meanwhile.
        const nextEntry = seq[i + 1];
        if (nextEntry) expect(nextEntry.jobId, `run ${e.jobId} overlapped another`).toBe(e.jobId);
      }
    }
    // The job runs themselves never overlapped either (BullMQ's own timestamps).
    const q = new Queue('{cws.sc-net}', { connection: rig.reader });
    const jobs = (await Promise.all(finished.map((id) => q.getJob(id!)))).filter((j) => j?.processedOn && j.finishedOn);
    jobs.sort((a, b) => a!.processedOn! - b!.processedOn!);
    for (let i = 1; i < jobs.length; i++) expect(jobs[i]!.processedOn!).toBeGreaterThanOrEqual(jobs[i - 1]!.finishedOn!);
    await q.close();
    // Still silent: nothing changed since the last posted result.
    expect(results(CH)).toHaveLength(3);
  }, 90_000);

  it('an approver of the cluster may delete it: its job scheduler is gone, no tick comes any more', async () => {
    expect(ackText(await signer.command(`schedule delete ${scheduleId}`, { userId: APPROVER, channelId: CH }))).toContain('Deleted');
    const ticks = new Queue(SCHEDULE_QUEUE, { connection: rig.reader });
    expect(await ticks.getJobScheduler(scheduleId)).toBeUndefined();
    expect(await ticks.getJobSchedulersCount()).toBe(0);
    await ticks.close();
    const list = ackText(await signer.command('schedule list', { userId: OWNER, channelId: CH }));
    expect(list).toContain('No scheduled checks');
  });
});
