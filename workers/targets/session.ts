import { Writable } from 'node:stream';
import { ExecTimeoutError } from './errors.ts';
import { CappedSink } from './output.ts';
import type { ExecResult, ExecSession } from './types.ts';

/**
 * The part of an interactive exec that is the same for every driver: output accumulation,
 * waiting for a prompt, and the end of the command. Drivers plug in stdin and closing.
 */
export class SessionCore implements ExecSession {
  readonly out = new CappedSink(4 * 1024 * 1024);
  readonly err = new CappedSink(4 * 1024 * 1024);
  private waiters = new Set<() => void>();
  private ended?: ExecResult;
  private failed?: Error;
  private endWaiters: { resolve: (r: ExecResult) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly io: { write(text: string): void; endStdin(): void; close(): void },
    private readonly where: string,
  ) {}

  /** Drivers call these. */
  pushStdout(chunk: Buffer): void {
    this.out.write(chunk);
    this.notify();
  }
  pushStderr(chunk: Buffer): void {
    this.err.write(chunk);
    this.notify();
  }
  finish(exitCode: number): void {
    if (this.ended || this.failed) return;
    this.ended = { stdout: this.out.text(), stderr: this.err.text(), exitCode };
    for (const w of this.endWaiters) w.resolve(this.ended);
    this.endWaiters = [];
    this.notify();
  }
  fail(err: Error): void {
    if (this.ended || this.failed) return;
    this.failed = err;
    for (const w of this.endWaiters) w.reject(err);
    this.endWaiters = [];
    this.notify();
  }

  private notify(): void {
    // Writes to the sinks are synchronous for our purposes; check on the next tick.
    queueMicrotask(() => {
      for (const w of [...this.waiters]) w();
    });
  }

  output() {
    return { stdout: this.out.text(), stderr: this.err.text() };
  }

  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpExecArray | null> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(`${this.out.text()}\n${this.err.text()}`);
        if (m) return done(() => resolve(m));
        if (this.ended) return done(() => resolve(null));
        if (this.failed) return done(() => reject(this.failed));
      };
      const timer = setTimeout(() => done(() => reject(new ExecTimeoutError(timeoutMs, this.where))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  write(text: string): void {
    this.io.write(text);
  }
  endStdin(): void {
    this.io.endStdin();
  }

  result(timeoutMs: number): Promise<ExecResult> {
    if (this.ended) return Promise.resolve(this.ended);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new ExecTimeoutError(timeoutMs, this.where));
      }, timeoutMs);
      this.endWaiters.push({
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  close(): void {
    this.io.close();
  }
}

/** A Writable that hands each chunk to `push` (a session's stdout or stderr). */
export const pushSink = (push: (c: Buffer) => void) => new Writable({ write: (c: Buffer, _e, cb) => (push(c), cb()) });
