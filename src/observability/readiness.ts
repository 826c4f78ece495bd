import { hostname } from 'node:os';
import type { Logger } from 'pino';

/** A readiness check: undefined when ready, else why not (one short line, shown by /readyz). */
export type ReadinessCheck = () => Promise<string | undefined>;

/** Writes `value` at `key` with a time to live, through whichever client the caller uses (ioredis: `SET key value PX ms`). */
export type RedisWrite = (key: string, value: string, ttlMs: number) => Promise<unknown>;

/** The key a process writes to prove Redis takes its writes (one per process; it expires by itself). */
export const readyKey = (role: string): string => `cws:ready:${role}:${hostname()}:${process.pid}`;

/**
 * Redis is writable: a real `SET … PX` answered within `timeoutMs`. An open socket is not enough
 * (a read-only replica answers reads; a full or misconfigured server refuses writes).
 */
export async function redisWritable(write: RedisWrite, key: string, timeoutMs = 2000): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answered = await Promise.race([
      write(key, new Date().toISOString(), 30_000).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    return answered ? undefined : `redis: a write got no answer within ${timeoutMs} ms`;
  } catch (err) {
    return `redis: not writable (${oneLine((err as Error).message)})`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Something that must succeed once before the process is ready (the bot's Slack `auth.test`):
 * tried at `start()`, then again with backoff (1 s, doubling, at most 30 s) until it does.
 */
export class SucceedsOnce {
  private succeeded = false;
  private lastError?: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private started = false;

  constructor(
    private readonly what: string,
    private readonly attempt: () => Promise<unknown>,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run(1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  get done(): boolean {
    return this.succeeded;
  }

  /** Undefined once it succeeded; else why not yet. */
  reason(): string | undefined {
    if (this.succeeded) return undefined;
    return this.lastError ? `${this.what} has not succeeded yet (last error: ${this.lastError})` : `${this.what} has not succeeded yet`;
  }

  private async run(nextDelayMs: number): Promise<void> {
    try {
      await this.attempt();
      this.succeeded = true;
      if (this.lastError) this.logger?.info(`${this.what} succeeded`);
    } catch (err) {
      const e = err as { data?: { error?: unknown }; message?: string };
      this.lastError = oneLine(typeof e.data?.error === 'string' ? e.data.error : String(e.message ?? err));
      this.logger?.warn({ error: this.lastError, retryInMs: nextDelayMs }, `${this.what} failed; the process is not ready until it succeeds`);
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.run(Math.min(nextDelayMs * 2, 30_000)), nextDelayMs);
      this.timer.unref();
    }
  }
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').slice(0, 200);
