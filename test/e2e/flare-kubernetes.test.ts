/**
 * The flare on Kubernetes, through the API simulator: node picker when `--node` is missing,
 * review, Send; and the promise kept when the worker holding the session is killed: the
 * agent sees its prompt's input end and aborts, nothing is sent.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sim/fleet.ts';
import { replaceFlareArchive } from '../../src/sim/flare-tools.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';
import { startWorkerProcess } from '../support/worker-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-flare-k8s-'));
let sim: Simulator;
let redis: PrivateRedis;
let h: Harness;
let worker: ChildProcess;

const stageOf = (c: string, stage: string) => (e: Harness['emu']) =>
  e.messages(c).find((m) => m.metadata?.event_type === 'cws_flare_result' && m.metadata.event_payload.stage === stage);

beforeAll(async () => {
  sim = await startSimulator({ fleet: parseFleet('name: flare-k\nnodes:\n  count: 3\n', 'flare fleet') });
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  const yaml = `clusters:\n  flare-k: { kind: kubernetes, kubeconfig: ${kubeconfig}, context: ${sim.contextName} }\n`;
  const configPath = join(dir, 'cws.yaml');
  writeFileSync(configPath, yaml);
  redis = await startRedis();
  // One worker in this process, one in a child process that the crash test kills.
  h = await startHarness({ clustersYaml: yaml, redis, minIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await h?.close();
  await redis?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('/cws flare on Kubernetes', () => {
  it('offers a node picker when --node is missing, then builds on the picked node and sends', async () => {
    const res = await h.signer.command('flare flare-k 1234567 --email ops@example.com', { channelId: 'CFK1', userId: 'UFK00001' });
    expect(res.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/needs a node/) });
    const picker = await h.emu.waitFor((e) =>
      e.callsTo('chat.postEphemeral').find((c) => c.args.user === 'UFK00001' && JSON.stringify(c.args.blocks).includes('flare.pick_node')),
    );
    const options = (picker.args.blocks as { accessory: { options: { value: string; text: { text: string } }[] } }[])[0]!.accessory.options;
    expect(options.map((o) => o.text.text)).toEqual(['node-1', 'node-2', 'node-3']);
    // A forged choice is refused; the offered one goes on.
    const forged = options[0]!.value.replace(/\|\d+$/, '|99');
    await h.signer.action({ actionId: 'flare.pick_node', selectedOption: { value: forged }, userId: 'UFK00001', channelId: 'CFK1' });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /not one of the nodes offered/.test(String(c.args.text))));
    await h.signer.action({ actionId: 'flare.pick_node', selectedOption: { value: options[1]!.value }, userId: 'UFK00001', channelId: 'CFK1' });
    const review = await h.emu.waitFor(stageOf('CFK1', 'review'), { timeoutMs: 20_000 });
    expect(review.metadata!.event_payload).toMatchObject({ node: 'node-2', caseId: '1234567', findings: 0 });
    await h.signer.action({
      actionId: 'flare.send',
      value: String(review.metadata!.event_payload.jobId),
      userId: 'UFK00001',
      channelId: 'CFK1',
      messageTs: review.ts,
    });
    const sent = await h.emu.waitFor(stageOf('CFK1', 'sent'), { timeoutMs: 20_000 });
    expect(sent.metadata!.event_payload).toMatchObject({ node: 'node-2', caseId: '1234567' });
    // What the agent uploaded is the archive that was reviewed (same name and size).
    const uploads = sim.state.flareUploads('node-2');
    expect(uploads).toHaveLength(1);
    const archive = review.metadata!.event_payload.archive as { name: string; bytes: number };
    expect(uploads[0]!.path.endsWith(archive.name)).toBe(true);
    expect(uploads[0]!.caseId).toBe('1234567');
    expect(uploads[0]!.archive.length).toBe(archive.bytes);
  });

  it('two flares on one node at once: one is reviewed, the other refused with who holds the node; the node is free again after', async () => {
    const [a, b] = await Promise.all([
      h.signer.command('flare flare-k --node node-1 111 --email a@example.com', { channelId: 'CFKR', userId: 'UFKRACEA' }),
      h.signer.command('flare flare-k --node node-1 222 --email b@example.com', { channelId: 'CFKR', userId: 'UFKRACEB' }),
    ]);
    const acks = [a, b].map((r) => String((r.json as { text?: string } | undefined)?.text ?? ''));
    const refused = acks.filter((t) => /A flare is already under review on `node-1` by <@UFKRACE[AB]> \(job fl-[0-9a-f-]{36}\)/.test(t));
    expect(refused).toHaveLength(1);
    const review = await h.emu.waitFor(stageOf('CFKR', 'review'), { timeoutMs: 20_000 });
    const holder = /by <@(UFKRACE[AB])> \(job (fl-[0-9a-f-]{36})\)/.exec(refused[0]!)!;
    expect(review.metadata!.event_payload).toMatchObject({ jobId: holder[2], node: 'node-1', caseId: holder[1] === 'UFKRACEA' ? '111' : '222' });
    // Only one archive was built on the node, and only one flare message is in the channel.
    await new Promise((r) => setTimeout(r, 500));
    expect(sim.state.podFiles('datadog', sim.state.agentPod('node-1')!.metadata.name)!.list('/tmp')).toHaveLength(1);
    expect(h.emu.messages('CFKR').filter((m) => m.metadata?.event_type === 'cws_flare_result')).toHaveLength(1);
    await h.signer.action({ actionId: 'flare.cancel', value: holder[2]!, userId: holder[1]!, channelId: 'CFKR', messageTs: review.ts });
    await h.emu.waitFor(stageOf('CFKR', 'cancelled'), { timeoutMs: 20_000 });
    // Released with the review: the next flare on node-1 starts.
    const again = await h.signer.command('flare flare-k --node node-1 333 --email a@example.com', { channelId: 'CFKR2', userId: 'UFKRACEB' });
    expect(String((again.json as { text?: string } | undefined)?.text ?? '')).not.toMatch(/already under review/);
    const r2 = await h.emu.waitFor(stageOf('CFKR2', 'review'), { timeoutMs: 20_000 });
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(r2.metadata!.event_payload.jobId),
      userId: 'UFKRACEB',
      channelId: 'CFKR2',
      messageTs: r2.ts,
    });
    await h.emu.waitFor(stageOf('CFKR2', 'cancelled'), { timeoutMs: 20_000 });
  });

  it('the archive replaced after review (another flare in the same second): Send answers n, nothing is uploaded', async () => {
    await h.signer.command('flare flare-k --node node-1 444 --email ops@example.com', { channelId: 'CFKS', userId: 'UFK00001' });
    const review = await h.emu.waitFor(stageOf('CFKS', 'review'), { timeoutMs: 20_000 });
    const archive = review.metadata!.event_payload.archive as { name: string; bytes: number };
    const sha256 = String(review.metadata!.event_payload.sha256);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(review.blocks)).toContain(`SHA-256 \`${sha256.slice(0, 16)}…\``);
    const path = `/tmp/${archive.name}`;
    const other = new TextEncoder().encode('PK… the archive of another flare of the same second');
    expect(replaceFlareArchive(sim.state, 'node-1', path, other)).toBeDefined();
    const uploadsBefore = sim.state.flareUploads('node-1').length;
    await h.signer.action({
      actionId: 'flare.send',
      value: String(review.metadata!.event_payload.jobId),
      userId: 'UFK00001',
      channelId: 'CFKS',
      messageTs: review.ts,
    });
    const failed = await h.emu.waitFor(stageOf('CFKS', 'failed'), { timeoutMs: 20_000 });
    expect(failed.ts).toBe(review.ts);
    expect(failed.metadata!.event_payload).toMatchObject({ reason: 'archive_changed' });
    const text = JSON.stringify(failed.blocks);
    expect(text).toContain('the archive changed after review, so nothing was sent');
    expect(text).toContain('not the archive that was reviewed');
    expect(text).toContain('Aborting. (You can still use');
    expect(sim.state.flareUploads('node-1')).toHaveLength(uploadsBefore);
    const pod = sim.state.agentPod('node-1')!.metadata.name;
    expect(Buffer.from(sim.state.podFiles('datadog', pod)!.read(path)!.data).equals(Buffer.from(other))).toBe(true); // not ours to remove
  });

  it('Cancel removes only its own archive: a different file at the reviewed path is left in place', async () => {
    await h.signer.command('flare flare-k --node node-1 555 --email ops@example.com', { channelId: 'CFKC', userId: 'UFK00001' });
    const review = await h.emu.waitFor(stageOf('CFKC', 'review'), { timeoutMs: 20_000 });
    const path = `/tmp/${(review.metadata!.event_payload.archive as { name: string }).name}`;
    const other = new TextEncoder().encode('the other flare');
    replaceFlareArchive(sim.state, 'node-1', path, other);
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(review.metadata!.event_payload.jobId),
      userId: 'UFK00001',
      channelId: 'CFKC',
      messageTs: review.ts,
    });
    const done = await h.emu.waitFor(stageOf('CFKC', 'cancelled'), { timeoutMs: 20_000 });
    expect(JSON.stringify(done.blocks)).toContain('is no longer the reviewed archive');
    const pod = sim.state.agentPod('node-1')!.metadata.name;
    expect(Buffer.from(sim.state.podFiles('datadog', pod)!.read(path)!.data).equals(Buffer.from(other))).toBe(true);
    // Its own archive, unchanged, it does remove.
    await h.signer.command('flare flare-k --node node-1 556 --email ops@example.com', { channelId: 'CFKC2', userId: 'UFK00001' });
    const r2 = await h.emu.waitFor(stageOf('CFKC2', 'review'), { timeoutMs: 20_000 });
    const path2 = `/tmp/${(r2.metadata!.event_payload.archive as { name: string }).name}`;
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(r2.metadata!.event_payload.jobId),
      userId: 'UFK00001',
      channelId: 'CFKC2',
      messageTs: r2.ts,
    });
    const d2 = await h.emu.waitFor(stageOf('CFKC2', 'cancelled'), { timeoutMs: 20_000 });
    expect(JSON.stringify(d2.blocks)).toContain('Then the bot removed the archive from the node.');
    if (path2 !== path) expect(sim.state.podFiles('datadog', pod)!.read(path2)).toBeUndefined();
  });

  it('a worker killed during the review: the agent aborts, nothing is sent, the channel is told', async () => {
    // Only the child worker serves the cluster for this test.
    await h.worker!.close();
    h.worker = undefined;
    const configPath = join(dir, 'cws.yaml');
    worker = await startWorkerProcess({ redisUrl: redis.url, configPath });
    await h.signer.command('flare flare-k --node node-3 555 --email ops@example.com', { channelId: 'CFK2', userId: 'UFK00001' });
    const review = await h.emu.waitFor(stageOf('CFK2', 'review'), { timeoutMs: 20_000 });
    worker.kill('SIGKILL');
    await once(worker, 'exit');
    // Another replica takes the job over once its lock lapses, and must not build or send again.
    worker = await startWorkerProcess({ redisUrl: redis.url, configPath });
    const failed = await h.emu.waitFor(stageOf('CFK2', 'failed'), { timeoutMs: 30_000 });
    expect(failed.ts).toBe(review.ts);
    expect(failed.metadata!.event_payload).toMatchObject({ reason: 'session_lost' });
    expect(JSON.stringify(failed.blocks)).toContain('nothing was sent');
    expect(sim.state.flareUploads('node-3')).toHaveLength(0);
    await h.signer.action({
      actionId: 'flare.send',
      value: String(review.metadata!.event_payload.jobId),
      userId: 'UFK00001',
      channelId: 'CFK2',
      messageTs: review.ts,
    });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /already failed/.test(String(c.args.text))));
    // The job that took over released node-3's flare lock: a new flare there starts.
    const next = await h.signer.command('flare flare-k --node node-3 556 --email ops@example.com', { channelId: 'CFK3', userId: 'UFK00001' });
    expect(String((next.json as { text?: string } | undefined)?.text ?? '')).not.toMatch(/already under review/);
    await h.emu.waitFor(stageOf('CFK3', 'review'), { timeoutMs: 20_000 });
  });
});
