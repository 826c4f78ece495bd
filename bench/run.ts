/** `npm run bench`: every figure is measured in this run, with its baseline from the same run. */
import { benchAck } from './ack.ts';

const f = (n: number) => `${n.toFixed(1)} ms`;

async function main() {
  const section = process.argv[2];
  if (!section || section === 'ack') {
    const { bot, baseline } = await benchAck();
    console.log('\n== slash-command ack at 50 commands/s (500 commands, open loop) ==');
    console.log(`baseline (Bolt acking at once): p50 ${f(baseline.p50)}  p99 ${f(baseline.p99)}  max ${f(baseline.max)}`);
    console.log(`cws bot (parse, authorise, enqueue, audit): p50 ${f(bot.p50)}  p99 ${f(bot.p99)}  max ${f(bot.max)}`);
    console.log(`ratio p99 bot/baseline: ${(bot.p99 / baseline.p99).toFixed(2)}x   target: p99 < 50 ms -> ${bot.p99 < 50 ? 'met' : 'NOT met'}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
