/**
 * Slash-command ack latency at a fixed rate: the real bot (Bolt over HTTP, signature check,
 * parse, authorise, enqueue into Redis, audit) against a baseline Bolt app that acks at once,
 * both measured in this run on this machine. Target: p99 < 50 ms at 50 commands/s.
 */
import { App } from '@slack/bolt';
import { startHarness } from '../test/support/harness.ts';
import { SlackSigner } from '../src/sandbox/signer.ts';

export interface AckStats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
export const stats = (xs: number[]): AckStats => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s.at(-1)! };
};

/** Sends `count` commands at `rate`/s (open loop: the schedule does not wait for answers). */
async function drive(signer: SlackSigner, count: number, rate: number, text: (i: number) => string): Promise<number[]> {
  const lat: number[] = [];
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      signer.command(text(i), { channelId: `CBENCH${i % 10}`, userId: 'UBENCH01' }).then((r) => {
        if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${signer.constructor.name}: ${r.body.slice(0, 200)}`);
        lat.push(r.ms);
      }),
    );
  }
  await Promise.all(pending);
  return lat;
}

export async function benchAck(count = 500, rate = 50): Promise<{ bot: AckStats; baseline: AckStats }> {
  // Baseline: Bolt alone, acking immediately.
  const secret = 'bench-signing-secret-0123456789';
  const base = new App({
    authorize: async () => ({ botToken: 'xoxb-bench', botId: 'BBENCH', botUserId: 'UBENCHBOT' }),
    signingSecret: secret,
    logger: { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} },
  });
  base.command('/cws', async ({ ack }) => ack());
  const server = (await base.start(0)) as unknown as { address(): { port: number } };
  const baseSigner = new SlackSigner({ secret, url: `http://127.0.0.1:${server.address().port}/slack/events` });
  await drive(baseSigner, 50, rate, () => 'help'); // warm-up
  const baseline = stats(await drive(baseSigner, count, rate, () => 'help'));
  await base.stop();

  // The bot: no worker, so the jobs only queue and the measurement is the ack path alone.
  const h = await startHarness({
    clustersYaml: 'clusters:\n  bench-a: { kind: host, binary: /opt/datadog-agent/embedded/bin/security-agent }\n',
    withWorker: false,
  });
  await drive(h.signer, 50, rate, (i) => `selftest bench-a --node warm-${i}`);
  const bot = stats(await drive(h.signer, count, rate, (i) => `selftest bench-a --node node-${i}`));
  await h.close();
  return { bot, baseline };
}
