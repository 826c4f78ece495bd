import type { NetcheckResult, SelftestResult } from '../results.ts';

/**
 * What a scheduled run's result is compared on (issue 19 point 3): each node's self-test
 * verdict; the netcheck verdict and its findings; or the way the job failed as a whole. Nothing
 * else (durations, pod names, timestamps) counts as a change. Pure.
 */
export interface OutcomeSummary {
  kind: 'selftest' | 'netcheck';
  /** The job failed as a whole: its failure code (e.g. `cluster_unreachable`). */
  failure?: string;
  /** Self-test: node → `ok` | `failed` | `error` | `timeout` (the worst of its pods). */
  nodes?: Record<string, string>;
  /** Netcheck: its verdict. */
  verdict?: string;
  /** Netcheck: `<code>` or `<code>@<node>`, sorted. */
  findings?: string[];
}

const RANK: Record<string, number> = { ok: 0, timeout: 1, error: 2, failed: 3 };

export function summarise(kind: 'selftest' | 'netcheck', outcome: { failure: { code: string } } | { value: unknown }): OutcomeSummary {
  if ('failure' in outcome) return { kind, failure: outcome.failure.code };
  if (kind === 'selftest') {
    const v = outcome.value as Partial<SelftestResult> | undefined;
    const nodes: Record<string, string> = {};
    for (const r of v?.results ?? []) {
      const was = nodes[r.node];
      if (was === undefined || (RANK[r.status] ?? 9) > (RANK[was] ?? 9)) nodes[r.node] = r.status;
    }
    return { kind, nodes: sortKeys(nodes) };
  }
  const v = outcome.value as Partial<NetcheckResult> | undefined;
  const findings = [...new Set((v?.findings ?? []).map((f) => (f.node ? `${f.code}@${f.node}` : f.code)))].sort();
  return { kind, verdict: v?.verdict ?? 'unknown', findings };
}

/** A stable string of the summary: equal strings, same outcome. */
export function fingerprint(s: OutcomeSummary): string {
  return JSON.stringify([s.kind, s.failure ?? null, s.nodes ? Object.entries(sortKeys(s.nodes)) : null, s.verdict ?? null, s.findings ?? null]);
}

/** The summary in a few words, for `/cws schedule list` ("5/6 nodes OK", "action_required, 1 finding"). */
export function describeOutcome(s: OutcomeSummary): string {
  if (s.failure) return `failed as a whole (${s.failure})`;
  if (s.kind === 'selftest') {
    const all = Object.values(s.nodes ?? {});
    const ok = all.filter((x) => x === 'ok').length;
    return `${ok}/${all.length} nodes OK`;
  }
  const n = s.findings?.length ?? 0;
  return `${s.verdict}${n ? `, ${n} finding${n === 1 ? '' : 's'}` : ''}`;
}

/** What changed from `prev` to `cur`, one line each (empty: nothing changed). At most `max` lines, then a count. */
export function diffOutcomes(prev: OutcomeSummary, cur: OutcomeSummary, max = 10): string[] {
  const lines: string[] = [];
  if ((prev.failure ?? null) !== (cur.failure ?? null)) {
    if (cur.failure) lines.push(`the run failed as a whole: \`${cur.failure}\`${prev.failure ? ` (was \`${prev.failure}\`)` : ''}`);
    else lines.push(`the run completed again (last time it failed: \`${prev.failure}\`)`);
  }
  if (!cur.failure && !prev.failure) {
    if (cur.kind === 'selftest') {
      const a = prev.nodes ?? {};
      const b = cur.nodes ?? {};
      for (const node of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        if (a[node] === b[node]) continue;
        if (a[node] === undefined) lines.push(`\`${node}\`: new, ${b[node]}`);
        else if (b[node] === undefined) lines.push(`\`${node}\`: no agent checked any more (was ${a[node]})`);
        else lines.push(`\`${node}\`: ${a[node]} → ${b[node]}`);
      }
    } else {
      if (prev.verdict !== cur.verdict) lines.push(`verdict: ${prev.verdict} → ${cur.verdict}`);
      const before = new Set(prev.findings ?? []);
      const after = new Set(cur.findings ?? []);
      for (const f of after) if (!before.has(f)) lines.push(`new finding: \`${f}\``);
      for (const f of before) if (!after.has(f)) lines.push(`gone: \`${f}\``);
    }
  }
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max), `…and ${lines.length - max} more changes`];
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
