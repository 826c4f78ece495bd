/**
 * Reads a zip's central directory and its entries one at a time (PKWARE APPNOTE.TXT §4.3), so
 * the review can list every entry — duplicates included — and say, per entry, why one cannot be
 * read (encrypted, an unknown compression method, corrupt, too large) instead of failing the
 * whole archive. Decompression is bounded: an entry is inflated to at most `maxBytes`.
 */
import { crc32, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  override name = 'ZipError';
}

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; anything else is reported as unreadable. */
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  isDir: boolean;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const u64 = (v: DataView, at: number) => Number(v.getBigUint64(at, true));

/** The central directory: where it is and how many entries it has (zip64 aware). */
function directory(buf: Uint8Array): { offset: number; count: number } {
  const v = view(buf);
  if (buf.length < 22) throw new ZipError('too short to be a zip');
  const lowest = Math.max(0, buf.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = buf.length - 22; i >= lowest; i--) {
    if (v.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end of central directory record');
  let count = v.getUint16(eocd + 10, true);
  let offset = v.getUint32(eocd + 16, true);
  if ((count === 0xffff || offset === 0xffffffff) && eocd >= 20 && v.getUint32(eocd - 20, true) === SIG_ZIP64_LOCATOR) {
    const at = u64(v, eocd - 20 + 8);
    if (at + 56 > buf.length || v.getUint32(at, true) !== SIG_ZIP64_EOCD) throw new ZipError('bad zip64 end of central directory');
    count = u64(v, at + 32);
    offset = u64(v, at + 48);
  }
  if (offset > buf.length) throw new ZipError('central directory outside the file');
  return { offset, count };
}

/** Every entry of the central directory, in its order. */
export function listZip(buf: Uint8Array, maxEntries = 100_000): ZipEntry[] {
  const v = view(buf);
  const { offset, count } = directory(buf);
  if (count > maxEntries) throw new ZipError(`${count} entries (more than ${maxEntries})`);
  const dec = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  let p = offset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || v.getUint32(p, true) !== SIG_CENTRAL) throw new ZipError(`central directory entry ${n + 1} is damaged`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localOffset = v.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > buf.length) throw new ZipError(`central directory entry ${n + 1} runs past the end`);
    const name = dec.decode(buf.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information (0x0001): the 0xFFFFFFFF fields, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= e + 4 + len) ((size = u64(v, q)), (q += 8));
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) ((compressedSize = u64(v, q)), (q += 8));
        if (localOffset === 0xffffffff && q + 8 <= e + 4 + len) localOffset = u64(v, q);
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset, isDir: name.endsWith('/') });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** An entry's bytes, or why they cannot be read. Never more than `maxBytes` are inflated. */
export function readEntry(buf: Uint8Array, e: ZipEntry, maxBytes: number): { data: Uint8Array } | { error: string } {
  if (e.flags & 0x1) return { error: 'encrypted' };
  if (e.method !== 0 && e.method !== 8) return { error: `compressed with method ${e.method}, which the scanner cannot read` };
  if (e.size > maxBytes) return { error: `too large to scan (${mib(e.size)}; the limit is ${mib(maxBytes)})` };
  const v = view(buf);
  if (e.localOffset + 30 > buf.length || v.getUint32(e.localOffset, true) !== SIG_LOCAL) return { error: 'damaged (no local header where the directory says)' };
  const start = e.localOffset + 30 + v.getUint16(e.localOffset + 26, true) + v.getUint16(e.localOffset + 28, true);
  const end = start + e.compressedSize;
  if (end > buf.length) return { error: 'damaged (its data runs past the end of the archive)' };
  const raw = buf.subarray(start, end);
  let data: Uint8Array;
  if (e.method === 0) data = raw;
  else {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        error:
          code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError ? `too large to scan (inflates past ${mib(maxBytes)})` : 'damaged (it does not inflate)',
      };
    }
  }
  if (data.length !== e.size) return { error: `damaged (${data.length} bytes where the directory says ${e.size})` };
  if (crc32(data) >>> 0 !== e.crc >>> 0) return { error: 'damaged (CRC mismatch)' };
  return { data };
}

export function mib(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
