/**
 * Issue 19, point 1, the flare's part on Kubernetes: the review and the final message name the command
 * that built the archive — the core agent's `agent flare` in a pod without a security-agent container
 * (sp-only.yaml), `security-agent flare` where there is one. Through the API simulator, the bot, BullMQ
 * and the worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, parseFleet } from '../../src/sim/fleet.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cws-flare-cmd-'));
const sims: Simulator[] = [];
let h: Harness;

const flareStage = (c: string, stage: string) => (e: Harness['emu']) =>
  e.messages(c).find((m) => m.metadata?.event_type === 'cws_flare_result' && m.metadata.event_payload.stage === stage);

beforeAll(async () => {
  const fleets = {
    'sp-only': loadFleet(join(import.meta.dirname, '../fixtures/fleets/sp-only.yaml')),
    classic: parseFleet('name: classic\nnodes:\n  count: 2\n', 'classic fleet'),
  };
  let yaml = 'clusters:\n';
  for (const [name, fleet] of Object.entries(fleets)) {
    const sim = await startSimulator({ fleet });
    sims.push(sim);
    const kc = join(dir, `${name}.kubeconfig`);
    await sim.writeKubeconfig(kc);
    yaml += `  ${name}: { kind: kubernetes, kubeconfig: ${kc}, context: ${sim.contextName}, namespace: datadog }\n`;
  }
  h = await startHarness({ clustersYaml: yaml, minIntervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await h?.close();
  for (const s of sims) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the flare names its command', () => {
  it.each([
    ['sp-only', 'agent flare', 'CFCMD1'],
    ['classic', 'security-agent flare', 'CFCMD2'],
  ])('%s: review and final message say `%s`', async (cluster, command, c) => {
    await h.signer.command(`flare ${cluster} --node node-1 31 --email ops@example.com`, { channelId: c, userId: 'UTESTER1' });
    const review = await h.emu.waitFor(flareStage(c, 'review'), { timeoutMs: 30_000 });
    expect(JSON.stringify(review.blocks)).toContain(`*Built by*\\n\`${command}\``);
    await h.signer.action({
      actionId: 'flare.cancel',
      value: String(review.metadata!.event_payload.jobId),
      userId: 'UTESTER1',
      channelId: c,
      messageTs: review.ts,
    });
    const done = await h.emu.waitFor(flareStage(c, 'cancelled'), { timeoutMs: 30_000 });
    expect(JSON.stringify(done.blocks)).toContain(`built by \`${command}\``);
  });
});
