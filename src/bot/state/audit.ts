import { keys } from '../../contract/keys.ts';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const AUDIT_STREAM = keys.audit;
const MAX_ENTRIES = 100_000;

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

export interface AuditLog {
  append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void>;
  recent(count: number): Promise<AuditEntry[]>;
}

/** Append-only audit trail in a capped Redis stream. */
export class RedisAuditLog implements AuditLog {
  constructor(private readonly redis: Redis) {}

  async append(entry: Omit<AuditEntry, 'at'> & { at?: string }): Promise<void> {
    const full = AuditEntry.parse({ ...entry, at: entry.at ?? new Date().toISOString() });
    const fields = Object.entries(full).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
    await this.redis.xadd(AUDIT_STREAM, 'MAXLEN', '~', String(MAX_ENTRIES), '*', ...fields);
  }

  async recent(count: number): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(AUDIT_STREAM, '+', '-', 'COUNT', count);
    return rows.map(([, fields]) => {
      const obj: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) obj[fields[i]!] = fields[i + 1]!;
      return AuditEntry.parse(obj);
    });
  }
}
