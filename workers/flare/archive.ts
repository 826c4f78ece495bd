import { createHash } from 'node:crypto';
import { binaryReason, type NotScanned, type SecretFinding, scanBinary, scanName, scanText } from '../../src/core/flare/secrets.ts';
import { listZip, mib, readEntry, ZipError } from './zip.ts';

export interface ArchiveEntry {
  /** The entry's name, masked when it holds a secret. */
  path: string;
  bytes: number;
}

export interface ArchiveReview {
  bytes: number;
  /** SHA-256 of the archive's bytes (hex). */
  sha256: string;
  files: ArchiveEntry[];
  /** The findings kept (at most MAX_FINDINGS), file names first. */
  findings: SecretFinding[];
  /** Every secret found, in names and contents. */
  findingsTotal: number;
  /** What could not be scanned, and why: never skipped silently. */
  notScanned: NotScanned[];
}

/** Entries larger than this are not scanned (named in `notScanned`); one entry is in memory at a time. */
export const MAX_ENTRY_SCAN = 16 * 1024 * 1024;
/** Bytes scanned per archive at most; entries past it are named in `notScanned`. */
export const MAX_ARCHIVE_SCAN = 256 * 1024 * 1024;
const MAX_FINDINGS = 200;
/** Entries whose content is compressed data: their strings are not worth reading. */
const COMPRESSED = /\.(?:gz|tgz|zip|bz2|xz|zst|lz4|7z|jar)$/i;

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/**
 * Lists a flare zip and scans every entry's name and content for secrets. Pure: bytes in, review
 * out. Nothing of the archive is in the result but sizes, masked names and masked previews.
 */
export function reviewArchive(zip: Uint8Array): ArchiveReview {
  const steps = reviewSteps(zip);
  for (let s = steps.next(); ; s = steps.next()) if (s.done) return s.value;
}

/** The same review, giving the event loop a turn after each entry (a big flare scans for seconds). */
export async function reviewArchiveAsync(zip: Uint8Array): Promise<ArchiveReview> {
  const steps = reviewSteps(zip);
  for (let s = steps.next(); ; s = steps.next()) {
    if (s.done) return s.value;
    await new Promise((r) => setImmediate(r));
  }
}

/** The review, one entry per step. */
function* reviewSteps(zip: Uint8Array): Generator<void, ArchiveReview> {
  let entries;
  try {
    entries = listZip(zip);
  } catch (err) {
    throw new ArchiveError(`the archive is not a readable zip (${err instanceof ZipError ? err.message : 'unreadable'})`);
  }
  const files: ArchiveEntry[] = [];
  const nameFindings: SecretFinding[] = [];
  const findings: SecretFinding[] = [];
  const notScanned: NotScanned[] = [];
  let total = 0;
  let scanned = 0;
  const seen = new Map<string, number>();
  const keep = (fs: SecretFinding[], into: SecretFinding[]) => {
    for (const f of fs) if (nameFindings.length + findings.length < MAX_FINDINGS) into.push(f);
  };
  for (const e of entries) {
    const named = scanName(e.name);
    total += named.total;
    keep(named.findings, nameFindings);
    if (e.isDir) continue;
    yield;
    const n = (seen.get(e.name) ?? 0) + 1;
    seen.set(e.name, n);
    const label = n > 1 ? `${named.name} (duplicate entry #${n})` : named.name;
    files.push({ path: label, bytes: e.size });
    if (scanned + Math.min(e.size, MAX_ENTRY_SCAN) > MAX_ARCHIVE_SCAN) {
      notScanned.push({ file: label, reason: `not scanned: the review scans at most ${mib(MAX_ARCHIVE_SCAN)} per archive` });
      continue;
    }
    const got = readEntry(zip, e, MAX_ENTRY_SCAN);
    if ('error' in got) {
      notScanned.push({ file: label, reason: got.error });
      continue;
    }
    scanned += got.data.length;
    const binary = binaryReason(got.data);
    if (binary) {
      if (COMPRESSED.test(e.name)) {
        notScanned.push({ file: label, reason: `${binary}: compressed data, its content cannot be scanned` });
        continue;
      }
      const r = scanBinary(label, got.data);
      total += r.total;
      keep(r.findings, findings);
      notScanned.push({ file: label, reason: `${binary}: not scanned as text, only its printable strings were checked` });
      continue;
    }
    const r = scanText(label, Buffer.from(got.data).toString('utf8'));
    total += r.total;
    keep(r.findings, findings);
    notScanned.push(...r.notScanned);
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  return {
    bytes: zip.length,
    sha256: createHash('sha256').update(zip).digest('hex'),
    files,
    findings: [...nameFindings, ...findings],
    findingsTotal: total,
    notScanned,
  };
}

/**
 * The file list for a message: every file when there are few, otherwise folders with their
 * file counts (deepest level that fits), so a 2000-file flare still reads in one screen.
 */
export function collapseFileList(files: ArchiveEntry[], limit = 25): { label: string; bytes: number }[] {
  if (files.length <= limit) return files.map((f) => ({ label: f.path, bytes: f.bytes }));
  for (let depth = 3; depth >= 1; depth--) {
    const groups = new Map<string, { count: number; bytes: number; first: string }>();
    for (const f of files) {
      const parts = f.path.split('/');
      const key = parts.length > depth ? `${parts.slice(0, depth).join('/')}/` : f.path;
      const g = groups.get(key) ?? { count: 0, bytes: 0, first: f.path };
      g.count++;
      g.bytes += f.bytes;
      groups.set(key, g);
    }
    if (groups.size <= limit || depth === 1) {
      const rows = [...groups.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, g]) => ({ label: g.count === 1 ? g.first : `${key} (${g.count} files)`, bytes: g.bytes, count: g.count }));
      if (rows.length <= limit) return rows.map(({ label, bytes }) => ({ label, bytes }));
      // Nothing leaves the review unseen: what does not fit is one counted line.
      const shown = rows.slice(0, limit - 1);
      const rest = rows.slice(limit - 1);
      const restFiles = rest.reduce((n, r) => n + r.count, 0);
      return [
        ...shown.map(({ label, bytes }) => ({ label, bytes })),
        {
          label: `…and ${restFiles} more file${restFiles === 1 ? '' : 's'} (${rest.length} entr${rest.length === 1 ? 'y' : 'ies'} at the top level)`,
          bytes: rest.reduce((n, r) => n + r.bytes, 0),
        },
      ];
    }
  }
  return [];
}
