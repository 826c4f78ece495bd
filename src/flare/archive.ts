import { unzipSync } from 'fflate';
import { looksLikeText, type SecretFinding, scanText } from './secrets.ts';

export interface ArchiveEntry {
  path: string;
  bytes: number;
}

export interface ArchiveReview {
  bytes: number;
  files: ArchiveEntry[];
  findings: SecretFinding[];
  /** Text files that could not be scanned (too large), named so the review says so. */
  skipped: string[];
}

const MAX_SCAN_BYTES = 5 * 1024 * 1024;

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/** Lists a flare zip and scans its text files for secrets. Pure: bytes in, review out. */
export function reviewArchive(zip: Uint8Array): ArchiveReview {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip);
  } catch (err) {
    throw new ArchiveError(`the archive is not a readable zip (${(err as Error).message})`);
  }
  const files: ArchiveEntry[] = [];
  const findings: SecretFinding[] = [];
  const skipped: string[] = [];
  for (const [path, data] of Object.entries(entries)) {
    if (path.endsWith('/')) continue;
    files.push({ path, bytes: data.length });
    if (data.length > MAX_SCAN_BYTES) {
      skipped.push(path);
      continue;
    }
    if (!looksLikeText(data)) continue;
    findings.push(...scanText(path, Buffer.from(data).toString('utf8')));
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  return { bytes: zip.length, files, findings, skipped };
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
      return [...groups.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .slice(0, limit)
        .map(([key, g]) => ({ label: g.count === 1 ? g.first : `${key} (${g.count} files)`, bytes: g.bytes }));
    }
  }
  return [];
}
