import { createHash } from 'node:crypto';
import { keys } from '../../contract/keys.ts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';

export const AUDIT_STREAM = keys.audit;
/** A hard cap on top of the retention, should a flood of commands come within it. */
const MAX_ENTRIES = 100_000;
/** How long audit entries are kept when the clusters file does not say (`audit.retentionDays`). */
export const DEFAULT_RETENTION_DAYS = 90;
/** At most this many entries are read to answer one `/cws audit` (filtered by cluster and access). */
const MAX_SCAN = 5_000;
const PAGE = 500;

export const AuditEntry = z.object({
  at: z.string(),
  user: z.string(),
  channel: z.string(),
  command: z.string(),
  cluster: z.string().optional(),
  jobId: z.string().optional(),
  outcome: z.enum(['queued', 'attached', 'denied', 'invalid', 'error', 'ok', 'failed', 'answered']),
  detail: z.string().optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export interface AuditQuery {
  /** At most this many entries, newest first. */
  count: number;
  /** Only the entries this returns true for (cluster, access). */
  filter?: (e: AuditEntry) => boolean;
}

export interface AuditLog {
  append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void>;
  recent(count: number): Promise<AuditEntry[]>;
  /** Newest first, within the query's filter; reads at most a bounded number of entries. */
  read(q: AuditQuery): Promise<AuditEntry[]>;
}

export interface AuditOptions {
  /** Every entry is also one structured log line (`{ audit: true, … }`), for a SIEM. */
  logger?: Logger;
  /** Entries older than this are trimmed from the stream (default 90). */
  retentionDays?: number;
}

const EMAIL_IN_TEXT = /[A-Za-z0-9_+.-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/**
 * An email address is personal data: the audit keeps only its domain and a short hash (enough to
 * tell two addresses apart, or to match one you already know), never the address itself. Applied
 * to the stream and to the log line alike.
 */
export function redactEmails(text: string): string {
  return text.replace(
    EMAIL_IN_TEXT,
    (addr, domain: string) => `<email sha256:${createHash('sha256').update(addr.toLowerCase()).digest('hex').slice(0, 12)}@${domain}>`,
  );
}

/** Append-only audit trail in a Redis stream, trimmed to its retention; each entry also a log line. */
export class RedisAuditLog implements AuditLog {
  private readonly retentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly o: AuditOptions = {},
  ) {
    this.retentionMs = (o.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400_000;
  }

  async append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void> {
    const full = AuditEntry.parse({
      ...entry,
      command: redactEmails(entry.command).slice(0, 300),
      ...(entry.detail !== undefined ? { detail: redactEmails(entry.detail).slice(0, 500) } : {}),
      at: entry.at ?? new Date().toISOString(),
    });
    this.o.logger?.info({ audit: true, ...full }, 'audit');
    const fields = Object.entries(full).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
    const minId = String(Math.max(0, Date.now() - this.retentionMs));
    // Stream IDs are milliseconds: MINID drops what is older than the retention (approximately, by whole nodes).
    await this.redis
      .multi()
      .xadd(AUDIT_STREAM, 'MINID', '~', minId, '*', ...fields)
      .xtrim(AUDIT_STREAM, 'MAXLEN', '~', MAX_ENTRIES)
      .exec();
  }

  async recent(count: number): Promise<AuditEntry[]> {
    return this.read({ count });
  }

  async read(q: AuditQuery): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    let end = '+';
    for (let scanned = 0; scanned < MAX_SCAN && out.length < q.count;) {
      const page = q.filter ? Math.min(PAGE, MAX_SCAN - scanned) : q.count - out.length;
      const rows = await this.redis.xrevrange(AUDIT_STREAM, end, '-', 'COUNT', page);
      if (!rows.length) break;
      scanned += rows.length;
      for (const [, fields] of rows) {
        const obj: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) obj[fields[i]!] = fields[i + 1]!;
        const p = AuditEntry.safeParse(obj);
        if (p.success && (!q.filter || q.filter(p.data))) out.push(p.data);
        if (out.length >= q.count) break;
      }
      end = `(${rows[rows.length - 1]![0]}`;
      if (rows.length < page) break;
    }
    return out;
  }
}
