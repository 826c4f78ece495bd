/**
 * How the agent's prompts read stdin (pkg/util/input askForInput): each prompt makes a NEW
 * bufio.Scanner on os.Stdin and calls Scan once. The scanner reads whatever the pipe holds (up to
 * its 4 KiB buffer, growing to 64 KiB while no newline has come), returns the first line without
 * "\n" (and without a trailing "\r"), and is then dropped — with anything else it had read. So
 * two answers that arrive together before the first prompt reads serve only the first prompt;
 * the second prompt then waits for more input, or sees EOF.
 *
 * EOF (the client half-closed stdin over v5, or the session closed) ends a read: what was read
 * so far is the line, or an empty line when nothing was. That is not an error for bufio.Scanner.
 */
import type { Readable } from 'node:stream';

export type PromptRead = { line: string; eof: boolean } | { error: string };

const START_BUF = 4096;
const MAX_TOKEN = 64 * 1024; // bufio.MaxScanTokenSize

export class PromptReader {
  constructor(private readonly stdin: Readable) {}

  /** One askForInput: a fresh scanner's single Scan (the caller trims spaces). */
  async readLine(): Promise<PromptRead> {
    let buf = Buffer.alloc(0);
    let cap = START_BUF;
    for (;;) {
      const chunk = await this.read(cap - buf.length);
      if (chunk === null) {
        return { line: dropCR(buf.toString('utf8')), eof: true };
      }
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0) return { line: dropCR(buf.subarray(0, nl).toString('utf8')), eof: false };
      if (buf.length >= cap) {
        if (cap >= MAX_TOKEN) return { error: 'bufio.Scanner: token too long' };
        cap = Math.min(cap * 2, MAX_TOKEN);
      }
    }
  }

  /** One read(2) of at most `max` bytes: what the pipe holds, waiting for data; null at EOF. */
  private async read(max: number): Promise<Buffer | null> {
    const s = this.stdin;
    for (;;) {
      const n = Math.min(s.readableLength, max);
      const chunk = n > 0 ? (s.read(n) as Buffer | null) : null;
      if (chunk !== null) return chunk;
      if (s.readableEnded || s.destroyed) return null;
      // Nothing buffered: read(0) lets a finished writer's 'end' come (and asks for more).
      s.read(0);
      await new Promise<void>((resolve) => {
        const done = () => {
          s.off('readable', done);
          s.off('end', done);
          s.off('close', done);
          resolve();
        };
        s.on('readable', done);
        s.on('end', done);
        s.on('close', done);
      });
    }
  }
}

function dropCR(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
