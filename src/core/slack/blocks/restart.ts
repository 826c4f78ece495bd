import type { JobFailure, RestartAgentResult } from '../../../contract/jobs.ts';
import type { ChatMessage } from '../../../bot/notifier.ts';
import { clip, escapeMrkdwn, failureText } from './text.ts';

export const REMEDIATION_METADATA_EVENT = 'cws_remediation_result';

export interface RestartContext {
  jobId: string;
  cluster: string;
  node: string;
  requestedBy: string;
}

const section = (text: string): ChatMessage['blocks'] => [{ type: 'section', text: { type: 'mrkdwn', text } }];
const where = (c: RestartContext) => `*${escapeMrkdwn(c.node)}* in \`${c.cluster}\``;

export function renderRestartQueued(c: RestartContext): ChatMessage {
  return { text: `Restarting the agent on ${c.node} (${c.cluster})…`, blocks: section(`:arrows_counterclockwise: <@${c.requestedBy}> is restarting the agent on ${where(c)}…`) };
}

export function renderRestartResult(c: RestartContext, r: RestartAgentResult): ChatMessage {
  const text =
    r.status === 'no_agent'
      ? `:grey_question: No agent pod found on ${where(c)}: nothing was restarted.`
      : `:white_check_mark: Agent on ${where(c)} restarted by <@${c.requestedBy}>: pod \`${r.before.pod}\` deleted, ${
          r.after.pod ? `\`${r.after.pod}\` replaces it.` : 'no replacement seen yet — check the DaemonSet.'
        } Run the self-test again once it is ready.`;
  return {
    text: r.status === 'no_agent' ? `No agent pod on ${c.node}` : `Agent on ${c.node} restarted`,
    blocks: section(text),
    metadata: {
      event_type: REMEDIATION_METADATA_EVENT,
      event_payload: { jobId: c.jobId, cluster: c.cluster, action: 'restart_agent', node: c.node, by: c.requestedBy, before: r.before, after: r.after, status: r.status },
    },
  };
}

export function renderRestartFailure(c: RestartContext, f: JobFailure): ChatMessage {
  return {
    text: `Restarting the agent on ${c.node} failed: ${clip(f.message, 300)}`,
    blocks: section(failureText(`Restarting the agent on ${where(c)} failed:`, f)),
    metadata: {
      event_type: REMEDIATION_METADATA_EVENT,
      event_payload: { jobId: c.jobId, cluster: c.cluster, action: 'restart_agent', node: c.node, by: c.requestedBy, before: null, after: null, status: 'failed', error: f.message },
    },
  };
}
