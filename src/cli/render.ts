import type { NetcheckResult, SelftestResult } from '../contract/jobs.ts';
import { summarise } from '../core/selftest/summary.ts';

/** Plain-text rendering for terminals (colour only on a TTY). Pure. */
export interface Style {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
}

export const plain: Style = { red: (s) => s, green: (s) => s, yellow: (s) => s, bold: (s) => s };
export const ansi: Style = {
  red: (s) => `\x1b[31m${s}\x1b[0m`,
  green: (s) => `\x1b[32m${s}\x1b[0m`,
  yellow: (s) => `\x1b[33m${s}\x1b[0m`,
  bold: (s) => `\x1b[1m${s}\x1b[0m`,
};

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => stripAnsi(r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - stripAnsi(c).length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

export function progressBar(done: number, total: number, width = 30): string {
  const filled = total ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

export function renderSelftestText(r: SelftestResult, st: Style): string {
  const s = summarise(r.results);
  const colour = (status: string) => (status === 'ok' ? st.green(status) : status === 'failed' ? st.red(status) : st.yellow(status));
  const rows = [
    ['NODE', 'POD', 'STATUS', 'DETAIL'],
    ...s.sorted.map((a) => [
      a.node,
      a.pod,
      colour(a.status),
      a.failedTests.length ? a.failedTests.join(', ') : a.status === 'ok' ? '' : a.message.split('\n')[0]!.slice(0, 120),
    ]),
  ];
  const head = s.total === 0 ? st.yellow(`No agents found on ${r.cluster}.`) : (s.notOk ? st.red : st.green)(st.bold(`${s.ok}/${s.total} agents OK`));
  return `${head}\n${s.total ? table(rows) : ''}`.trimEnd();
}

export function renderNetcheckText(r: NetcheckResult, st: Style): string {
  const v = r.verdict === 'ok' ? st.green(r.verdict) : r.verdict === 'unknown' ? st.yellow(r.verdict) : st.red(r.verdict);
  const lines = [
    `${st.bold('verdict')}: ${v}`,
    `agent: ${r.agent.version ?? 'unknown'} (${r.agent.image ?? '?'})`,
    `cni: ${r.cni.status === 'detected' ? `${r.cni.vendor} ${r.cni.version ?? '(version unknown)'}` : `${r.cni.status}: ${r.cni.detail}`}`,
    `config: enabled=${r.config.cwsEnabled.value} (${r.config.cwsEnabled.origin}), network.enabled=${r.config.networkEnabled.value} (${r.config.networkEnabled.origin}), classifier_priority=${r.config.classifierPriority.value} (${r.config.classifierPriority.origin})`,
    ...r.findings.map((f) => `- [${f.severity}] ${f.node ? `${f.node}: ` : ''}${f.message} (${f.code})`),
  ];
  if (r.remediations.length)
    lines.push(`remediations: ${r.remediations.join(', ')}${r.suggestedPriority !== undefined ? ` (classifier_priority ${r.suggestedPriority})` : ''}`);
  return lines.join('\n');
}
