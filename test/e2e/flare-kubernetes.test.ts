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
    const picker = await h.emu.waitFor((e) => e.callsTo('chat.postEphemeral').find((c) => c.args.user === 'UFK00001' && JSON.stringify(c.args.blocks).includes('flare.pick_node')));
    const options = (picker.args.blocks as { accessory: { options: { value: string; text: { text: string } }[] } }[])[0]!.accessory.options;
    expect(options.map((o) => o.text.text)).toEqual(['node-1', 'node-2', 'node-3']);
    // A forged choice is refused; the offered one goes on.
    const forged = options[0]!.value.replace(/\|\d+$/, '|99');
    await h.signer.action({ actionId: 'flare.pick_node', selectedOption: { value: forged }, userId: 'UFK00001', channelId: 'CFK1' });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /not one of the nodes offered/.test(String(c.args.text))));
    await h.signer.action({ actionId: 'flare.pick_node', selectedOption: { value: options[1]!.value }, userId: 'UFK00001', channelId: 'CFK1' });
    const review = await h.emu.waitFor(stageOf('CFK1', 'review'), { timeoutMs: 20_000 });
    expect(review.metadata!.event_payload).toMatchObject({ node: 'node-2', caseId: '1234567', findings: 0 });
    await h.signer.action({ actionId: 'flare.send', value: String(review.metadata!.event_payload.jobId), userId: 'UFK00001', channelId: 'CFK1', messageTs: review.ts });
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
    await h.signer.action({ actionId: 'flare.send', value: String(review.metadata!.event_payload.jobId), userId: 'UFK00001', channelId: 'CFK2', messageTs: review.ts });
    await h.emu.waitFor((e) => e.callsTo('response_url').find((c) => /already failed/.test(String(c.args.text))));
  });
});
