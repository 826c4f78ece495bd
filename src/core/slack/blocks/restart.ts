import { restartMetadata } from '../../metadata.ts';
import type { JobFailure, RestartAgentResult } from '../../results.ts';
import type { ChatMessage } from '../message.ts';
import { ACTIONS } from '../actions.ts';
import { clip, escapeMrkdwn, failureText, LIMITS } from './text.ts';

export interface RestartContext {
  jobId: string;
  cluster: string;
  node: string;
  requestedBy: string;
  /** The self-test whose button asked for the restart: its result offers a re-run of that node. */
  origin?: string | undefined;
}

const section = (text: string): ChatMessage['blocks'] => [{ type: 'section', text: { type: 'mrkdwn', text } }];
const where = (c: RestartContext) => `*${escapeMrkdwn(c.node)}* in \`${c.cluster}\``;

export function renderRestartQueued(c: RestartContext): ChatMessage {
  return {
    text: `Restarting the agent on ${c.node} (${c.cluster})…`,
    blocks: section(`:arrows_counterclockwise: <@${c.requestedBy}> is restarting the agent on ${where(c)}…`),
  };
}

export function renderRestartResult(c: RestartContext, r: RestartAgentResult): ChatMessage {
  const text =
    r.status === 'no_agent'
      ? `:grey_question: No agent pod found on ${where(c)}: nothing was restarted.`
      : `:white_check_mark: Agent on ${where(c)} restarted by <@${c.requestedBy}>: pod \`${r.before.pod}\` deleted, ${
          r.after.pod ? `\`${r.after.pod}\` replaces it.` : 'no replacement seen yet — check the DaemonSet.'
        } Re-run the self-test on that node once it is ready.`;
  const blocks = section(text)!;
  // The next step is a self-test of that node, in this thread (the node is re-checked against the origin's result on click).
  if (r.status !== 'no_agent' && c.origin)
    blocks.push({
      type: 'actions',
      block_id: 'restart_actions',
      elements: [
        {
          type: 'button',
          action_id: ACTIONS.selftestRerunNode.id(),
          text: { type: 'plain_text', text: clip(`Re-run self-test on ${c.node}`, LIMITS.buttonText) },
          value: `${c.origin}|${c.node}`,
          style: 'primary',
        },
      ],
    });
  return {
    text: r.status === 'no_agent' ? `No agent pod on ${c.node}` : `Agent on ${c.node} restarted`,
    blocks,
    metadata: restartMetadata(c, r),
  };
}

export function renderRestartFailure(c: RestartContext, f: JobFailure): ChatMessage {
  return {
    text: `Restarting the agent on ${c.node} failed: ${clip(f.message, 300)}`,
    blocks: section(failureText(`Restarting the agent on ${where(c)} failed:`, f)),
    metadata: restartMetadata(c, { error: f.message }),
  };
}
