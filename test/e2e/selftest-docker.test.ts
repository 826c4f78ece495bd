/**
 * End to end, Docker target, against a real (private) dockerd: signed `/cws selftest` → bot →
 * BullMQ → worker → dockerode exec in a container of the fake agent image → Slack emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerClusterConfig, parseClustersFile } from '../../src/config/clusters.ts';
import { DockerTarget } from '../../workers/targets/docker.ts';
import { buildFakeAgentImage, dockerAvailable, type PrivateDocker, runAgentContainer, startPrivateDocker } from '../support/docker.ts';
import { finalSelftest, type Harness, startHarness } from '../support/harness.ts';

const avail = await dockerAvailable();
const mustRun = process.env.CI === 'true';
if (!avail.ok && !mustRun) console.warn(`[selftest-docker] skipped: ${avail.reason}`);
const suite = avail.ok || mustRun ? describe : describe.skip;

suite('/cws selftest on Docker agents (real dockerd)', () => {
  let docker: PrivateDocker;
  let h: Harness;
  let n = 0;
  const ch = () => `CDOCK${String(++n).padStart(4, '0')}`;

  beforeAll(async () => {
    docker = await startPrivateDocker();
    const image = await buildFakeAgentImage(docker.socketPath);
    await Promise.all(
      ['ok', 'status-failed', 'unreachable', 'hang', 'disabled'].map((mode) =>
        runAgentContainer(docker.socketPath, { name: `agent-${mode}`, image, selftest: mode }),
      ),
    );
    await runAgentContainer(docker.socketPath, { name: 'agent-flare-secret', image, flare: 'secret' });
    const s = docker.socketPath;
    h = await startHarness({
      clustersYaml: `
clusters:
  docker-ok: { kind: docker, socket: ${s}, container: agent-ok }
  docker-failed: { kind: docker, socket: ${s}, container: agent-status-failed }
  docker-unreachable: { kind: docker, socket: ${s}, container: agent-unreachable }
  docker-disabled: { kind: docker, host: "unix://${s}", container: agent-disabled }
  docker-hang: { kind: docker, socket: ${s}, container: agent-hang, selftest: { timeoutMs: 1000 } }
  docker-missing: { kind: docker, socket: ${s}, container: datadog-agent }
  docker-dead: { kind: docker, socket: ${s}.gone, container: datadog-agent }
  docker-flare: { kind: docker, socket: ${s}, container: agent-flare-secret }
`,
      jobPolicy: { attempts: 2, backoffMs: 100 },
    });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await docker?.stop();
  }, 60_000);

  it('DockerTarget demuxes stdout/stderr and reads the exit code from exec inspect', async () => {
    const cfg = parseClustersFile(`clusters:\n  d: { kind: docker, socket: ${docker.socketPath}, container: agent-unreachable }\n`).clusters
      .d as DockerClusterConfig;
    const t = new DockerTarget(cfg);
    const [agent] = await t.listAgents();
    const r = await t.exec(agent!, ['security-agent', 'runtime', 'self-test'], { timeoutMs: 5000 });
    expect(r.exitCode).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: unable to get a process self test: rpc error: code = Unavailable/);
    const missing = await t.exec(agent!, ['no-such-binary'], { timeoutMs: 5000 });
    expect(missing.exitCode).toBe(126);
    expect(missing.stdout + missing.stderr).toMatch(/executable file not found/);
  });

  it('all OK', async () => {
    const c = ch();
    await h.signer.command('selftest docker-ok', { channelId: c });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({ cluster: 'docker-ok', total: 1, ok: 1, failed: 0, results: [{ pod: 'agent-ok', status: 'ok' }] });
  });

  it('one failed test, named', async () => {
    const c = ch();
    await h.signer.command('selftest docker-failed', { channelId: c });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({
      failed: 1,
      results: [{ status: 'failed', failedTests: ['datadog_agent_cws_self_test_rule_chmod', 'datadog_agent_cws_self_test_rule_chown'] }],
    });
  });

  it('agent unreachable (system-probe down) and self-test disabled are errors', async () => {
    const a = ch();
    const b = ch();
    await h.signer.command('selftest docker-unreachable', { channelId: a });
    await h.signer.command('selftest docker-disabled', { channelId: b });
    const fa = await h.emu.waitFor((e) => finalSelftest(e, a), { timeoutMs: 20_000 });
    const fb = await h.emu.waitFor((e) => finalSelftest(e, b), { timeoutMs: 20_000 });
    expect(fa.metadata!.event_payload).toMatchObject({ results: [{ status: 'error', message: expect.stringContaining('system-probe unreachable') }] });
    expect(fb.metadata!.event_payload).toMatchObject({ results: [{ status: 'error', message: expect.stringContaining('self-test is disabled') }] });
  });

  it('exec timeout', async () => {
    const c = ch();
    await h.signer.command('selftest docker-hang', { channelId: c });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({ results: [{ status: 'timeout', message: 'timed out after 1 s' }] });
  });

  it('container missing', async () => {
    const c = ch();
    await h.signer.command('selftest docker-missing', { channelId: c });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({
      total: 1,
      failed: 1,
      results: [{ pod: 'datadog-agent', status: 'error', message: expect.stringMatching(/container datadog-agent not found on Docker engine at unix:\/\//) }],
    });
  });

  it('engine unreachable: retried, then one clear failure with what to do', async () => {
    const c = ch();
    await h.signer.command('selftest docker-dead', { channelId: c });
    const final = await h.emu.waitFor((e) => finalSelftest(e, c), { timeoutMs: 20_000 });
    expect(final.metadata!.event_payload).toMatchObject({
      total: 0,
      error: expect.stringMatching(/Docker engine at unix:\/\/.*\.gone is unreachable \(ENOENT\)/),
    });
    expect(JSON.stringify(final.blocks)).toContain('Check that dockerd is running');
  });

  it('flare: review (with the secret the scrubber missed), then Send uploads that archive; Cancel removes it', async () => {
    const stageOf = (c: string, stage: string) => (e: typeof h.emu) =>
      e.messages(c).find((m) => m.metadata?.event_type === 'cws_flare_result' && m.metadata.event_payload.stage === stage);
    const c = ch();
    await h.signer.command('flare docker-flare 1234567 --email ops@example.com', { channelId: c, userId: 'UDOCK001' });
    const review = await h.emu.waitFor(stageOf(c, 'review'), { timeoutMs: 30_000 });
    expect(review.metadata!.event_payload).toMatchObject({ node: expect.any(String), caseId: '1234567', findings: 1 });
    expect(JSON.stringify(review.blocks)).not.toContain('4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99');
    await h.signer.action({
      actionId: 'flare.send',
      value: String(review.metadata!.event_payload.jobId),
      userId: 'UDOCK001',
      channelId: c,
      messageTs: review.ts,
    });
    const sent = await h.emu.waitFor(stageOf(c, 'sent'), { timeoutMs: 30_000 });
    expect(sent.metadata!.event_payload).toMatchObject({ caseId: '1234567', archive: review.metadata!.event_payload.archive });

    const c2 = ch();
    await h.signer.command('flare docker-flare 7654321 --email ops@example.com', { channelId: c2, userId: 'UDOCK001' });
    const review2 = await h.emu.waitFor(stageOf(c2, 'review'), { timeoutMs: 30_000 });
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(review2.metadata!.event_payload.jobId),
      userId: 'UDOCK001',
      channelId: c2,
      messageTs: review2.ts,
    });
    const cancelled = await h.emu.waitFor(stageOf(c2, 'cancelled'), { timeoutMs: 30_000 });
    expect(JSON.stringify(cancelled.blocks)).toContain('Then the bot removed the archive from the node.');
  });
});
