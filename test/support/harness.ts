/**
 * The whole product in one test process: a private Redis, the Slack emulator, the real bot
 * (Bolt over HTTP, signed requests) and the real worker (BullMQ), wired as in production.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { parseClustersFile } from '../../src/config/clusters.ts';
import type { JobPolicy } from '../../src/contract/queues.ts';
import { blockingOptions } from '../../src/config/redis.ts';
import { type Bot, createBot } from '../../src/bot/app.ts';
import { startWorkers, type WorkerProcess } from '../../workers/main.ts';
import { type PrivateRedis, startRedis } from './redis.ts';
import { type SlackMessage, SlackEmulator } from '../../src/sandbox/slack-api.ts';
import { SlackSigner } from '../../src/sandbox/signer.ts';
import type { Simulator } from '../../src/sim/index.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-token';

export interface Harness {
  redis: PrivateRedis;
  emu: SlackEmulator;
  bot: Bot;
  worker?: WorkerProcess;
  signer: SlackSigner;
  port: number;
  startWorker(): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  clustersYaml: string;
  jobPolicy?: Partial<JobPolicy>;
  minIntervalMs?: number;
  withWorker?: boolean;
  redis?: PrivateRedis;
  logLevel?: string;
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const redis = o.redis ?? (await startRedis());
  const emu = await SlackEmulator.start({ token: BOT_TOKEN });
  const clusters = parseClustersFile(o.clustersYaml, 'test config');
  const logger = pino({ level: o.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent' });
  const bot = createBot({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    slackApiUrl: emu.url,
    redisUrl: redis.url,
    clusters,
    logger,
    jobPolicy: { attempts: 2, backoffMs: 200, ...o.jobPolicy },
    notifier: { minIntervalMs: o.minIntervalMs ?? 1000, baseBackoffMs: 50 },
    reconcileIntervalMs: 2_000,
  });
  const port = (await bot.start(0))!;
  const signer = new SlackSigner({
    secret: SIGNING_SECRET,
    url: `http://127.0.0.1:${port}/slack/events`,
    responseUrlBase: emu.responseUrl('').replace(/\/$/, ''),
  });
  const h: Harness = {
    redis,
    emu,
    bot,
    signer,
    port,
    async startWorker() {
      const w = await startWorkers({ clusters, connection: blockingOptions(redis.url), logger });
      h.worker ??= w;
      return w;
    },
    async close() {
      await h.worker?.close();
      await bot.stop();
      await emu.close();
      if (!o.redis) await redis.stop();
    },
  };
  if (o.withWorker !== false) await h.startWorker();
  return h;
}

/** The final self-test message in a channel: the one carrying `cws_selftest_result` metadata. */
export function finalSelftest(emu: SlackEmulator, channel: string) {
  return emu.messages(channel).find((m) => m.metadata?.event_type === 'cws_selftest_result');
}

/** A button of a stored message, found by its text, with the ids Slack would send when it is clicked. */
export function buttonIn(m: SlackMessage, text: string | RegExp): { blockId: string; actionId: string; value: string } {
  for (const block of (m.blocks ?? []) as {
    type: string;
    block_id?: string;
    elements?: { type: string; action_id: string; value?: string; text?: { text: string } }[];
  }[]) {
    if (block.type !== 'actions') continue;
    for (const el of block.elements ?? []) {
      const label = el.text?.text ?? '';
      if (el.type === 'button' && (typeof text === 'string' ? label === text : text.test(label)))
        return { blockId: block.block_id ?? '', actionId: el.action_id, value: el.value ?? '' };
    }
  }
  throw new Error(`no button ${String(text)} in message ${m.ts}`);
}

/**
 * Clicks a button of a message as Slack does: the payload carries that element's block_id,
 * action_id and value, and the message it is in.
 */
export function click(h: Pick<Harness, 'signer' | 'emu'>, m: SlackMessage, text: string | RegExp, userId: string) {
  const b = buttonIn(m, text);
  return h.signer.action({ ...b, userId, channelId: m.channel, messageTs: m.ts, message: h.emu.wireMessage(m) });
}

/** Cilium's classifier on `lxc9fc12c71903b` at tc priority `pref`, as `tc filter show` prints it (a YAML string). */
export const ciliumTc = (pref: number) =>
  `"filter protocol all pref ${pref} bpf chain 0 \\nfilter protocol all pref ${pref} bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited \\n"`;

export interface CiliumFleetOptions {
  /** The agent's version (default 7.50.3) and Cilium's (default 1.14.5). */
  agent?: string;
  cilium?: string;
  count: number;
  /** The tc priority of Cilium's classifier on every node. */
  pref: number;
  /** YAML lines under `nodes:` after the tc, e.g. `  overrides:\n    node-2: { … }\n`. */
  more?: string;
}

/** The simulator's fleet file of a cluster running CWS (security-agent and system-probe) beside Cilium. */
export const ciliumFleet = (name: string, o: CiliumFleetOptions) => `name: ${name}
agent:
  image: "gcr.io/datadoghq/agent:${o.agent ?? '7.50.3'}"
  containers:
    security-agent: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }
    system-probe: { env: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: "true" } }
cni: { daemonSet: cilium, namespace: kube-system, image: "quay.io/cilium/cilium:v${o.cilium ?? '1.14.5'}", labels: { k8s-app: cilium } }
nodes:
  count: ${o.count}
  tc:
    lxc9fc12c71903b: ${ciliumTc(o.pref)}
${o.more ?? ''}`;

/** Every text a message shows (its fallback `text`, every `text` of its blocks), mentions (`<@U…>`, `<#C…>`) and links taken out. */
export const shownText = (m: SlackMessage): string => {
  const texts: string[] = [m.text ?? ''];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') texts.push(x);
        else walk(x);
      }
  };
  walk(m.blocks);
  return texts
    .join('\n')
    .replace(/<[@#][A-Z0-9]+(\|[^>]*)?>/g, '')
    .replace(/<https?:\/\/[^>]*>/g, '');
};

/** A Slack user or channel ID written out as text, which a reader sees raw (people and channels are mentions). */
export const RAW_ID = /\b[UWCG][A-Z0-9]{7,}\b/;

/**
 * Writes each simulator's kubeconfig to `dir` (as `<name>.kubeconfig`) and returns the clusters
 * file's entries for them, in order: `<name>: { kind: kubernetes, kubeconfig, context, <rest(name)> }`.
 */
export async function simulatedClusters(dir: string, sims: Record<string, Simulator>, rest: (name: string) => string): Promise<string> {
  let yaml = '';
  for (const [name, sim] of Object.entries(sims)) {
    const kc = join(dir, `${name}.kubeconfig`);
    await sim.writeKubeconfig(kc);
    yaml += `  ${name}: { kind: kubernetes, kubeconfig: ${kc}, context: ${sim.contextName}, ${rest(name)} }\n`;
  }
  return yaml;
}

/** Closes the harness (if started), then every simulator, and removes `dir` (their kubeconfigs). */
export async function closeSimulated(h: Harness | undefined, sims: Record<string, Simulator>, dir: string): Promise<void> {
  await h?.close();
  for (const s of Object.values(sims)) await s.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Waits for the remediation result (`cws_remediation_result`) in `parent`'s thread whose payload matches `match` (the first one, without). */
export const remediationResultIn = (h: Pick<Harness, 'emu'>, parent: SlackMessage, match: (payload: Record<string, unknown>) => boolean = () => true) =>
  h.emu.waitFor(
    (e) =>
      e
        .messages(parent.channel)
        .find((m) => m.thread_ts === parent.ts && m.metadata?.event_type === 'cws_remediation_result' && match(m.metadata.event_payload)),
    { timeoutMs: 30_000 },
  );
