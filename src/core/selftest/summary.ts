import type { AgentResult, AgentStatus } from '../results.ts';

const ORDER: Record<AgentStatus, number> = { failed: 0, error: 1, timeout: 2, ok: 3 };

export interface SelftestSummary {
  total: number;
  ok: number;
  notOk: number;
  byStatus: Record<AgentStatus, number>;
  /** Failures first (failed, error, timeout), then OK; by node name within a status. */
  sorted: AgentResult[];
}

export function summarise(results: AgentResult[]): SelftestSummary {
  const byStatus: Record<AgentStatus, number> = { ok: 0, failed: 0, error: 0, timeout: 0 };
  for (const r of results) byStatus[r.status]++;
  const sorted = [...results].sort(
    (a, b) => ORDER[a.status] - ORDER[b.status] || a.node.localeCompare(b.node, 'en', { numeric: true }) || a.pod.localeCompare(b.pod),
  );
  return { total: results.length, ok: byStatus.ok, notOk: results.length - byStatus.ok, byStatus, sorted };
}
