import { selftestMetadata } from '../../metadata.ts';
import type { AgentResult, AgentStatus, JobFailure, SelftestProgress, SelftestResult } from '../../results.ts';
import { type SelftestSummary, summarise } from '../../selftest/summary.ts';
import { ACTIONS } from '../actions.ts';
import type { Block, ChatMessage } from '../message.ts';
import { LIVING } from './living.ts';
import { clip, code, escapeClip, escapeMrkdwn, failureText, LIMITS, shortJobId } from './text.ts';

/** Pure Block Kit builders for the self-test: result in, message out. */

/** Per-node buttons are offered for the first few failing nodes only. */
export const NODE_BUTTONS = 3;

/** Button values carry only lookup keys; the bot re-checks them against what it stored. */
export const nodeActionValue = (jobId: string, node: string) => `${jobId}|${node}`;
export function parseNodeActionValue(value: string): { jobId: string; node: string } | undefined {
  const m = /^(st-[0-9a-f-]{36})\|([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(value);
  return m ? { jobId: m[1]!, node: m[2]! } : undefined;
}

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
  c.node
    ? `\`${c.cluster}\` (node \`${c.node}\`)`
    : c.nodes
      ? `\`${c.cluster}\` (${c.nodes.length} previously failing node${c.nodes.length > 1 ? 's' : ''})`
      : `\`${c.cluster}\``;
const header = (c: SelftestContext): Block => ({
  type: 'header',
  text: { type: 'plain_text', text: clip(`CWS self-test · ${c.cluster}${c.node ? ` · ${c.node}` : ''}`, LIMITS.headerText) },
});
const footer = (c: SelftestContext, extra: string[] = []): Block => ({
  type: 'context',
  block_id: LIVING.footer,
  elements: [{ type: 'mrkdwn', text: [`job ${shortJobId(c.jobId)}`, `requested by <@${c.requestedBy}>`, ...extra].join(' · ') }],
});

export function renderQueued(c: SelftestContext, attachedTo?: string): ChatMessage {
  const text = attachedTo
    ? `A self-test on ${scope(c)} is already running (job ${shortJobId(attachedTo)}); this message will show its result.`
    : `Self-test on ${scope(c)} queued…`;
  return {
    text: text.replace(/`/g, ''),
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${text}` } }, footer(c)],
  };
}

export function renderProgress(c: SelftestContext, p: SelftestProgress): ChatMessage {
  const line =
    p.phase === 'listing' ? `Listing agents on ${scope(c)}…` : `${p.done}/${p.total} agents checked${p.failing ? `, ${p.failing} failing so far` : ''}`;
  return {
    text: `Self-test on ${c.cluster}: ${line.replace(/`/g, '')}`,
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${line}` } }, footer(c)],
  };
}

/**
 * Which command gave the verdicts (the agent layout decides it per pod, issue 19): `via \`system-probe runtime self-test\``,
 * with counts when the fleet mixed them. Results of older workers name none.
 */
export function commandsUsed(results: AgentResult[]): string[] {
  const counts = new Map<string, number>();
  for (const r of results) if (r.command) counts.set(r.command, (counts.get(r.command) ?? 0) + 1);
  if (counts.size === 0) return [];
  if (counts.size === 1) return [`via ${code([...counts.keys()][0]!, 60)}`];
  return [
    `via ${[...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([cmd, n]) => `${code(cmd, 60)} (${n})`)
      .join(', ')}`,
  ];
}

function agentLine(r: AgentResult): string {
  const where = r.pod && r.pod !== r.node ? `*${escapeMrkdwn(clip(r.node, 100))}* ${code(r.pod, 80)}` : `*${escapeMrkdwn(clip(r.node, 100))}*`;
  return `${ICON[r.status]} ${where} — ${LABEL[r.status]}${details(r)}`;
}

/** A self-test rule as people say it: `datadog_agent_cws_self_test_rule_chmod` is the `chmod` test (the full name stays in the metadata). */
export const testName = (rule: string) => rule.replace(/^datadog_agent_cws_self_test_rule_(?=.)/, '');

function details(r: AgentResult): string {
  const tests = r.failedTests.length
    ? `\nfailing tests: ${r.failedTests
        .slice(0, 10)
        .map((t) => code(testName(t), 80))
        .join(', ')}${r.failedTests.length > 10 ? ` +${r.failedTests.length - 10}` : ''}`
    : '';
  const message = r.status === 'ok' || !r.message.trim() ? '' : `\n${escapeMrkdwn(clip(r.message.trim(), 400))}`;
  return `${tests}${message}`;
}

/** Agents that failed the same way: same status, same failing tests, same message. */
export interface FailureGroup {
  status: AgentStatus;
  sample: AgentResult;
  nodes: string[];
  members: AgentResult[];
}

export function groupFailures(failures: AgentResult[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const r of failures) {
    const key = JSON.stringify([r.status, [...r.failedTests].sort(), r.message.trim()]);
    const g = groups.get(key);
    if (g) {
      g.nodes.push(r.node);
      g.members.push(r);
    } else groups.set(key, { status: r.status, sample: r, nodes: [r.node], members: [r] });
  }
  // Failed before error before timeout (the input is sorted so), the largest group first within a status.
  return [...groups.values()].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || b.nodes.length - a.nodes.length);
}

const STATUS_ORDER: Record<AgentStatus, number> = { failed: 0, error: 1, timeout: 2, ok: 3 };
const NODES_PER_GROUP = 10;
const nodeList = (nodes: string[], max: number) =>
  `${nodes
    .slice(0, max)
    .map((n) => escapeMrkdwn(clip(n, 60)))
    .join(', ')}${nodes.length > max ? `, +${nodes.length - max} more` : ''}`;

function groupLine(g: FailureGroup): string {
  if (g.nodes.length === 1) return agentLine(g.sample);
  return `${ICON[g.status]} *${g.nodes.length} nodes* — ${LABEL[g.status]}${details(g.sample)}\n${nodeList(g.nodes, NODES_PER_GROUP)}`;
}

/**
 * Slack refuses a message whose blocks hold more than about 13k characters (msg_blocks_too_long):
 * the failure sections of one result share this budget; what does not fit goes to the thread.
 */
const FAILURE_TEXT_BUDGET = 7_000;
const MAX_GROUPS_LISTED = 12;
/** One thread reply stays far under msg_blocks_too_long too. */
const DETAIL_TEXT_BUDGET = 10_500;

/** Whether the result message leaves agents out, so the thread must list them all. */
export function needsFailureDetails(result: SelftestResult, s: SelftestSummary = summarise(result.results)): boolean {
  return renderResultFailures(s.sorted.filter((r) => r.status !== 'ok')).incomplete;
}

/** `failures`: the agents not OK, in the summary's order. */
function renderResultFailures(failures: AgentResult[]): { blocks: Block[]; incomplete: boolean } {
  const blocks: Block[] = [];
  if (!failures.length) return { blocks, incomplete: false };
  const sorted = failures;
  blocks.push({ type: 'divider' });
  const groups = groupFailures(sorted);
  let budget = FAILURE_TEXT_BUDGET;
  let shown = 0;
  for (const g of groups.slice(0, MAX_GROUPS_LISTED)) {
    const line = clip(groupLine(g), LIMITS.sectionText);
    if (line.length > budget) break;
    budget -= line.length;
    shown++;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: line } });
  }
  const hiddenGroups = groups.slice(shown);
  const incomplete = hiddenGroups.length > 0 || groups.slice(0, shown).some((g) => g.nodes.length > NODES_PER_GROUP);
  if (incomplete) {
    const hiddenNodes = hiddenGroups.reduce((n, g) => n + g.nodes.length, 0);
    const more = hiddenGroups.length
      ? `…and ${hiddenNodes} more agent${hiddenNodes === 1 ? '' : 's'} not OK, failing ${hiddenGroups.length} other way${hiddenGroups.length === 1 ? '' : 's'}. `
      : '';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${more}The agents not OK are listed in the thread of this message.` }] });
  }
  return { blocks, incomplete };
}

/**
 * The one thread reply under a result that could not list every agent not OK: all of them,
 * grouped by how they failed, as far as one message holds (Slack's limits); what does not fit is
 * counted (every agent is in the result's metadata). One reply per thread: a later run in the
 * same thread (a re-run of the failed nodes) edits it rather than adding another.
 */
export function renderFailureDetails(c: SelftestContext, result: SelftestResult, s: SelftestSummary = summarise(result.results)): ChatMessage {
  const failures = s.sorted.filter((r) => r.status !== 'ok');
  const sections: { text: string; nodes: number }[] = [];
  for (const g of groupFailures(failures)) {
    const head = `${ICON[g.status]} *${g.nodes.length} node${g.nodes.length === 1 ? '' : 's'}* — ${LABEL[g.status]}${details(g.sample)}\n`;
    let text = clip(head, 1_500);
    let nodes = 0;
    for (const r of g.members) {
      const name = r.pod && r.pod !== r.node ? `${escapeMrkdwn(r.node)} (${code(r.pod, 253)})` : escapeMrkdwn(r.node);
      const item = `${name}, `;
      if (text.length + item.length > LIMITS.sectionText - 10) {
        sections.push({ text: text.replace(/, $/, ''), nodes });
        text = `_(${LABEL[g.status]}, continued)_ `;
        nodes = 0;
      }
      text += item;
      nodes++;
    }
    sections.push({ text: text.replace(/, $/, ''), nodes });
  }
  const head = `*Agents not OK in the self-test of \`${c.cluster}\`* (job ${shortJobId(c.jobId)}, requested by <@${c.requestedBy}>)`;
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: clip(head, LIMITS.sectionText) } }];
  let size = head.length;
  let listed = 0;
  for (const x of sections) {
    if (size + x.text.length > DETAIL_TEXT_BUDGET || blocks.length >= LIMITS.blocks - 2) break;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: x.text } });
    size += x.text.length;
    listed += x.nodes;
  }
  const left = failures.length - listed;
  if (left > 0)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `…and ${left} more agent${left === 1 ? '' : 's'} not OK, beyond what one Slack message holds; every agent is in the result message's metadata (\`cws_selftest_result\`).`,
        },
      ],
    });
  return { text: `Self-test ${c.cluster}: ${failures.length} agents not OK${left > 0 ? ` (${listed} listed here)` : ''}`, blocks };
}

const NEXT_STEP: Partial<Record<AgentStatus, string>> = {
  failed: 'Events are not reaching the agent: check the agent logs and collect a flare from a failing node.',
  error: 'The self-test could not run: check that system-probe is running with `runtime_security_config.enabled: true`, then re-run.',
  timeout: 'The agent did not answer in time: check that system-probe is healthy on that node, then re-run.',
};

/** The result message; `s` is the result's summary (computed once by the caller, or here). */
export function renderResult(c: SelftestContext, result: SelftestResult, s: SelftestSummary = summarise(result.results)): ChatMessage {
  const tookMs = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  const blocks: Block[] = [header(c)];

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
      block_id: LIVING.verdict,
      text: { type: 'mrkdwn', text: `${icon} *${s.ok}/${s.total} agents OK*${parts.length ? ` · ${parts.join(' · ')}` : ''}` },
    });
  }

  const failures = s.sorted.filter((r) => r.status !== 'ok');
  blocks.push(...renderResultFailures(failures).blocks);
  const statuses = new Set(failures.map((f) => f.status));
  const steps = (['failed', 'error', 'timeout'] as const).filter((k) => statuses.has(k)).map((k) => `• ${NEXT_STEP[k]}`);
  if (steps.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Next steps*\n${steps.join('\n')}` } });

  const oks = s.sorted.filter((r) => r.status === 'ok');
  if (oks.length) {
    const names = oks
      .slice(0, 15)
      .map((r) => escapeMrkdwn(clip(r.node, 60)))
      .join(', ');
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${ICON.ok} ${oks.length} OK: ${names}${oks.length > 15 ? `, +${oks.length - 15} more` : ''}` }],
    });
  }
  blocks.push(...resultActions(c, result, failures));
  blocks.push(footer(c, [result.target, ...commandsUsed(result.results), `took ${(tookMs / 1000).toFixed(1)} s`]));

  return {
    text: s.total === 0 ? `Self-test ${c.cluster}: no agents found` : `Self-test ${c.cluster}: ${s.ok}/${s.total} agents OK`,
    blocks,
    metadata: selftestMetadata(c.jobId, c.cluster, result, undefined, s),
  };
}

function button(action_id: string, text: string, value: string, extra: Record<string, unknown> = {}) {
  return { type: 'button' as const, action_id, text: { type: 'plain_text' as const, text: clip(text, LIMITS.buttonText) }, value, ...extra };
}

function resultActions(c: SelftestContext, result: SelftestResult, failures: AgentResult[]): Block[] {
  const main = [button(ACTIONS.selftestRerun.id(), 'Re-run', c.jobId)];
  const failedNodes = [...new Set(failures.map((f) => f.node))];
  if (failedNodes.length && failedNodes.length < result.results.length)
    main.unshift(button(ACTIONS.selftestRerunFailed.id(), `Re-run failed (${failedNodes.length})`, c.jobId, { style: 'primary' }));
  const blocks: Block[] = [{ type: 'actions', block_id: 'selftest_actions', elements: main }];
  const perNode = failedNodes.slice(0, NODE_BUTTONS).flatMap((node, i) => {
    const value = nodeActionValue(c.jobId, node);
    const els = [button(ACTIONS.selftestFlare.id(i), `Flare from ${node}`, value)];
    if (result.target === 'kubernetes')
      els.push(
        button(ACTIONS.selftestRestart.id(i), `Restart agent on ${node}`, value, {
          style: 'danger',
          confirm: {
            title: { type: 'plain_text', text: 'Restart the agent?' },
            text: {
              type: 'mrkdwn',
              text: clip(
                `This deletes the Datadog agent pod on *${escapeMrkdwn(clip(node, 100))}* in \`${c.cluster}\`. The DaemonSet starts a new one; the node has no agent until it is ready.`,
                300,
              ),
            },
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

/** Private answer to a `--node` self-test whose node has no agent: nothing was posted in the channel. */
export function renderNoAgentOnNode(c: SelftestContext): ChatMessage {
  const node = escapeClip(c.node ?? '?', 253);
  return {
    text: `No agent on node ${c.node ?? '?'} in ${c.cluster}: nothing was run.`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `:grey_question: No Datadog agent runs on node \`${node}\` in \`${c.cluster}\`, so nothing was run (and nothing was posted in the channel).\nCheck the node name (\`kubectl get nodes\`), or run \`/cws selftest ${c.cluster}\` for every agent.`,
        },
      },
    ],
  };
}

export function renderJobFailure(c: SelftestContext, failure: JobFailure): ChatMessage {
  const text = failureText(`Self-test on ${scope(c)} could not run:`, failure);
  return {
    text: `Self-test on ${c.cluster} could not run: ${clip(failure.message, 500)}`,
    blocks: [
      header(c),
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: ACTIONS.selftestRerun.id(), text: { type: 'plain_text', text: 'Re-run' }, value: c.jobId }],
      },
      footer(c),
    ],
    metadata: selftestMetadata(c.jobId, c.cluster, undefined, failure.message),
  };
}
