import { netcheckMetadata } from '../../metadata.ts';
import type { JobFailure, NetcheckResult } from '../../results.ts';
import type { Block, ChatMessage } from '../message.ts';
import { ACTIONS } from '../actions.ts';
import { LIVING } from './living.ts';
import { clip, code, escapeMrkdwn, escapeClip, failureText, LIMITS, shortJobId } from './text.ts';

/** Which keys the agent version reads (src/core/netcheck/config.ts): shown under the settings' title. */
const LAYOUT: Record<'event_monitoring' | 'legacy' | 'unknown' | 'none', string> = {
  event_monitoring: ' (event_monitoring_config.network.*, deprecated runtime_security_config.network.* in the file first)',
  legacy: ' (runtime_security_config.*: agent before 7.44)',
  unknown: ' (agent version unknown: key precedence unknown)',
  none: '',
};

export interface NetcheckContext {
  jobId: string;
  cluster: string;
  requestedBy: string;
}

const VERDICT: Record<NetcheckResult['verdict'], string> = {
  ok: ':large_green_circle: *OK* — CWS network detections and the CNI plugin get along.',
  action_required: ':large_orange_circle: *Action required* — a setting must change for network detections to work.',
  broken: ':red_circle: *Broken* — network detections do not work (or pods may lose connectivity).',
  unknown: ':grey_question: *Unknown* — some facts could not be obtained; nothing is guessed.',
};
const SEVERITY = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':information_source:' } as const;
const ORDER = { critical: 0, warning: 1, info: 2 } as const;

const header = (c: NetcheckContext): Block => ({ type: 'header', text: { type: 'plain_text', text: clip(`CWS netcheck · ${c.cluster}`, LIMITS.headerText) } });
const footer = (c: NetcheckContext, extra: string[] = []): Block => ({
  type: 'context',
  block_id: LIVING.footer,
  elements: [{ type: 'mrkdwn', text: [`job ${shortJobId(c.jobId)}`, `requested by <@${c.requestedBy}>`, ...extra].join(' · ') }],
});

export function renderNetcheckQueued(c: NetcheckContext, attachedTo?: string): ChatMessage {
  const text = attachedTo
    ? `A netcheck of \`${c.cluster}\` is already running (job ${shortJobId(attachedTo)}); this message will show its result.`
    : `Checking CWS network detections against the CNI plugin of \`${c.cluster}\`…`;
  return {
    text: text.replace(/`/g, ''),
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: ${text}` } }, footer(c)],
  };
}

function setting(v: NetcheckResult['config']['cwsEnabled']): string {
  return `${v.value === null ? 'unknown' : String(v.value)} _(${escapeMrkdwn(originWords(v.origin))})_`;
}

/** Provenance labels inside a finding's message (`… (default(7.39.1)) takes precedence`), in words too. */
export function plainOrigins(text: string): string {
  return text.replace(/\b(?:default|fixed)\([0-9a-z.+-]*\)|\benv:[a-z][a-z0-9-]*/g, (label) => originWords(label));
}

/**
 * Where a setting's value comes from, in plain words (the worker's provenance labels, e.g.
 * `default(7.39.1)` or `env:system-probe`, stay in the message metadata).
 */
export function originWords(origin: string): string {
  const m = /^(default|fixed)\((.*)\)$/.exec(origin);
  if (m) {
    const version = m[2] && m[2] !== 'any' ? m[2] : undefined;
    if (m[1] === 'default') return version ? `default of agent ${version}` : 'default';
    return version ? `always so in agent ${version}` : 'always so';
  }
  const env = /^env:(.+)$/.exec(origin);
  if (env) return `set in the ${env[1]} environment`;
  if (origin === 'configmap') return 'set in system-probe.yaml (ConfigMap)';
  if (origin === 'file') return 'set in system-probe.yaml';
  if (origin === 'unknown') return 'source unknown';
  return origin;
}

/** Per-node priorities, compact when every node agrees. */
function nodeSummary(nodes: NetcheckResult['nodes']): string {
  if (!nodes.length) return 'not inspected';
  const groups = new Map<string, string[]>();
  for (const n of nodes) {
    const key = n.error
      ? `unknown (${clip(n.error, 80)})`
      : n.priorities.length
        ? `pref ${n.priorities.join(', ')}`
        : n.interfaces
          ? 'no vendor classifier'
          : 'no pod-facing interface';
    groups.set(key, [...(groups.get(key) ?? []), n.node]);
  }
  return [...groups.entries()]
    .map(([k, ns]) =>
      groups.size === 1
        ? `all ${ns.length} nodes: ${escapeMrkdwn(k)}`
        : `${escapeMrkdwn(k)}: ${ns.slice(0, 8).map(escapeMrkdwn).join(', ')}${ns.length > 8 ? ` +${ns.length - 8}` : ''}`,
    )
    .join('\n');
}

/** The env vars a remediation sets for this agent (the worker's `remediationEnv`; older workers: the name every version reads). */
const envSet = (r: NetcheckResult, option: 'classifierPriority' | 'networkEnabled', value: string, sep = ' and ') =>
  (
    r.remediationEnv?.[option] ?? [
      option === 'classifierPriority' ? 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY' : 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED',
    ]
  )
    .map((n) => `${n}=${value}`)
    .join(sep);

/** What each remediation means here, with the exact setting (DESIGN.md "Remediation"). */
function remediationText(r: NetcheckResult): string[] {
  const helm = r.agent.managedBy === 'helm';
  const op = r.agent.managedBy === 'operator';
  const out: string[] = [];
  for (const code of r.remediations) {
    if (code === 'set_classifier_priority' && r.suggestedPriority !== undefined)
      out.push(
        `• *Set classifier_priority to ${r.suggestedPriority}*: env \`${envSet(r, 'classifierPriority', String(r.suggestedPriority), '` and `')}\` on system-probe${helm ? ' (Helm: via `datadog.env`)' : ''}, or \`${r.remediationEnv?.fileKeys ?? 'runtime_security_config'}.network.classifier_priority: ${r.suggestedPriority}\` in system-probe.yaml.`,
      );
    if (code === 'disable_network_detections')
      out.push(
        `• *Disable network detections*: ${op ? 'DatadogAgent `features.cws.network.enabled: false`' : helm ? 'Helm values `datadog.securityAgent.runtime.network.enabled: false`' : `env \`${envSet(r, 'networkEnabled', 'false', '` and `')}\` on system-probe`}.`,
      );
    if (code === 'upgrade_agent') out.push('• *Upgrade the agent* to 7.39.2 or later (the Cilium race is fixed there).');
    if (code === 'disable_cws')
      out.push(
        `• *Disable CWS*: ${op ? 'DatadogAgent `features.cws.enabled: false`' : helm ? 'Helm values `datadog.securityAgent.runtime.enabled: false`' : '`DD_RUNTIME_SECURITY_CONFIG_ENABLED=false` on both system-probe and security-agent'}.`,
      );
  }
  if (out.length && (helm || op))
    out.push(`_The agent DaemonSet is managed by ${helm ? 'Helm' : 'the Datadog Operator'}: change it there, a direct patch would be reverted._`);
  return out;
}

/** The actions the report offers as buttons (upgrading is advice only). */
export function offeredActions(
  r: Pick<NetcheckResult, 'remediations' | 'suggestedPriority' | 'verdict'>,
): ('set_classifier_priority' | 'disable_network_detections' | 'disable_cws')[] {
  const out: ('set_classifier_priority' | 'disable_network_detections' | 'disable_cws')[] = [];
  if (r.remediations.includes('set_classifier_priority') && r.suggestedPriority !== undefined) out.push('set_classifier_priority');
  if (r.remediations.includes('disable_network_detections')) out.push('disable_network_detections');
  // The last resort of the seed's "disabling Workload Protection", offered when detections are broken.
  if (r.remediations.includes('disable_cws') || r.verdict === 'broken') out.push('disable_cws');
  return out;
}

function remediationButtons(c: NetcheckContext, r: NetcheckResult) {
  const managed = r.agent.managedBy !== 'none';
  const prefix = managed ? 'Patch anyway: ' : '';
  const warn = managed
    ? ` The DaemonSet is managed by ${r.agent.managedBy === 'helm' ? 'Helm' : 'the Datadog Operator'}, which will revert a direct patch.`
    : '';
  return offeredActions(r).map((action, i) => {
    const label =
      action === 'set_classifier_priority'
        ? `Set classifier_priority to ${r.suggestedPriority}`
        : action === 'disable_network_detections'
          ? 'Disable network detections'
          : 'Disable CWS';
    const what =
      action === 'set_classifier_priority'
        ? `sets ${envSet(r, 'classifierPriority', String(r.suggestedPriority))} on system-probe`
        : action === 'disable_network_detections'
          ? `sets ${envSet(r, 'networkEnabled', 'false')} on system-probe`
          : 'sets DD_RUNTIME_SECURITY_CONFIG_ENABLED=false on system-probe and security-agent';
    return {
      type: 'button' as const,
      action_id: ACTIONS.netcheckRemediate.id(i),
      text: { type: 'plain_text' as const, text: clip(`${prefix}${label}`, 75) },
      value: `${c.jobId}|${action}`,
      ...(action === 'disable_cws' ? { style: 'danger' as const } : {}),
      confirm: {
        title: { type: 'plain_text' as const, text: clip(`${label}?`, 100) },
        text: {
          type: 'mrkdwn' as const,
          text: clip(
            `This patches DaemonSet ${escapeClip(r.agent.daemonSet, 60)} in \`${c.cluster}\`: it ${what}, and the agent pods restart. A Revert button restores the recorded values.${warn}`,
            300,
          ),
        },
        confirm: { type: 'plain_text' as const, text: managed ? 'Patch anyway' : 'Apply' },
        deny: { type: 'plain_text' as const, text: 'Cancel' },
        ...(action === 'disable_cws' ? { style: 'danger' as const } : {}),
      },
    };
  });
}

export function renderNetcheckResult(c: NetcheckContext, r: NetcheckResult): ChatMessage {
  const blocks: Block[] = [header(c), { type: 'section', block_id: LIVING.verdict, text: { type: 'mrkdwn', text: VERDICT[r.verdict] } }];
  const cni =
    r.cni.status === 'detected'
      ? `${escapeMrkdwn(r.cni.vendor ?? '?')} ${r.cni.version ?? '(version unknown)'} (DaemonSet ${code(r.cni.daemonSet ?? '?', 40)})`
      : `${r.cni.status}: ${escapeMrkdwn(clip(r.cni.detail, 150))}`;
  blocks.push({
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*Agent*\n${r.agent.version ?? 'version unknown'}${r.agent.image ? ` (${code(r.agent.image, 80)})` : ''}` },
      { type: 'mrkdwn', text: `*CNI plugin*\n${cni}` },
      {
        type: 'mrkdwn',
        text: clip(
          `*CWS settings*${LAYOUT[r.config.layout ?? 'none']}\nenabled: ${setting(r.config.cwsEnabled)}\nnetwork.enabled: ${setting(r.config.networkEnabled)}\nclassifier_priority: ${setting(r.config.classifierPriority)}${[
            ['classifier_handle', r.config.classifierHandle],
            ['raw_classifier_handle', r.config.rawClassifierHandle],
            ['raw_packet.enabled', r.config.rawPacketEnabled],
            ['direct_send_from_system_probe', r.config.directSend],
          ]
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `\n${k as string}: ${setting(v as NetcheckResult['config']['cwsEnabled'])}`)
            .join('')}`,
          2000,
        ),
      },
      { type: 'mrkdwn', text: clip(`*Vendor classifiers (ingress)*\n${nodeSummary(r.nodes)}`, 2000) },
    ],
  });
  const findings = [...r.findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
  if (findings.length) {
    blocks.push({ type: 'divider' });
    const lines = findings
      .slice(0, 15)
      .map((f) => `${SEVERITY[f.severity]} ${f.node ? `*${escapeMrkdwn(f.node)}* ` : ''}${escapeMrkdwn(plainOrigins(f.message))}`);
    if (findings.length > 15) lines.push(`…and ${findings.length - 15} more (all in the message metadata).`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), LIMITS.sectionText) } });
  }
  const todo = remediationText(r);
  if (todo.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*What to do*\n${todo.join('\n')}`, LIMITS.sectionText) } });
  const buttons = remediationButtons(c, r);
  if (buttons.length) blocks.push({ type: 'actions', block_id: 'netcheck_remediations', elements: buttons });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(`How the facts were obtained: ${r.how.map(escapeMrkdwn).join('; ')}`, 2900) }] });
  blocks.push(footer(c));
  return {
    text: `Netcheck ${c.cluster}: ${r.verdict}`,
    blocks,
    metadata: netcheckMetadata(c.jobId, c.cluster, r),
  };
}

export function renderNetcheckFailure(c: NetcheckContext, f: JobFailure): ChatMessage {
  return {
    text: `Netcheck of ${c.cluster} could not run: ${clip(f.message, 300)}`,
    blocks: [header(c), { type: 'section', text: { type: 'mrkdwn', text: failureText('The netcheck could not run:', f) } }, footer(c)],
    metadata: netcheckMetadata(c.jobId, c.cluster, { error: f.message }),
  };
}
