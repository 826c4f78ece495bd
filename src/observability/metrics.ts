import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one process (bot, worker, or both in `npm start`): one registry per
 * process, with the default process metrics (CPU, memory, event loop lag, GC…). Nothing here is
 * global: `createMetrics()` is called once by the entry point and its functions are handed to the
 * bot and the workers as dependencies. Every label takes values from a closed set (command names,
 * job kinds, configured clusters, outcomes bucketed below), so the number of series stays bounded.
 */
export interface Metrics {
  readonly registry: Registry;
  /** A `/cws` command was answered: its subcommand (or `invalid`) and its outcome (the audit's, or `ok`/`error`). */
  command: (command: string, outcome: string) => void;
  /** A job's final result was posted (counted once across bot replicas); `seconds` from enqueue to finish. */
  job: (kind: string, cluster: string, outcome: string, seconds?: number) => void;
  /** A command ran in an agent (ok, nonzero_exit, timeout, unreachable, not_found, error). */
  agentExec: (cluster: string, outcome: string) => void;
  /** A Slack Web API call ended: `ok`, `ratelimited`, `error` (HTTP/network) or Slack's error code, bucketed. */
  /** `outcome` is bounded by the caller (the notifier's `slackOutcome`): ok, ratelimited, error, a known Slack code, other_error. */
  slackCall: (method: string, outcome: string) => void;
  /** A cluster's queue, read at scrape time for `cws_queue_jobs` and `cws_workers_online` (last one given per cluster wins). */
  watchQueue: (cluster: string, queue: QueueCounts) => void;
}

/** The slice of a BullMQ `Queue` the gauges read. */
export interface QueueCounts {
  getJobCounts(...states: QueueState[]): Promise<Record<string, number>>;
  getWorkersCount(): Promise<number>;
}

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Seconds from enqueue to the end of a job: self-tests take seconds to minutes, flares wait on people. */
export const JOB_DURATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

export interface MetricsOptions {
  /** Longest a scrape waits for a queue's counts (BullMQ `getJobCounts`, `getWorkers`): default 2 s. */
  queueTimeoutMs?: number;
  /** Default process metrics (on unless false). */
  defaults?: boolean;
}

export function createMetrics(o: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (o.defaults !== false) collectDefaultMetrics({ register: registry });
  const timeoutMs = o.queueTimeoutMs ?? 2000;

  const commands = new Counter({
    name: 'cws_commands_total',
    help: '/cws commands answered, by subcommand and outcome (queued, attached, answered, ok, denied, invalid, error)',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'cws_jobs_total',
    help: 'Jobs whose final result was posted, by kind, cluster and outcome (ok, failed, error)',
    labelNames: ['kind', 'cluster', 'outcome'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'cws_job_duration_seconds',
    help: 'Seconds from enqueue to the end of a job, by kind and cluster',
    labelNames: ['kind', 'cluster'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers: [registry],
  });
  const execs = new Counter({
    name: 'cws_agent_execs_total',
    help: 'Commands run in agents by this worker, by cluster and outcome (ok, nonzero_exit, timeout, unreachable, not_found, error)',
    labelNames: ['cluster', 'outcome'] as const,
    registers: [registry],
  });
  const slack = new Counter({
    name: 'cws_slack_api_calls_total',
    help: 'Slack Web API calls of the notifier, by method and outcome (ok, ratelimited, error, or the Slack error code; other_error for codes not listed)',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const scrapeErrors = new Counter({
    name: 'cws_queue_scrape_errors_total',
    help: 'Scrapes that could not read a queue (Redis down or slower than the timeout); its cws_queue_jobs and cws_workers_online are absent then',
    labelNames: ['cluster'] as const,
    registers: [registry],
  });

  const queues = new Map<string, QueueCounts>();
  // Both gauges are filled by one read per scrape (the second gauge's collect reuses it).
  let reading: { at: number; done: Promise<void> } | undefined;
  const readQueues = (): Promise<void> => {
    if (reading && Date.now() - reading.at < 1000) return reading.done;
    const done = Promise.all(
      [...queues].map(async ([cluster, queue]) => {
        try {
          const [counts, workers] = await withTimeout(Promise.all([queue.getJobCounts(...QUEUE_STATES), queue.getWorkersCount()]), timeoutMs);
          for (const state of QUEUE_STATES) queueJobs.set({ cluster, state }, counts[state] ?? 0);
          online.set({ cluster }, workers);
        } catch {
          for (const state of QUEUE_STATES) queueJobs.remove({ cluster, state });
          online.remove({ cluster });
          scrapeErrors.inc({ cluster });
        }
      }),
    ).then(() => undefined);
    reading = { at: Date.now(), done };
    return done;
  };
  const queueJobs: Gauge<'cluster' | 'state'> = new Gauge({
    name: 'cws_queue_jobs',
    help: 'Jobs in each cluster queue by state, read from BullMQ at scrape time',
    labelNames: ['cluster', 'state'] as const,
    registers: [registry],
    collect: () => readQueues(),
  });
  const online: Gauge<'cluster'> = new Gauge({
    name: 'cws_workers_online',
    help: 'Workers consuming each cluster queue (BullMQ named connections, CLIENT LIST), read at scrape time',
    labelNames: ['cluster'] as const,
    registers: [registry],
    collect: () => readQueues(),
  });

  return {
    registry,
    command: (command, outcome) => commands.inc({ command, outcome }),
    job: (kind, cluster, outcome, seconds) => {
      jobs.inc({ kind, cluster, outcome });
      if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) durations.observe({ kind, cluster }, seconds);
    },
    agentExec: (cluster, outcome) => execs.inc({ cluster, outcome }),
    slackCall: (method, outcome) => slack.inc({ method, outcome }),
    watchQueue: (cluster, queue) => void queues.set(cluster, queue),
  };
}

/** The outcome of an agent exec: its exit code, or the kind of error the target threw (by name: no import of the worker). */
export function execOutcome(result: { exitCode: number } | undefined, err?: unknown): string {
  if (!err) return result?.exitCode === 0 ? 'ok' : 'nonzero_exit';
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === 'ExecTimeoutError') return 'timeout';
  if (name === 'AgentUnreachableError') return 'unreachable';
  if (name === 'AgentNotFoundError') return 'not_found';
  return 'error';
}

/**
 * The same target with its `exec` counted (`count(outcome)` after each call), and its `execChain`
 * (several commands in one session: each command that ran counts, a session given up counts as a
 * timeout, a chain the image cannot run counts nothing — its commands are then exec'd and counted one by
 * one); every other member is the target's own, called on the target itself.
 */
export function countingExecs<
  T extends {
    exec(...args: never[]): Promise<{ exitCode: number }>;
    execChain?(...args: never[]): Promise<{ results: { exitCode: number }[]; timedOut?: unknown } | undefined>;
  },
>(target: T, count: (outcome: string) => void): T {
  const exec = async (...args: Parameters<T['exec']>) => {
    try {
      const result = await target.exec(...args);
      count(execOutcome(result));
      return result;
    } catch (err) {
      count(execOutcome(undefined, err));
      throw err;
    }
  };
  const execChain = async (...args: Parameters<NonNullable<T['execChain']>>) => {
    try {
      const chained = await target.execChain!(...args);
      for (const r of chained?.results ?? []) count(execOutcome(r));
      if (chained?.timedOut) count(execOutcome(undefined, chained.timedOut));
      return chained;
    } catch (err) {
      count(execOutcome(undefined, err));
      throw err;
    }
  };
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'exec') return exec;
      if (prop === 'execChain' && typeof t.execChain === 'function') return execChain;
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
