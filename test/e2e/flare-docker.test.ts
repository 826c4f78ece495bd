/**
 * `/cws flare` on Docker targets, against a real (private) dockerd, where the security-agent is not
 * there (issue 19 point 1): the worker falls back to the core agent's `agent flare` in the same
 * container, with the same review-before-upload promise (held at its prompt, archive read, hashed
 * and scanned, uploaded = reviewed). The `datadog/agent` image runs every agent process in one
 * container (s6 services `agent`, `security`, `sysprobe`; its PATH has `/opt/datadog-agent/bin/agent/`
 * and `/opt/datadog-agent/embedded/bin/`), so the fallback is decided, as on a host, by what the
 * command does (src/sim/FLARE-SOURCES.md §10): a security-agent that is not running (its s6 service
 * exited: its flare builds a partial archive locally) or not in the container at all.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeAgentImage, dockerAvailable, type PrivateDocker, runAgentContainer, startPrivateDocker } from '../support/docker.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const avail = await dockerAvailable();
const mustRun = process.env.CI === 'true';
if (!avail.ok && !mustRun) console.warn(`[flare-docker] skipped: ${avail.reason}`);
const suite = avail.ok || mustRun ? describe : describe.skip;

type Payload = Record<string, unknown> & { stage: string; sha256?: string; archive: { name: string; bytes: number; files: number } | null };
const UPLOADS = '/var/uploads';

suite('/cws flare on Docker agents without a running security-agent (real dockerd)', () => {
  let docker: PrivateDocker;
  let h: Harness;
  let engine: Docker;
  let n = 0;
  const ch = () => `CDFL${String(++n).padStart(4, '0')}`;
  const flareMsgs = (c: string) => h.emu.messages(c).filter((m) => m.metadata?.event_type === 'cws_flare_result');
  const stage = (c: string, s: string) => () => flareMsgs(c).find((m) => (m.metadata!.event_payload as Payload).stage === s);
  const review = (c: string) => h.emu.waitFor(stage(c, 'review'), { timeoutMs: 30_000 });

  /** Runs argv in a container, straight through the Engine API (not through the code under test). */
  async function inContainer(name: string, argv: string[]): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
    const exec = await engine.getContainer(name).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const o = new PassThrough().on('data', (c: Buffer) => out.push(c));
    const e = new PassThrough().on('data', (c: Buffer) => err.push(c));
    engine.modem.demuxStream(stream, o, e);
    await new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), exitCode: (await exec.inspect()).ExitCode ?? -1 };
  }
  const zipsIn = async (name: string) =>
    (await inContainer(name, ['ls', '/tmp'])).stdout
      .toString()
      .split('\n')
      .filter((f) => f.endsWith('.zip'));
  const uploadsOf = async (name: string) =>
    (await inContainer(name, ['cat', `${UPLOADS}/uploads.log`])).stdout
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));

  beforeAll(async () => {
    docker = await startPrivateDocker();
    engine = new Docker({ socketPath: docker.socketPath });
    const both = await buildFakeAgentImage(docker.socketPath, 'cws-fake-agent:both', { coreAgent: true });
    const coreOnly = await buildFakeAgentImage(docker.socketPath, 'cws-fake-agent:core', { securityAgent: false, coreAgent: true });
    const none = await buildFakeAgentImage(docker.socketPath, 'cws-fake-agent:none', { securityAgent: false });
    await runAgentContainer(docker.socketPath, { name: 'dk-stopped', image: both, securityAgentStopped: true, uploads: UPLOADS });
    await runAgentContainer(docker.socketPath, { name: 'dk-core', image: coreOnly, uploads: UPLOADS });
    await runAgentContainer(docker.socketPath, { name: 'dk-running', image: both, uploads: UPLOADS });
    await runAgentContainer(docker.socketPath, { name: 'dk-none', image: none });
    const s = docker.socketPath;
    h = await startHarness({
      clustersYaml: `
clusters:
  dk-stopped: { kind: docker, socket: ${s}, container: dk-stopped }
  dk-core: { kind: docker, socket: ${s}, container: dk-core }
  dk-running: { kind: docker, socket: ${s}, container: dk-running }
  dk-none: { kind: docker, socket: ${s}, container: dk-none }
`,
      minIntervalMs: 100,
    });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await docker?.stop();
  }, 60_000);

  it('security-agent installed but not running: its partial local flare is declined and removed; the core agent’s is reviewed and exactly that archive sent', async () => {
    const c = ch();
    await h.signer.command('flare dk-stopped 4242 --email ops@example.com', { channelId: c, userId: 'UDFL0001' });
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('*Built by*\\n`agent flare`');
    expect(text).toContain('status.log');
    expect(text).not.toContain('security-agent-status.log');
    // Held at its prompt; only the core agent's archive is left in the container.
    expect(await zipsIn('dk-stopped')).toEqual([p.archive!.name]);
    expect(await uploadsOf('dk-stopped')).toEqual([]);

    await h.signer.action({ actionId: 'flare.send', value: String(p.jobId), userId: 'UDFL0001', channelId: c, messageTs: r.ts });
    const sent = await h.emu.waitFor(stage(c, 'sent'), { timeoutMs: 30_000 });
    expect(sent.metadata!.event_payload).toMatchObject({ stage: 'sent', caseId: '4242', archive: p.archive });
    expect(JSON.stringify(sent.blocks)).toContain('built by `agent flare`');
    const ups = await uploadsOf('dk-stopped');
    expect(ups).toHaveLength(1);
    expect(ups[0]!.slice(0, 3)).toEqual(['1', 'ok', '4242']);
    const bytes = (await inContainer('dk-stopped', ['cat', `${UPLOADS}/1.zip`])).stdout;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
    expect(bytes.length).toBe(p.archive!.bytes);
  }, 60_000);

  it('no security-agent in the container: the core agent’s flare; Cancel tells it no and removes its archive', async () => {
    const c = ch();
    await h.signer.command('flare dk-core 2718 --email ops@example.com', { channelId: c, userId: 'UDFL0001' });
    const r = await review(c);
    const p = r.metadata!.event_payload as Payload;
    expect(JSON.stringify(r.blocks)).toContain('*Built by*\\n`agent flare`');
    expect(await zipsIn('dk-core')).toEqual([p.archive!.name]);
    await h.signer.action({ actionId: 'flare.cancel', value: String(p.jobId), userId: 'UDFL0001', channelId: c, messageTs: r.ts });
    const done = await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 30_000 });
    expect(JSON.stringify(done.blocks)).toContain('Then the bot removed the archive from the node.');
    expect(JSON.stringify(done.blocks)).toContain('built by `agent flare`');
    expect(await zipsIn('dk-core')).toEqual([]);
    expect(await uploadsOf('dk-core')).toEqual([]);
  }, 60_000);

  it('a running security-agent: `security-agent flare` as before', async () => {
    const c = ch();
    await h.signer.command('flare dk-running 77 --email ops@example.com', { channelId: c, userId: 'UDFL0001' });
    const r = await review(c);
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('*Built by*\\n`security-agent flare`');
    expect(text).toContain('security-agent-status.log');
    await h.signer.action({ actionId: 'flare.cancel', value: String(r.metadata!.event_payload.jobId), userId: 'UDFL0001', channelId: c, messageTs: r.ts });
    await h.emu.waitFor(stage(c, 'cancelled'), { timeoutMs: 30_000 });
    expect(await uploadsOf('dk-running')).toEqual([]);
  }, 60_000);

  it('neither in the container: the failure names both and says what to check', async () => {
    const c = ch();
    await h.signer.command('flare dk-none 5 --email ops@example.com', { channelId: c, userId: 'UDFL0001' });
    const failed = await h.emu.waitFor(stage(c, 'failed'), { timeoutMs: 30_000 });
    const text = JSON.stringify(failed.blocks);
    expect(text).toContain('security-agent not found in container dk-none');
    expect(text).toContain('no core agent either (agent not found in container dk-none');
    expect(text).toContain('`container` setting');
  }, 60_000);
});
