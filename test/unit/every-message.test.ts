/**
 * Every message and view the bot can produce, small, large and hostile, passed through the Slack
 * emulator's Block Kit validator: a message Slack would refuse fails here (issue 14).
 * Each interactive element must also belong to a kind the action registry binds to a handler.
 */
import { describe, expect, it } from 'vitest';
import type { AgentResult, FlareProgress, FlareResult, JobFailure, NetcheckResult, RemediateResult, SelftestResult } from '../../src/contract/jobs.ts';
import { validateMessage, validateView } from '../../src/sandbox/block-kit.ts';
import { actionKindOf } from '../../src/core/slack/actions.ts';
import { renderClusters } from '../../src/core/slack/blocks/clusters.ts';
import { type AuditRow, renderAudit } from '../../src/core/slack/blocks/audit.ts';
import { type JobRow, renderJobs } from '../../src/core/slack/blocks/jobs.ts';
import { renderStatus } from '../../src/core/slack/blocks/status.ts';
import { renderHome } from '../../src/core/slack/blocks/home.ts';
import { validateHomeView } from '../../src/sandbox/slack-api.ts';
import { renderFlareEmailModal, renderNodePicker } from '../../src/core/slack/blocks/flare-inputs.ts';
import { renderFlareFailure, renderFlareProgress, renderFlareQueued, renderFlareResult } from '../../src/core/slack/blocks/flare.ts';
import { renderNetcheckFailure, renderNetcheckQueued, renderNetcheckResult } from '../../src/core/slack/blocks/netcheck.ts';
import { renderRemediationFailure, renderRemediationQueued, renderRemediationResult } from '../../src/core/slack/blocks/remediation.ts';
import { renderRestartFailure, renderRestartQueued, renderRestartResult } from '../../src/core/slack/blocks/restart.ts';
import { renderIncidentAck, renderIncidentLinked, renderIncidentUpdate } from '../../src/core/slack/blocks/incident.ts';
import { renderApprovalClosed, renderApprovalRequest } from '../../src/core/slack/blocks/approval.ts';
import {
  needsFailureDetails,
  renderFailureDetails,
  renderJobFailure,
  renderProgress,
  renderQueued,
  renderResult,
} from '../../src/core/slack/blocks/selftest.ts';
import { renderProblem, renderUsage } from '../../src/core/slack/blocks/usage.ts';
import { type FollowUp, liveMessage } from '../../src/core/slack/blocks/living.ts';
import { renderResultsPointer } from '../../src/core/slack/blocks/pointer.ts';
import { help } from '../../src/bot/commands/help.ts';
import { parseCommand } from '../../src/core/grammar.ts';
import type { ChatMessage } from '../../src/bot/notifier.ts';

// The longest names the configuration and Kubernetes allow.
const LONG_CLUSTER = `c${'x'.repeat(62)}`; // CLUSTER_NAME_RE: 63
const longNode = (i: number) => `n${String(i).padStart(4, '0')}${'a'.repeat(248)}`; // DNS subdomain: 253
const longPod = (i: number) => `datadog-agent-${String(i).padStart(4, '0')}${'p'.repeat(235)}`;
const HOSTILE =
  '<!channel> <!here> <@U0BOSS> <#C0GENERAL> <https://evil.example|click> *bold* _it_ ~strike~ `tick` ```block``` &amp; &<> \u202e\u0000\t\n> quote';
const ARG_4000 = 'a'.repeat(4000);
const JOB = 'st-00000000-0000-4000-8000-000000000000';
const NC_JOB = 'nc-00000000-0000-4000-8000-000000000000';
const RM_JOB = 'rm-00000000-0000-4000-8000-000000000000';
const FL_JOB = 'fl-00000000-0000-4000-8000-000000000000';

function agent(i: number, status: AgentResult['status'], o: Partial<AgentResult> & { long?: boolean } = {}): AgentResult {
  const { long, ...rest } = o;
  return {
    node: long ? longNode(i) : `node-${i}`,
    pod: long ? longPod(i) : `datadog-agent-${i}`,
    status,
    failedTests: status === 'failed' ? ['datadog_agent_cws_self_test_rule_open', 'datadog_agent_cws_self_test_rule_chmod'] : [],
    message: status === 'ok' ? 'Runtime self test: OK' : `Runtime self test: error: failed to receive expected event`,
    durationMs: 2000,
    ...rest,
  };
}
const selftest = (results: AgentResult[], target: SelftestResult['target'] = 'kubernetes'): SelftestResult => ({
  kind: 'selftest',
  cluster: 'cluster-a',
  target,
  startedAt: '2026-12-01T07:00:00.000Z',
  finishedAt: '2026-12-01T07:00:04.200Z',
  results,
});

/** 1000 agents of which 200 fail, in 50 different ways, with the longest names. */
const large = selftest(
  Array.from({ length: 1000 }, (_, i) =>
    i % 5 === 0
      ? agent(i, (['failed', 'error', 'timeout'] as const)[i % 3]!, {
          long: true,
          message: `${HOSTILE} failure kind ${i % 50} ${'x'.repeat(300)}`,
          failedTests: Array.from({ length: 12 }, (_, t) => `datadog_agent_cws_self_test_rule_${t}_${'r'.repeat(60)}`),
        })
      : agent(i, 'ok', { long: true }),
  ),
);
const hostileSelftest = selftest([agent(1, 'error', { node: 'node-1', pod: HOSTILE, message: HOSTILE, failedTests: [HOSTILE] }), agent(2, 'ok')]);

const netcheck = (o: Partial<NetcheckResult> = {}): NetcheckResult => ({
  kind: 'netcheck',
  cluster: 'cluster-a',
  verdict: 'broken',
  findings: [{ code: 'cilium_race', severity: 'critical', message: 'Cilium ≤ 1.9 with Agent 7.36–7.39.1 can cut pod connectivity' }],
  remediations: ['set_classifier_priority', 'disable_network_detections', 'upgrade_agent', 'disable_cws'],
  suggestedPriority: 2,
  agent: { version: '7.39.1', image: 'gcr.io/datadoghq/agent:7.39.1', daemonSet: 'datadog-agent', managedBy: 'none' },
  cni: { status: 'detected', vendor: 'cilium', version: '1.9.5', daemonSet: 'cilium', detail: 'kube-system/cilium' },
  config: {
    cwsEnabled: { value: true, origin: 'env DD_RUNTIME_SECURITY_CONFIG_ENABLED' },
    networkEnabled: { value: true, origin: 'default(true)' },
    classifierPriority: { value: 10, origin: 'default(10)' },
  },
  nodes: [{ node: 'node-1', priorities: [1], interfaces: 3 }],
  how: ['DaemonSet datadog/datadog-agent', 'exec tc filter show'],
  ...o,
});
const largeNetcheck = netcheck({
  cluster: LONG_CLUSTER,
  agent: { version: '7.39.1', image: `gcr.io/${'i'.repeat(300)}:7.39.1`, daemonSet: 'd'.repeat(253), managedBy: 'helm' },
  findings: Array.from({ length: 50 }, (_, i) => ({
    code: `finding_${i}_${'c'.repeat(40)}`,
    severity: (['critical', 'warning', 'info'] as const)[i % 3]!,
    node: longNode(i),
    message: `${HOSTILE} ${'m'.repeat(400)}`,
  })),
  nodes: Array.from({ length: 1000 }, (_, i) => ({
    node: longNode(i),
    priorities: i % 2 ? [1] : [],
    interfaces: 2,
    ...(i % 7 === 0 ? { error: `${HOSTILE} ${'e'.repeat(300)}` } : {}),
  })),
  how: Array.from({ length: 60 }, (_, i) => `${HOSTILE} step ${i}`),
  cni: { status: 'unknown', vendor: null, version: null, daemonSet: null, detail: `${HOSTILE}${'d'.repeat(500)}` },
});
const failure = (message = 'the exec timed out after 60 s', hint = 'Check system-probe.'): JobFailure => ({ code: 'exec_timeout', message, hint });
const review = (o: Partial<FlareProgress> = {}): FlareProgress => ({
  stage: 'review',
  node: 'node-3',
  pod: 'datadog-agent-3',
  archive: { path: '/tmp/datadog-agent-2026.zip', name: 'datadog-agent-2026.zip', bytes: 1_234_567, files: 42 },
  fileList: [{ label: 'security-agent.log', bytes: 4096 }],
  findings: [],
  expiresAt: '2026-12-01T07:30:00.000Z',
  ...o,
});
const largeReview = review({
  node: longNode(1),
  pod: longPod(1),
  archive: { path: `/tmp/${'z'.repeat(200)}.zip`, name: `${HOSTILE}${'z'.repeat(200)}.zip`, bytes: 2 ** 31, files: 5000 },
  fileList: Array.from({ length: 5000 }, (_, i) => ({ label: `${HOSTILE}/etc/datadog-agent/${'f'.repeat(200)}-${i}.yaml`, bytes: i })),
  findings: Array.from({ length: 300 }, (_, i) => ({ file: `${HOSTILE}${'f'.repeat(200)}`, line: i, kind: HOSTILE, preview: `api_key=${'*'.repeat(200)}` })),
  skipped: Array.from({ length: 500 }, (_, i) => `${HOSTILE}-${i}`),
});
const flareResult = (o: Partial<FlareResult> = {}): FlareResult => ({
  kind: 'flare',
  cluster: 'cluster-a',
  node: 'node-3',
  pod: 'datadog-agent-3',
  stage: 'sent',
  reason: 'sent',
  agentOutput: 'Your logs were successfully uploaded.',
  ...o,
});
const remediation = (o: Partial<RemediateResult> = {}): RemediateResult => ({
  kind: 'remediate',
  cluster: 'cluster-a',
  action: 'disable_network_detections',
  daemonSet: 'datadog-agent',
  before: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: null } },
  after: { 'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'false' } },
  status: 'applied',
  rollout: { generation: 2, observedGeneration: 2, desired: 5, updated: 5, ready: 5, complete: true },
  ...o,
});
const manyEnv = Object.fromEntries(
  ['system-probe', 'security-agent', 'agent', 'trace-agent', 'process-agent'].map((c) => [
    c,
    Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`DD_${'V'.repeat(80)}_${i}`, `${HOSTILE}${'v'.repeat(100)}`])),
  ]),
);

const ctx = { jobId: JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' };
const longCtx = { jobId: JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER', node: longNode(9999) };
const flareCtx = { jobId: FL_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER', node: 'node-3', email: 'a@b.example' };
const flareLongCtx = {
  jobId: FL_JOB,
  cluster: LONG_CLUSTER,
  requestedBy: 'U0ASKER',
  node: longNode(3),
  email: `${'e'.repeat(200)}@example.com`,
  caseId: '123456789012',
};
const req = { id: 'fr-1', cluster: 'cluster-a', userId: 'U0ASKER', channelId: 'C0CHAN' };

// History (issue 17, point 3): audit entries and jobs, the longest and most hostile the bot records.
const auditRow = (i: number, o: Partial<AuditRow> = {}): AuditRow => ({
  at: new Date(Date.UTC(2026, 11, 1, 7, 0, i)).toISOString(),
  user: i % 7 === 0 ? `cli:${HOSTILE}` : 'U0ASKER',
  channel: i % 3 === 0 ? 'cli' : 'C0CHAN',
  command: `selftest ${LONG_CLUSTER} ${HOSTILE} ${'a'.repeat(200)}`,
  cluster: LONG_CLUSTER,
  jobId: JOB,
  outcome: (['queued', 'denied', 'invalid', 'ok', 'failed', 'error', 'attached', 'answered'] as const)[i % 8]!,
  detail: `${HOSTILE}${'d'.repeat(400)}`,
  ...o,
});
const jobRow = (i: number, o: Partial<JobRow> = {}): JobRow => ({
  jobId: JOB,
  kind: (['selftest', 'netcheck', 'flare', 'remediate'] as const)[i % 4]!,
  cluster: LONG_CLUSTER,
  requestedBy: 'U0ASKER',
  state: (['active', 'completed', 'failed', 'unknown', 'waiting', 'waiting-children'] as const)[i % 6]!,
  at: Date.UTC(2026, 11, 1, 7, 0, i),
  link: `https://cws.slack.com/archives/C0CHAN/p170000000000${String(i).padStart(4, '0')}`,
  ...o,
});
const manyAudit = Array.from({ length: 100 }, (_, i) => auditRow(i));
const manyJobs = Array.from({ length: 500 }, (_, i) => jobRow(i));
const hostileJob = jobRow(1, { kind: HOSTILE, requestedBy: HOSTILE, state: HOSTILE, link: `https://evil.example|click> ${HOSTILE}` });

let followUps = 0;
const followUp = (o: Partial<FollowUp> = {}): FollowUp => ({
  jobId: `rm-00000000-0000-4000-8000-${String(++followUps).padStart(12, '0')}`,
  action: 'disable_cws',
  by: 'U0FIXER',
  startedAt: Date.parse('2026-12-01T07:01:00Z'),
  endedAt: Date.parse('2026-12-01T07:02:00Z'),
  state: 'done',
  ...o,
});

/** name → message: every builder, each with small, large and hostile input. */
function catalogue(): [string, ChatMessage | ChatMessage[]][] {
  const parsed = parseCommand(`selftest ${ARG_4000}`);
  return [
    ['audit: no entries', renderAudit([], { limit: 20 })],
    [
      'audit: a few entries of a cluster',
      renderAudit([auditRow(1, { detail: undefined }), auditRow(3, { jobId: undefined })], { cluster: 'cluster-a', limit: 20 }),
    ],
    ['audit: 100 entries, longest and hostile', renderAudit(manyAudit, { limit: 100 })],
    ['jobs: none', renderJobs([], { hours: 24 })],
    ['jobs: 500 recent and running, longest names', renderJobs(manyJobs, { cluster: LONG_CLUSTER, hours: 24 })],
    ['jobs: hostile job', renderJobs([hostileJob], { hours: 24 })],
    ['status: running, no message yet', renderStatus(jobRow(0, { link: undefined }), renderQueued(ctx))],
    ['status: a large self-test result again, without its buttons', renderStatus(jobRow(1), renderResult(longCtx, large))],
    [
      'status: a netcheck result again',
      renderStatus(jobRow(1), renderNetcheckResult({ jobId: NC_JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER' }, largeNetcheck)),
    ],
    ['status: answered privately', renderStatus(hostileJob, undefined, HOSTILE)],
    ['selftest queued', renderQueued(ctx)],
    ['selftest queued, longest names, attached', renderQueued({ ...longCtx, nodes: Array.from({ length: 5000 }, (_, i) => longNode(i)) }, JOB)],
    ['selftest progress', renderProgress(ctx, { total: 1000, done: 500, failing: 100, phase: 'running' })],
    ['selftest progress listing, longest names', renderProgress(longCtx, { total: 0, done: 0, failing: 0, phase: 'listing' })],
    ['selftest result: all OK', renderResult(ctx, selftest([agent(1, 'ok'), agent(2, 'ok')]))],
    ['selftest result: no agents', renderResult(ctx, selftest([]))],
    [
      'selftest result: several failing nodes (kubernetes)',
      renderResult(ctx, selftest([agent(1, 'failed'), agent(2, 'error'), agent(3, 'timeout'), agent(4, 'failed'), agent(5, 'ok')])),
    ],
    ['selftest result: several failing nodes (docker)', renderResult(ctx, selftest([agent(1, 'failed'), agent(2, 'failed')], 'docker'))],
    ['selftest result: 1000 agents, 200 failing, longest names', renderResult(longCtx, large)],
    ['selftest result: hostile agent output', renderResult(ctx, hostileSelftest)],
    ['selftest thread: 1000 agents, 200 failing', renderFailureDetails(longCtx, large)],
    ['selftest job failure', renderJobFailure(ctx, failure())],
    ['selftest job failure, hostile and long', renderJobFailure(longCtx, failure(`${HOSTILE}${ARG_4000}`, `${HOSTILE}${ARG_4000}`))],
    ['netcheck queued', renderNetcheckQueued({ jobId: NC_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' })],
    ['netcheck queued, longest names, attached', renderNetcheckQueued({ jobId: NC_JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER' }, NC_JOB)],
    ['netcheck result: every remediation offered', renderNetcheckResult({ jobId: NC_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' }, netcheck())],
    [
      'netcheck result: ok',
      renderNetcheckResult({ jobId: NC_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' }, netcheck({ verdict: 'ok', findings: [], remediations: [] })),
    ],
    [
      'netcheck result: 50 findings, 1000 nodes, Helm, hostile',
      renderNetcheckResult({ jobId: NC_JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER' }, largeNetcheck),
    ],
    [
      'netcheck result: operator managed',
      renderNetcheckResult(
        { jobId: NC_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' },
        netcheck({ agent: { version: null, image: null, daemonSet: 'datadog-agent', managedBy: 'operator' } }),
      ),
    ],
    [
      'netcheck failure, hostile and long',
      renderNetcheckFailure({ jobId: NC_JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER' }, failure(`${HOSTILE}${ARG_4000}`, `${HOSTILE}${ARG_4000}`)),
    ],
    ['remediation queued', renderRemediationQueued({ jobId: RM_JOB, cluster: LONG_CLUSTER, action: 'disable_cws', requestedBy: 'U0ASKER' })],
    [
      'remediation result',
      renderRemediationResult({ jobId: RM_JOB, cluster: 'cluster-a', action: 'disable_network_detections', requestedBy: 'U0ASKER' }, remediation()),
    ],
    [
      'remediation result: many variables, hostile',
      renderRemediationResult(
        { jobId: RM_JOB, cluster: LONG_CLUSTER, action: 'disable_cws', requestedBy: 'U0ASKER' },
        remediation({
          action: 'disable_cws',
          daemonSet: 'd'.repeat(253),
          before: manyEnv,
          after: manyEnv,
          rollout: { generation: 3, observedGeneration: 2, desired: 1000, updated: 10, ready: 9, complete: false },
        }),
      ),
    ],
    [
      'remediation revert result',
      renderRemediationResult({ jobId: RM_JOB, cluster: 'cluster-a', action: 'revert', requestedBy: 'U0ASKER' }, remediation({ action: 'revert' })),
    ],
    [
      'remediation failure, hostile',
      renderRemediationFailure(
        { jobId: RM_JOB, cluster: LONG_CLUSTER, action: HOSTILE, requestedBy: 'U0ASKER' },
        failure(`${HOSTILE}${ARG_4000}`, `${HOSTILE}${ARG_4000}`),
      ),
    ],
    ['restart queued, longest names', renderRestartQueued({ jobId: JOB, cluster: LONG_CLUSTER, node: longNode(1), requestedBy: 'U0ASKER' })],
    [
      'restart result',
      renderRestartResult(
        { jobId: JOB, cluster: 'cluster-a', node: 'node-1', requestedBy: 'U0ASKER' },
        { kind: 'restart-agent', cluster: 'cluster-a', node: 'node-1', before: { pod: 'a' }, after: { pod: 'b' }, status: 'restarted' },
      ),
    ],
    [
      'restart result, longest names',
      renderRestartResult(
        { jobId: JOB, cluster: LONG_CLUSTER, node: longNode(1), requestedBy: 'U0ASKER' },
        { kind: 'restart-agent', cluster: 'cluster-a', node: longNode(1), before: { pod: longPod(1) }, after: { pod: null }, status: 'restarted' },
      ),
    ],
    [
      'restart no agent',
      renderRestartResult(
        { jobId: JOB, cluster: 'cluster-a', node: 'node-1', requestedBy: 'U0ASKER' },
        { kind: 'restart-agent', cluster: 'cluster-a', node: 'node-1', before: { pod: null }, after: { pod: null }, status: 'no_agent' },
      ),
    ],
    [
      'restart failure, hostile',
      renderRestartFailure(
        { jobId: JOB, cluster: LONG_CLUSTER, node: longNode(1), requestedBy: 'U0ASKER' },
        failure(`${HOSTILE}${ARG_4000}`, `${HOSTILE}${ARG_4000}`),
      ),
    ],
    // Living messages (issue 17, point 4): finished buttons replaced by their outcomes, stale verdicts, next steps.
    [
      'living: a netcheck report after a fix, with Re-check',
      liveMessage(renderNetcheckResult({ jobId: NC_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' }, netcheck()), NC_JOB, [
        followUp({ action: 'disable_network_detections' }),
      ]),
    ],
    [
      'living: a large netcheck with every fix started, hostile details',
      liveMessage(
        renderNetcheckResult({ jobId: NC_JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER' }, largeNetcheck),
        NC_JOB,
        (['set_classifier_priority', 'disable_network_detections', 'disable_cws'] as const).map((action, i) =>
          followUp({ action, state: (['running', 'done', 'failed'] as const)[i]!, by: HOSTILE, detail: `${HOSTILE}${ARG_4000}` }),
        ),
      ),
    ],
    [
      'living: 1000 agents, restarts of the failing nodes, longest names',
      liveMessage(
        renderResult(longCtx, large),
        JOB,
        [0, 5, 10, 15, 20, 25].map((i) => followUp({ action: 'restart_agent', node: longNode(i), detail: `pod ${longPod(i)} → ${longPod(i + 1)}` })),
      ),
    ],
    [
      'living: a remediation reverted',
      liveMessage(
        renderRemediationResult({ jobId: RM_JOB, cluster: 'cluster-a', action: 'disable_network_detections', requestedBy: 'U0ASKER' }, remediation()),
        RM_JOB,
        [followUp({ action: 'revert' })],
      ),
    ],
    [
      'restart result with its re-run button, longest names',
      renderRestartResult(
        { jobId: JOB, cluster: LONG_CLUSTER, node: longNode(1), requestedBy: 'U0ASKER', origin: JOB },
        { kind: 'restart-agent', cluster: 'cluster-a', node: longNode(1), before: { pod: longPod(1) }, after: { pod: longPod(2) }, status: 'restarted' },
      ),
    ],
    ['results pointer, with its link', renderResultsPointer('The self-test on `cluster-a`', 'C0RESULTS', 'https://example.slack.com/archives/C0RESULTS/p1')],
    ['results pointer, hostile, no link yet', renderResultsPointer(`${HOSTILE}${ARG_4000}`, 'C0RESULTS', `https://evil.example|x> ${HOSTILE}`)],
    // Incident mirroring and two-person approval (issue 17).
    [
      'incident: a job running',
      renderIncidentUpdate({ jobId: NC_JOB, cluster: 'cluster-a', kind: 'netcheck', state: 'running', by: 'U0ASKER', from: 'C0ORIGIN' }),
    ],
    [
      'incident: a change approved, longest names, hostile verdict and link',
      renderIncidentUpdate({
        jobId: RM_JOB,
        cluster: LONG_CLUSTER,
        kind: 'remediate',
        state: 'ok',
        by: 'U0ASKER',
        from: 'C0ORIGIN',
        approvedBy: 'U0BOSS',
        verdict: `${HOSTILE}${ARG_4000}`,
        link: `https://evil.example|click> ${HOSTILE}`,
      }),
    ],
    [
      'incident: a self-test with a link',
      renderIncidentUpdate({
        jobId: JOB,
        cluster: 'cluster-a',
        kind: 'selftest',
        state: 'failed',
        by: 'U0ASKER',
        from: 'cli',
        verdict: 'Self-test cluster-a: 4/5 agents OK',
        link: 'https://example.slack.com/archives/C0ORIGIN/p1',
      }),
    ],
    ['incident: hostile kind', renderIncidentUpdate({ jobId: HOSTILE, cluster: 'cluster-a', kind: HOSTILE, state: 'error', by: 'U0ASKER', from: HOSTILE })],
    ['incident: linked', renderIncidentLinked({ cluster: LONG_CLUSTER, by: 'U0ASKER', from: 'C0ORIGIN' })],
    ['incident: ack', renderIncidentAck(`:rotating_light: Every job and change on \`${LONG_CLUSTER}\` will be mirrored to <#C0INCIDENT>.`)],
    ...(['disable_cws', 'restart_agent', HOSTILE] as const).map((action): [string, ChatMessage] => [
      `approval request: ${action.slice(0, 20)}`,
      renderApprovalRequest({
        approvalId: 'ap-00000000-0000-4000-8000-000000000000',
        cluster: LONG_CLUSTER,
        action,
        requestedBy: 'U0ASKER',
        expiresAt: '2026-12-01T07:15:00.000Z',
        ...(action === 'restart_agent' ? { node: longNode(1) } : {}),
      }),
    ]),
    ...(['approved', 'rejected', 'expired'] as const).map((state): [string, ChatMessage] => [
      `approval ${state}`,
      renderApprovalClosed(
        {
          approvalId: 'ap-00000000-0000-4000-8000-000000000000',
          cluster: LONG_CLUSTER,
          action: HOSTILE,
          requestedBy: 'U0ASKER',
          expiresAt: 'not a date',
          node: HOSTILE,
        },
        state,
        state === 'expired' ? undefined : 'U0BOSS',
        '2026-12-01T07:10:00.000Z',
      ),
    ]),
    ['flare queued', renderFlareQueued(flareCtx)],
    ['flare building, longest names', renderFlareProgress(flareLongCtx, { stage: 'building', pod: longPod(3) })],
    ['flare review', renderFlareProgress(flareCtx, review())],
    [
      'flare review with findings',
      renderFlareProgress(flareCtx, review({ findings: [{ file: 'datadog.yaml', line: 3, kind: 'api key', preview: 'api_key: ****' }] })),
    ],
    ['flare review: 5000 files, 300 findings, hostile', renderFlareProgress(flareLongCtx, largeReview)],
    ['flare sending', renderFlareProgress(flareLongCtx, { stage: 'sending', archive: largeReview.archive! })],
    ...(['sent', 'cancelled', 'expired', 'upload_failed', 'build_failed', 'session_lost'] as const).map((reason): [string, ChatMessage] => [
      `flare result ${reason}, hostile`,
      renderFlareResult(
        flareLongCtx,
        flareResult({
          stage: reason === 'sent' ? 'sent' : reason === 'cancelled' || reason === 'expired' ? 'cancelled' : 'failed',
          reason,
          agentOutput: `${HOSTILE}${ARG_4000}`,
          archive: largeReview.archive!,
          node: longNode(3),
          pod: longPod(3),
          caseId: '123456789012',
          archiveRemoved: true,
        }),
      ),
    ]),
    ['flare failure, hostile', renderFlareFailure(flareLongCtx, failure(`${HOSTILE}${ARG_4000}`, `${HOSTILE}${ARG_4000}`))],
    ['node picker', renderNodePicker(req, [{ node: 'node-1' }, { node: 'node-2', unavailable: 'not ready' }])],
    [
      'node picker: 1000 agents, longest names',
      renderNodePicker(
        { ...req, cluster: LONG_CLUSTER },
        Array.from({ length: 1000 }, (_, i) => ({ node: longNode(i) })),
      ),
    ],
    ['node picker: none', renderNodePicker(req, [])],
    [
      'clusters',
      renderClusters([
        { name: 'cluster-a', kind: 'kubernetes', workers: 2 },
        { name: 'b', kind: 'docker', workers: 0 },
        { name: 'c', kind: 'host', workers: undefined },
      ]),
    ],
    [
      'clusters: 200, longest names',
      renderClusters(Array.from({ length: 200 }, (_, i) => ({ name: `${i}${'x'.repeat(60)}`, kind: 'kubernetes' as const, workers: i }))),
    ],
    ['help', help({ name: 'help' }).ack!],
    ['help topic, hostile', help({ name: 'help', topic: HOSTILE }).ack!],
    ['usage: 4000-character argument', renderUsage(parsed.ok ? 'parsed' : `${parsed.error}\n${parsed.usage}`)],
    ['problem, hostile and long', renderProblem(`${HOSTILE}${ARG_4000}`, `${HOSTILE}${ARG_4000}`)],
  ];
}

function actionIds(blocks: unknown[] | undefined): string[] {
  const ids: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.action_id === 'string' && o.type !== 'plain_text_input' && o.type !== 'email_text_input') ids.push(o.action_id);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return ids;
}

function mrkdwnTexts(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) mrkdwnTexts(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
    for (const x of Object.values(o)) mrkdwnTexts(x, out);
  }
  return out;
}

describe('every message the bot can produce is one Slack accepts', () => {
  for (const [name, rendered] of catalogue()) {
    it(name, () => {
      const messages = Array.isArray(rendered) ? rendered : [rendered];
      expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) {
        // As chat.postMessage / chat.update send it (and as a response_url or ack body).
        expect(validateMessage({ text: m.text, blocks: m.blocks, ...(m.metadata ? { metadata: m.metadata } : {}) })).toBeUndefined();
        expect(m.text.length).toBeGreaterThan(0);
        for (const id of actionIds(m.blocks)) expect(actionKindOf(id), `action_id ${id} is bound to no handler`).toBeDefined();
      }
    });
  }

  it('escapes hostile text: no mention, link or channel ping reaches Slack from agent output', () => {
    for (const m of [
      renderResult(ctx, hostileSelftest),
      renderNetcheckResult({ jobId: NC_JOB, cluster: LONG_CLUSTER, requestedBy: 'U0ASKER' }, largeNetcheck),
      renderFlareProgress(flareLongCtx, largeReview),
    ]) {
      // Only mrkdwn is parsed for mentions and links; plain_text shows them as typed.
      const text = mrkdwnTexts(m.blocks).join('\n');
      expect(text.length).toBeGreaterThan(0);
      for (const bad of ['<!channel>', '<!here>', '<@U0BOSS>', '<#C0GENERAL>', '<https://evil']) expect(text).not.toContain(bad);
    }
  });

  it('a large self-test groups identical failures, caps the lines, and lists every agent not OK in the thread', () => {
    const m = renderResult(longCtx, large);
    const text = JSON.stringify(m.blocks);
    expect(text).toMatch(/\d+ nodes\* — failed/);
    expect(text).toContain('The agents not OK are listed in the thread of this message.');
    expect(needsFailureDetails(large)).toBe(true);
    // One reply: the agents it holds listed, the rest counted (every agent is in the result's metadata).
    const reply = renderFailureDetails(longCtx, large);
    const thread = JSON.stringify(reply.blocks);
    const notOk = large.results.filter((x) => x.status !== 'ok');
    const listed = notOk.filter((r) => thread.includes(r.node)).length;
    expect(listed).toBeGreaterThan(10); // 50 ways of failing, each with a long message and 12 long test names
    expect(thread).toContain(`…and ${notOk.length - listed} more agents not OK, beyond what one Slack message holds`);
    expect((m.metadata!.event_payload.results as unknown[]).length).toBe(large.results.length);
    // Names of a usual length: every one of 200 failing agents fits the one reply.
    const usual = selftest(Array.from({ length: 400 }, (_, i) => agent(i, i % 2 ? 'failed' : 'ok', { message: `kind ${i % 40}` })));
    const all = JSON.stringify(renderFailureDetails(ctx, usual).blocks);
    for (const r of usual.results.filter((x) => x.status !== 'ok')) expect(all).toContain(`${r.node} (`);
    expect(all).not.toContain('more agents not OK');
    // A small result lists every node itself.
    expect(needsFailureDetails(selftest([agent(1, 'failed'), agent(2, 'ok')]))).toBe(false);
  });

  it('buttons of one kind in one block get distinct action_ids, their values name what each acts on', () => {
    const m = renderResult(ctx, selftest([agent(7, 'failed'), agent(8, 'failed', { message: 'other' }), agent(10, 'timeout'), agent(1, 'ok')]));
    const els = m.blocks!.flatMap((b) => (b.type === 'actions' ? (b.elements as { action_id: string; value: string }[]) : []));
    const restarts = els.filter((e) => e.action_id.startsWith('selftest.restart'));
    expect(restarts.map((e) => e.action_id)).toEqual(['selftest.restart:0', 'selftest.restart:1', 'selftest.restart:2']);
    expect(restarts.map((e) => e.value)).toEqual([`${JOB}|node-7`, `${JOB}|node-8`, `${JOB}|node-10`]);
    const fixes = renderNetcheckResult({ jobId: NC_JOB, cluster: 'cluster-a', requestedBy: 'U0ASKER' }, netcheck()).blocks!.flatMap((b) =>
      b.type === 'actions' ? (b.elements as { action_id: string; value: string }[]) : [],
    );
    expect(fixes.map((e) => [e.action_id, e.value])).toEqual([
      ['netcheck.remediate:0', `${NC_JOB}|set_classifier_priority`],
      ['netcheck.remediate:1', `${NC_JOB}|disable_network_detections`],
      ['netcheck.remediate:2', `${NC_JOB}|disable_cws`],
    ]);
  });
});

describe('every view the bot can open is one Slack accepts', () => {
  it('the App Home: no cluster, a few, and 1000 clusters with 500 jobs (within a home view’s 100 blocks)', () => {
    const cluster = (i: number) => ({
      name: i ? `${LONG_CLUSTER.slice(0, 58)}-${String(i).padStart(4, '0')}` : LONG_CLUSTER,
      kind: (['kubernetes', 'docker', 'host'] as const)[i % 3]!,
      workers: i % 4 === 0 ? undefined : i % 4,
      ...(i % 2 ? { selftest: { verdict: 'failed', at: '2026-12-01T07:00:00.000Z', jobId: JOB } } : {}),
      ...(i % 3 ? { netcheck: { verdict: HOSTILE, at: 'not a date', jobId: NC_JOB } } : {}),
    });
    for (const view of [
      renderHome({ userId: 'U0ASKER', clusters: [], jobs: [] }),
      renderHome({ userId: 'U0ASKER', clusters: [cluster(1), cluster(2)], jobs: [jobRow(1), hostileJob] }),
      renderHome({ userId: 'U0ASKER', clusters: Array.from({ length: 1000 }, (_, i) => cluster(i)), jobs: manyJobs }),
    ]) {
      expect(validateHomeView(view)).toBeUndefined();
      expect(view.blocks.length).toBeLessThanOrEqual(100);
      for (const id of actionIds(view.blocks)) expect(actionKindOf(id), `action_id ${id} is bound to no handler`).toBeDefined();
    }
  });

  it('the flare email modal, with and without a profile email, long names', () => {
    expect(validateView(renderFlareEmailModal(req))).toBeUndefined();
    expect(
      validateView(renderFlareEmailModal({ ...req, cluster: LONG_CLUSTER, node: longNode(1), caseId: '123456789012' }, `${'e'.repeat(200)}@example.com`)),
    ).toBeUndefined();
  });
});
