/** The operator CLI (`npx cws …`) as a real process against a private Redis and a real worker. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClustersFile } from '../../src/config/clusters.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { Job, Queue } from 'bullmq';
import { queueName } from '../../src/contract/queues.ts';
import { NetcheckResult, SelftestResult } from '../../src/contract/jobs.ts';
import { renderNetcheckResult } from '../../src/core/slack/blocks/netcheck.ts';
import { renderResult } from '../../src/core/slack/blocks/selftest.ts';
import { parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { type HostAgent, prepareHostAgent } from '../support/host-agent.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'cws-cli-'));
let redis: PrivateRedis;
let worker: WorkerProcess;
let sim: Simulator;
const agents: HostAgent[] = [];
const configPath = join(dir, 'cws.yaml');

function cws(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/cws.mjs'), ...args],
      { cwd: ROOT, env: { ...process.env, REDIS_URL: redis.url, CWS_CONFIG: configPath, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const ok = await prepareHostAgent({ selftest: 'ok' });
  const failing = await prepareHostAgent({ selftest: 'status-failed' });
  agents.push(ok, failing);
  sim = await startSimulator({
    fleet: parseFleet(
      'name: cli-k\nagent: { image: "gcr.io/datadoghq/agent:7.39.1" }\ncni: { daemonSet: cilium, namespace: kube-system, image: "quay.io/cilium/cilium:v1.9.5", labels: { k8s-app: cilium } }\nnodes: { count: 2 }\n',
      'cli fleet',
    ),
  });
  const kc = join(dir, 'k.kubeconfig');
  await sim.writeKubeconfig(kc);
  const yaml = `clusters:\n  cli-ok: { kind: host, binary: ${ok.binary} }\n  cli-failing: { kind: host, binary: ${failing.binary} }\n  cli-private: { kind: host, binary: ${ok.binary}, access: { run: [UALLOWED1] } }\n  cli-k: { kind: kubernetes, kubeconfig: ${kc}, context: ${sim.contextName} }\n`;
  writeFileSync(configPath, yaml);
  redis = await startRedis();
  worker = await startWorkers({ clusters: parseClustersFile(yaml), connection: blockingOptions(redis.url), logger: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await sim?.close();
  await redis?.stop();
  for (const a of agents) a.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** What the bot attaches to the Slack message of that job's result. */
async function slackMetadataOf(cluster: string, jobId: string) {
  const q = new Queue(queueName(cluster), { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    const job = await Job.fromId(q, jobId);
    const ctx = { jobId, cluster, requestedBy: 'U0CLI001' };
    return cluster === 'cli-k'
      ? renderNetcheckResult(ctx, NetcheckResult.parse(job!.returnvalue)).metadata!.event_payload
      : renderResult(ctx, SelftestResult.parse(job!.returnvalue)).metadata!.event_payload;
  } finally {
    await q.close();
  }
}

describe('npx cws', () => {
  it('--json prints exactly the payload of the Slack message metadata (selftest and netcheck)', async () => {
    for (const [cmd, cluster] of [
      ['selftest', 'cli-ok'],
      ['netcheck', 'cli-k'],
    ] as const) {
      const r = await cws([cmd, cluster, '--json']);
      const printed = JSON.parse(r.stdout) as { jobId: string };
      expect(printed).toEqual(await slackMetadataOf(cluster, printed.jobId));
    }
  });

  it('selftest --json: exit 0 and the same payload as the Slack metadata', async () => {
    const r = await cws(['selftest', 'cli-ok', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cluster: 'cli-ok', total: 1, ok: 1, failed: 0, results: [{ status: 'ok' }] });
  });

  it('findings: exit 1, with a readable table', async () => {
    const r = await cws(['selftest', 'cli-failing']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/0\/1 agents OK/);
    expect(r.stdout).toMatch(/NODE\s+POD\s+STATUS\s+DETAIL/);
    expect(r.stdout).toContain('datadog_agent_cws_self_test_rule_chmod');
  });

  it('errors: exit 2 for bad input, unknown clusters and denied users', async () => {
    expect((await cws(['selftest'])).code).toBe(2);
    const unknown = await cws(['selftest', 'nope']);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown cluster "nope"/) });
    const denied = await cws(['selftest', 'cli-private'], { CWS_USER: 'UOTHER001' });
    expect(denied).toMatchObject({ code: 2, stderr: expect.stringMatching(/not allowed/) });
    expect((await cws(['selftest', 'cli-private', '--json'], { CWS_USER: 'UALLOWED1' })).code).toBe(0);
    expect((await cws(['selftest', 'cli-ok'], { CWS_USER: 'alice' })).stderr).toMatch(/CWS_USER: must be your Slack user ID/);
  });

  it('clusters --json lists the clusters with their workers', async () => {
    const r = await cws(['clusters', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expect.arrayContaining([{ name: 'cli-ok', kind: 'host', workers: 1 }]));
  });
});
