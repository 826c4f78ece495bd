/**
 * The operator CLI: `npx cws <same grammar as the slash command> [--json]`. It enqueues the same
 * jobs through Redis as the bot, waits for them, and prints a table (colour and a progress bar on
 * a TTY) or JSON. Exit codes: 0 everything OK, 1 findings, 2 errors. Identity: CWS_USER (a Slack
 * user ID), checked against the same `access` lists as Slack.
 */
import { userInfo } from 'node:os';
import { QueueEvents } from 'bullmq';
import { authorise } from '../core/access.ts';
import { RedisAuditLog } from '../bot/state/audit.ts';
import { parseCommand, usageAll } from '../core/grammar.ts';
import { clusterNamed, loadClustersFile } from '../config/clusters.ts';
import { ConfigError, parseEnv } from '../config/env.ts';
import { JobProducer, withTimeout } from '../bot/state/producer.ts';
import { DEFAULT_JOB_POLICY, queueName } from '../contract/queues.ts';
import { redisConnection } from '../config/redis.ts';
import { NetcheckResult, SelftestProgress, SelftestResult } from '../contract/jobs.ts';
import { netcheckPayload, selftestPayload } from '../core/metadata.ts';
import { summarise } from '../core/selftest/summary.ts';
import { parseFailure } from '../contract/failures.ts';
import { ansi, plain, progressBar, renderNetcheckText, renderSelftestText, table } from './render.ts';

const EXIT = { ok: 0, findings: 1, error: 2 } as const;

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const words = argv.filter((a) => a !== '--json');
  const tty = Boolean(process.stdout.isTTY) && !json;
  const st = tty ? ansi : plain;
  const parsed = parseCommand(words.join(' '));
  if (!parsed.ok) {
    process.stderr.write(`cws: ${parsed.error}\n${parsed.usage.replace(/`/g, '')}\n`);
    return EXIT.error;
  }
  const cmd = parsed.command;
  if (cmd.name === 'help') {
    process.stdout.write(
      `${usageAll()
        .replace(/[`•]/g, '')
        .replace(/\/cws /g, 'npx cws ')}\n  add --json for machine-readable output\n`,
    );
    return EXIT.ok;
  }
  const env = parseEnv(process.env, 'worker');
  const clusters = loadClustersFile(env.CWS_CONFIG);
  const user = process.env.CWS_USER ?? `cli:${userInfo().username}`;
  if (process.env.CWS_USER !== undefined && !/^[UW][A-Z0-9]{2,}$/.test(user)) throw new ConfigError('CWS_USER: must be your Slack user ID (U… or W…)');

  const redisConn = redisConnection(env.REDIS_URL);
  const redis = redisConn.client('commands', 'cws:cli');
  redis.on('error', () => {});
  const producer = new JobProducer(redis, DEFAULT_JOB_POLICY, 5000);
  const audit = new RedisAuditLog(redis, { retentionDays: clusters.audit?.retentionDays });
  try {
    if (cmd.name === 'clusters') {
      const rows = await Promise.all(
        Object.entries(clusters.clusters).map(async ([name, c]) => ({ name, kind: c.kind, workers: await producer.workerCount(name).catch(() => null) })),
      );
      process.stdout.write(
        json
          ? `${JSON.stringify(rows, null, 2)}\n`
          : `${table([['CLUSTER', 'KIND', 'WORKERS'], ...rows.map((r) => [r.name, r.kind, r.workers === null ? '?' : String(r.workers)])])}\n`,
      );
      return EXIT.ok;
    }
    if (cmd.name === 'flare') {
      process.stderr.write('cws: the flare is reviewed in Slack before it is sent; run /cws flare there.\n');
      return EXIT.error;
    }
    if (cmd.name === 'audit' || cmd.name === 'jobs' || cmd.name === 'status' || cmd.name === 'incident' || cmd.name === 'schedule') {
      process.stderr.write(`cws: ${cmd.name} is answered in Slack (it checks who may see what); run /cws ${cmd.name} there.\n`);
      return EXIT.error;
    }
    const config = clusterNamed(clusters, cmd.cluster);
    if (!config) {
      process.stderr.write(`cws: unknown cluster "${cmd.cluster}" (configured: ${Object.keys(clusters.clusters).join(', ')})\n`);
      return EXIT.error;
    }
    const decision = authorise({ name: cmd.cluster, config }, user, 'run');
    if (!decision.allowed) {
      // The first command on this connection: wait until it is up (no offline queue), or the denial would go unrecorded.
      await withTimeout(producer.ready(), 5000, 'Redis did not answer').catch(() => {});
      await audit.append({ user, channel: 'cli', command: words.join(' '), cluster: cmd.cluster, outcome: 'denied' }).catch(() => {});
      process.stderr.write(`cws: not allowed: ${decision.reason.replace(/`/g, '')} (set CWS_USER to your Slack user ID)\n`);
      return EXIT.error;
    }
    const now = new Date().toISOString();
    const { jobId } =
      cmd.name === 'selftest'
        ? await producer.enqueueSelftest({
            kind: 'selftest',
            cluster: cmd.cluster,
            ...(cmd.node ? { node: cmd.node } : {}),
            requestedBy: user,
            requestedAt: now,
          })
        : await producer.enqueueNetcheck({ kind: 'netcheck', cluster: cmd.cluster, requestedBy: user, requestedAt: now });
    await audit.append({ user, channel: 'cli', command: words.join(' '), cluster: cmd.cluster, jobId, outcome: 'queued' }).catch(() => {});

    const events = new QueueEvents(queueName(cmd.cluster), { connection: redisConn.bullmq });
    events.on('error', () => {});
    await events.waitUntilReady();
    if (tty && cmd.name === 'selftest')
      events.on('progress', ({ jobId: id, data }) => {
        const p = SelftestProgress.safeParse(data);
        if (id === jobId && p.success)
          process.stderr.write(`\r${progressBar(p.data.done, p.data.total)}${p.data.failing ? `  ${p.data.failing} failing` : ''} `);
      });
    const job = (await producer.getJob(cmd.cluster, jobId))!;
    let value: unknown;
    try {
      value = await job.waitUntilFinished(events);
    } catch (err) {
      const f = parseFailure((err as Error).message);
      process.stderr.write(`${tty ? '\n' : ''}cws: ${cmd.name} on ${cmd.cluster} could not run: ${f.message}${f.hint ? `\n  what to do: ${f.hint}` : ''}\n`);
      return EXIT.error;
    } finally {
      await events.close();
    }
    if (tty) process.stderr.write('\r\x1b[K');
    if (cmd.name === 'selftest') {
      const r = SelftestResult.parse(value);
      process.stdout.write(json ? `${JSON.stringify(selftestPayload(jobId, cmd.cluster, r), null, 2)}\n` : `${renderSelftestText(r, st)}\n`);
      return summarise(r.results).notOk === 0 ? EXIT.ok : EXIT.findings;
    }
    const r = NetcheckResult.parse(value);
    process.stdout.write(json ? `${JSON.stringify(netcheckPayload(jobId, cmd.cluster, r), null, 2)}\n` : `${renderNetcheckText(r, st)}\n`);
    return r.verdict === 'ok' ? EXIT.ok : EXIT.findings;
  } finally {
    await producer.close();
    redis.disconnect();
    redisConn.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(err instanceof ConfigError ? `cws: configuration error: ${err.message}\n` : `cws: ${(err as Error).message}\n`);
    process.exit(EXIT.error);
  },
);
