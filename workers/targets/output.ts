import { Writable } from 'node:stream';

/** Collects a stream's bytes up to a cap, so a chatty agent cannot exhaust the worker's memory. */
export class CappedSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap = 1024 * 1024) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.size < this.cap) {
      const room = this.cap - this.size;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(Buffer.from(part));
      this.size += part.length;
      if (chunk.length > room) this.truncated = true;
    } else this.truncated = true;
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? '\n[output truncated]\n' : '');
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
