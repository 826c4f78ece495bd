import type { KnownBlock } from '@slack/types';
import type { AgentResult, AgentStatus, JobFailure, SelftestProgress, SelftestResult } from '../../jobs/schemas.ts';
import { selftestMetadata, summarise } from '../../selftest/summary.ts';
import type { ChatMessage } from '../notifier.ts';
import { clip, code, escapeMrkdwn, LIMITS } from './text.ts';

/** Pure Block Kit builders for the self-test: result in, message out. */

export const SELFTEST_RERUN_ACTION = 'selftest_rerun';
export const SELFTEST_RERUN_FAILED_ACTION = 'selftest_rerun_failed';
export const SELFTEST_FLARE_ACTION = 'selftest_flare';
export const SELFTEST_RESTART_ACTION = 'selftest_restart';
/** Per-node buttons are offered for the first few failing nodes only. */
export const NODE_BUTTONS = 3;

/** Button values carry only lookup keys; the bot re-checks them against what it stored. */
export const nodeActionValue = (jobId: string, node: string) => `${jobId}|${node}`;
export function parseNodeActionValue(value: string): { jobId: string; node: string } | undefined {
  const m = /^(st-[0-9a-f-]{36})\|([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(value);
  return m ? { jobId: m[1]!, node: m[2]! } : undefined;
}
export const SELFTEST_METADATA_EVENT = 'cws_selftest_result';
const MAX_FAILURES_LISTED = 20;

const ICON: Record<AgentStatus, string> = { ok: ':white_check_mark:', failed: ':x:', error: ':warning:', timeout: ':hourglass:' };
const LABEL: Record<AgentStatus, string> = { ok: 'OK', failed: 'failed', error: 'error', timeout: 'timed out' };

export interface SelftestContext {
  jobId: string;
  cluster: string;
  node?: string;
  /** A re-run of the failing nodes only. */
  nodes?: string[];
  requestedBy: string;
}

const scope = (c: SelftestContext) =>
  c.node ? `\`${c.cluster}\` (node \`${c.node}\`)` : c.nodes ? `\`${c.cluster}\` (${c.nodes.length} previously failing node${c.nodes.length > 1 ? 's' : ''})` : `\`${c.cluster}\``;
const header = (c: SelftestContext): KnownBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: clip(`CWS self-test · ${c.cluster}${c.node ? ` · ${c.node}` : ''}`, LIMITS.headerText) },
});
const footer = (c: SelftestContext, extra: string[] = []): KnownBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: [`job ${c.jobId}`, `requested by <@${c.requestedBy}>`, ...extra].join(' · ') }],
});

export function renderQueued(c: SelftestContext, attachedTo?: string): ChatMessage {
  const text = attachedTo
    ? `A self-test on ${scope(c)} is already running (job ${attachedTo}); this message will show its result.`
    : `Self-test on ${scope(c)} queued…`;
  return {
    text: text.replace(/`/g, ''),
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${text}` } }, footer(c)],
  };
}

export function renderProgress(c: SelftestContext, p: SelftestProgress): ChatMessage {
  const line =
    p.phase === 'listing'
      ? `Listing agents on ${scope(c)}…`
      : `${p.done}/${p.total} agents checked${p.failing ? `, ${p.failing} failing so far` : ''}`;
  return {
    text: `Self-test on ${c.cluster}: ${line.replace(/`/g, '')}`,
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${line}` } }, footer(c)],
  };
}

function agentLine(r: AgentResult): string {
  const where = r.pod && r.pod !== r.node ? `*${escapeMrkdwn(r.node)}* ${code(r.pod, 80)}` : `*${escapeMrkdwn(r.node)}*`;
  const tests = r.failedTests.length ? `\nfailing tests: ${r.failedTests.slice(0, 10).map((t) => code(t, 80)).join(', ')}` : '';
  const message = r.status === 'ok' ? '' : `\n${escapeMrkdwn(clip(r.message, 400))}`;
  return `${ICON[r.status]} ${where} — ${LABEL[r.status]}${tests}${message}`;
}

const NEXT_STEP: Partial<Record<AgentStatus, string>> = {
  failed: 'Events are not reaching the agent: check the agent logs and collect a flare from a failing node.',
  error:
    'The self-test could not run: check that system-probe is running with `runtime_security_config.enabled: true`, then re-run.',
  timeout: 'The agent did not answer in time: check that system-probe is healthy on that node, then re-run.',
};

export function renderResult(c: SelftestContext, result: SelftestResult): ChatMessage {
  const s = summarise(result.results);
  const tookMs = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  const blocks: KnownBlock[] = [header(c)];

  if (s.total === 0) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `:grey_question: No agents found on ${scope(c)}. Check the cluster's agent selector or the node name.` },
    });
  } else {
    const icon = s.notOk === 0 ? ':large_green_circle:' : ':red_circle:';
    const parts = (['failed', 'error', 'timeout'] as const).filter((k) => s.byStatus[k]).map((k) => `${s.byStatus[k]} ${LABEL[k]}`);
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `${icon} *${s.ok}/${s.total} agents OK*${parts.length ? ` · ${parts.join(' · ')}` : ''}` },
    });
  }

  const failures = s.sorted.filter((r) => r.status !== 'ok');
  if (failures.length) blocks.push({ type: 'divider' });
  for (const r of failures.slice(0, MAX_FAILURES_LISTED)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(agentLine(r), LIMITS.sectionText) } });
  }
  if (failures.length > MAX_FAILURES_LISTED) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${failures.length - MAX_FAILURES_LISTED} more not OK (all are in the message metadata).` }],
    });
  }
  const statuses = new Set(failures.map((f) => f.status));
  const steps = (['failed', 'error', 'timeout'] as const).filter((k) => statuses.has(k)).map((k) => `• ${NEXT_STEP[k]}`);
  if (steps.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Next steps*\n${steps.join('\n')}` } });

  const oks = s.sorted.filter((r) => r.status === 'ok');
  if (oks.length) {
    const names = oks.slice(0, 15).map((r) => escapeMrkdwn(r.node)).join(', ');
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${ICON.ok} ${oks.length} OK: ${names}${oks.length > 15 ? `, +${oks.length - 15} more` : ''}` }],
    });
  }
  blocks.push(...resultActions(c, result, failures));
  blocks.push(footer(c, [result.target, `took ${(tookMs / 1000).toFixed(1)} s`]));

  return {
    text: s.total === 0 ? `Self-test ${c.cluster}: no agents found` : `Self-test ${c.cluster}: ${s.ok}/${s.total} agents OK`,
    blocks,
    metadata: { event_type: SELFTEST_METADATA_EVENT, event_payload: selftestMetadata(c.jobId, c.cluster, result) },
  };
}

function button(action_id: string, text: string, value: string, extra: Record<string, unknown> = {}) {
  return { type: 'button' as const, action_id, text: { type: 'plain_text' as const, text: clip(text, LIMITS.buttonText) }, value, ...extra };
}

function resultActions(c: SelftestContext, result: SelftestResult, failures: AgentResult[]): KnownBlock[] {
  const main = [button(SELFTEST_RERUN_ACTION, 'Re-run', c.jobId)];
  const failedNodes = [...new Set(failures.map((f) => f.node))];
  if (failedNodes.length && failedNodes.length < result.results.length) main.unshift(button(SELFTEST_RERUN_FAILED_ACTION, `Re-run failed (${failedNodes.length})`, c.jobId, { style: 'primary' }));
  const blocks: KnownBlock[] = [{ type: 'actions', block_id: 'selftest_actions', elements: main }];
  const perNode = failedNodes.slice(0, NODE_BUTTONS).flatMap((node) => {
    const value = nodeActionValue(c.jobId, node);
    const els = [button(SELFTEST_FLARE_ACTION, `Flare from ${node}`, value)];
    if (result.target === 'kubernetes')
      els.push(
        button(SELFTEST_RESTART_ACTION, `Restart agent on ${node}`, value, {
          style: 'danger',
          confirm: {
            title: { type: 'plain_text', text: 'Restart the agent?' },
            text: { type: 'mrkdwn', text: clip(`This deletes the Datadog agent pod on *${escapeMrkdwn(node)}* in \`${c.cluster}\`. The DaemonSet starts a new one; the node has no agent until it is ready.`, 300) },
            confirm: { type: 'plain_text', text: 'Restart' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        }),
      );
    return els;
  });
  if (perNode.length) blocks.push({ type: 'actions', block_id: 'selftest_node_actions', elements: perNode });
  return blocks;
}

export function renderJobFailure(c: SelftestContext, failure: JobFailure): ChatMessage {
  const text = `:warning: *Self-test on ${scope(c)} could not run:* ${escapeMrkdwn(clip(failure.message, 1500))}${
    failure.hint ? `\n*What to do:* ${escapeMrkdwn(clip(failure.hint, 1000))}` : ''
  }`;
  return {
    text: `Self-test on ${c.cluster} could not run: ${clip(failure.message, 500)}`,
    blocks: [
      header(c),
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: SELFTEST_RERUN_ACTION, text: { type: 'plain_text', text: 'Re-run' }, value: c.jobId }],
      },
      footer(c),
    ],
    metadata: { event_type: SELFTEST_METADATA_EVENT, event_payload: selftestMetadata(c.jobId, c.cluster, undefined, failure.message) },
  };
}
