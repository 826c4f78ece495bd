import { closeWithin } from './close-within.ts';
import { App, HTTPReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { RedisAuditLog } from './state/audit.ts';
import type { BotServices } from './commands/context.ts';
import { republishApprovalHomes } from './commands/approval.ts';
import { type ClustersFile, clusterNamed } from '../config/clusters.ts';
import { RedisCommandLimiter } from './state/command-limiter.ts';
import { JobProducer } from './state/producer.ts';
import { DEFAULT_JOB_POLICY, type JobPolicy } from '../contract/queues.ts';
import { redisConnection, whenReady } from '../config/redis.ts';
import { JobTracker } from './state/tracker.ts';
import { boltLogger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { readyKey, redisWritable, SucceedsOnce } from '../observability/readiness.ts';
import { register as registerActions } from './listeners/actions/index.ts';
import { register as registerCws } from './listeners/commands/cws.ts';
import { register as registerFlareEmail } from './listeners/views/flare-email.ts';
import { register as registerAppHome } from './listeners/events/app-home.ts';
import { Notifier, type NotifierOptions } from './notifier.ts';
import { JobMessages } from './job-messages.ts';
import { SlackDirectory } from './slack-directory.ts';
import { JobUpdates } from './job-updates.ts';
import { guardSlackRequests, RedisSeenRequests } from './http-guard.ts';
import { Schedules } from './schedules/service.ts';

export interface BotOptions {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  slackApiUrl?: string;
  redisUrl: string;
  clusters: ClustersFile;
  logger: Logger;
  jobPolicy?: JobPolicy;
  notifier?: NotifierOptions;
  reconcileIntervalMs?: number;
  /** Counts commands, jobs and Slack calls, and reads the queues at scrape time (src/observability/metrics.ts). */
  metrics?: Pick<Metrics, 'command' | 'job' | 'slackCall' | 'watchQueue'>;
  /** Scheduled checks. `minuteMs` (default 60 000) is a test-only knob passed in code: how long a minute of `every Nm` is. */
  schedules?: { minuteMs?: number };
}

export interface Bot {
  app: App;
  services: BotServices;
  notifier: Notifier;
  /**
   * Starts HTTP on `port` (0 = any free port; all interfaces, or only `host` when given) or Socket
   * Mode; resolves with the bound port in HTTP mode.
   */
  start(port: number | { port: number; host: string }): Promise<number | undefined>;
  /** Undefined when ready (Redis takes a write, Slack's auth.test succeeded once), else why not: for /readyz. */
  readiness(): Promise<string | undefined>;
  /** With `drainMs`: first posts the results of jobs that finished meanwhile, and waits (at most that long) for queued Slack edits. */
  stop(o?: { drainMs?: number }): Promise<void>;
  /** Resolves once the bot's Redis connections are ready (used after outages and by tests). */
  redisReady(): Promise<void>;
  /** Runs the periodic catch-up now: finishes missed results, replays the progress of running jobs. */
  reconcile(): Promise<void>;
}

/** Wires Bolt, the queue producer, the notifier and the result relay. Holds no cluster credentials. */
export function createBot(o: BotOptions): Bot {
  // Any topology of REDIS_URL. One fail-fast client for the bot's own commands and every Queue;
  // each QueueEvents gets its own blocking connection, duplicated from `redisConn.bullmq`.
  const redisConn = redisConnection(o.redisUrl);
  const redis = redisConn.client('commands', 'cws:bot');
  redis.on('error', (err) => o.logger.warn({ err: err.message }, 'redis (bot) error'));
  const producer = new JobProducer(redis, o.jobPolicy ?? DEFAULT_JOB_POLICY);
  const tracker = new JobTracker(redis);
  const audit = new RedisAuditLog(redis, { logger: o.logger.child({ component: 'audit' }), retentionDays: o.clusters.audit?.retentionDays });
  const web = new WebClient(o.botToken, {
    ...(o.slackApiUrl ? { slackApiUrl: o.slackApiUrl } : {}),
    rejectRateLimitedCalls: true, // the notifier waits out Retry-After itself, coalescing meanwhile
    retryConfig: { retries: 0 },
    logger: boltLogger(o.logger.child({ component: 'web-api' })) as never,
  });
  const notifier = new Notifier(web as never, {
    ...o.notifier,
    logger: o.logger.child({ component: 'notifier' }),
    ...(o.metrics ? { onCall: o.metrics.slackCall } : {}),
  });
  const messages = new JobMessages({ tracker, notifier, history: web as never, logger: o.logger.child({ component: 'messages' }) });
  const directory = new SlackDirectory(web);
  // The schedule ticks' Worker: its own never-failing client (as BullMQ requires), duplicated once for its blocking reads.
  const schedulesConn = redisConn.client('shared', 'cws:bot:schedules');
  schedulesConn.on('error', (err) => o.logger.warn({ err: err.message }, 'redis (schedules) error'));
  const schedules = new Schedules({
    redis,
    connection: schedulesConn,
    clusters: o.clusters,
    producer,
    tracker,
    notifier,
    audit,
    logger: o.logger.child({ component: 'schedules' }),
    groupsOf: (user, groups) => directory.groupsOf(user, groups),
    permalink: (channel, ts) => messages.permalink(channel, ts),
    userTimeZone: async (user) => ((await web.users.info({ user })) as { user?: { tz?: string } }).user?.tz,
    ...(o.schedules?.minuteMs ? { minuteMs: o.schedules.minuteMs } : {}),
  });
  const updates = new JobUpdates({
    messages,
    connection: redisConn.bullmq,
    clusters: Object.keys(o.clusters.clusters),
    producer,
    tracker,
    notifier,
    audit,
    logger: o.logger.child({ component: 'updates' }),
    incidentChannel: (cluster) => clusterNamed(o.clusters, cluster)?.incidentChannel,
    ...(o.reconcileIntervalMs ? { reconcileIntervalMs: o.reconcileIntervalMs } : {}),
    ...(o.metrics ? { onFinished: o.metrics.job } : {}),
    schedules,
    // An expired approval request leaves the App Homes that listed it (services is set below, before any reconcile).
    approvalHomes: (r) => republishApprovalHomes(services, r),
  });
  const services: BotServices = {
    clusters: o.clusters,
    producer,
    tracker,
    notifier,
    audit,
    logger: o.logger,
    limiter: new RedisCommandLimiter(redis, o.clusters.limits, (err) =>
      o.logger.warn({ err }, 'command limiter: Redis did not answer; letting the command through'),
    ),
    messages,
    results: updates,
    slack: directory,
    schedules,
  };

  for (const cluster of Object.keys(o.clusters.clusters)) o.metrics?.watchQueue(cluster, producer.queue(cluster));
  // Ready (/readyz, /healthz): Redis takes a write, and Slack's auth.test succeeded once (retried until it does).
  const slackAuth = new SucceedsOnce('slack: auth.test', () => web.auth.test(), o.logger.child({ component: 'slack-auth' }));
  const readiness = async () => (await redisWritable((k, v, ms) => redis.set(k, v, 'PX', ms), readyKey('bot'))) ?? slackAuth.reason();

  const socketMode = Boolean(o.appToken);
  const boltLog = boltLogger(o.logger.child({ component: 'bolt' })) as never;
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: o.signingSecret!,
        logger: boltLog,
        customRoutes: [
          {
            path: '/healthz',
            method: ['GET'],
            // As /readyz on the ops port (OPS_PORT), which is the contract; kept for existing setups.
            handler: (_req, res) =>
              void readiness().then((why) => {
                res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' });
                res.end(why ? `${why}\n` : 'ok\n');
              }),
          },
        ],
      });
  if (receiver) {
    // Every request to /slack/events is checked before Bolt sees it (src/slack/http-guard.ts).
    const guardLog = o.logger.child({ component: 'http-guard' });
    receiver.requestListener = guardSlackRequests(receiver.requestListener, {
      signingSecret: o.signingSecret!,
      seen: new RedisSeenRequests(redis),
      log: (reason, status) => guardLog.info({ status, reason }, 'slack request answered by the guard'),
    });
  }
  const app = new App({
    token: o.botToken,
    ...(socketMode ? { socketMode: true, appToken: o.appToken } : { receiver: receiver! }),
    ...(o.slackApiUrl ? { clientOptions: { slackApiUrl: o.slackApiUrl } } : {}),
    logger: boltLog,
  });
  app.error(async (err) => {
    o.logger.error({ err }, 'bolt error');
  });
  registerCws(app, services, '/cws', o.metrics?.command);
  registerActions(app, services);
  registerFlareEmail(app, services);
  registerAppHome(app, services);

  return {
    app,
    services,
    notifier,
    async start(port) {
      slackAuth.start();
      // However slowly Redis answers: the fail-fast client refuses commands until it is ready, and
      // reconcile (in updates.start) is its first use.
      await whenReady(redis);
      await updates.start();
      await schedules.start();
      if (socketMode) {
        await app.start();
        return undefined;
      }
      const server = (await app.start(port)) as unknown as { address(): { port: number } | string | null };
      const addr = server.address();
      return typeof addr === 'object' && addr ? addr.port : typeof port === 'number' ? port : port.port;
    },
    reconcile: () => updates.reconcile(),
    async redisReady() {
      await whenReady(redis);
      await producer.ready();
    },
    readiness,
    async stop(so = {}) {
      await app.stop().catch(() => {});
      slackAuth.stop();
      if (so.drainMs) await drainResults(updates, notifier, so.drainMs, o.logger.child({ component: 'shutdown' }));
      await closeWithin("the job queues' event streams", 3000, () => updates.close(), o.logger);
      await schedules.close();
      schedulesConn.disconnect();
      await closeWithin('the job queues', 3000, () => producer.close(), o.logger);
      redis.disconnect();
      redisConn.close();
    },
  };
}

/** At shutdown: the results of jobs that finished meanwhile are posted (reconcile), and queued Slack edits sent, within `ms`. */
async function drainResults(updates: JobUpdates, notifier: Notifier, ms: number, log: Logger): Promise<void> {
  const until = Date.now() + ms;
  const sleep = (t: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, t)));
  log.info({ withinMs: ms }, 'bot: posting the results of jobs that finished, then the queued Slack edits');
  await Promise.race([updates.reconcile().catch((err) => log.warn({ err }, 'bot: the last reconcile failed')), sleep(ms)]);
  while (notifier.backlog > 0 && Date.now() < until) await sleep(50);
  if (notifier.backlog > 0) log.warn({ messages: notifier.backlog }, `bot: ${notifier.backlog} Slack edits still queued after ${ms} ms; exiting without them`);
  else log.info('bot: no Slack edit left to send');
}
