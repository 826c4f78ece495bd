import { ACTIONS } from '../actions.ts';
import type { Block, ChatMessage } from '../message.ts';

/** What the node picker and the email modal show of a pending flare request. */
export interface PendingFlare {
  id: string;
  cluster: string;
  node?: string | undefined;
  caseId?: string | undefined;
}
import { clip, escapeMrkdwn } from './text.ts';

export const FLARE_EMAIL_VIEW = 'flare_email';

/** The modal asking for the email a new support case is opened with. */
export function renderFlareEmailModal(req: PendingFlare, profileEmail?: string): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: FLARE_EMAIL_VIEW,
    private_metadata: req.id,
    title: { type: 'plain_text', text: 'Flare for support' },
    submit: { type: 'plain_text', text: 'Build flare' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: clip(
            `Without a case ID the flare opens a new Datadog support case for this email. Node: *${escapeMrkdwn(req.node ?? '(the only agent)')}* in \`${req.cluster}\`. You will review the archive before anything is sent.`,
            3000,
          ),
        },
      },
      {
        type: 'input',
        block_id: 'email',
        label: { type: 'plain_text', text: 'Email (your Datadog login)' },
        element: { type: 'email_text_input', action_id: 'value', ...(profileEmail && profileEmail.length <= 254 ? { initial_value: profileEmail } : {}) },
      },
      {
        type: 'input',
        block_id: 'case',
        optional: true,
        label: { type: 'plain_text', text: 'Case ID (if you have one)' },
        element: { type: 'plain_text_input', action_id: 'value', max_length: 12, placeholder: { type: 'plain_text', text: 'digits only' } },
      },
    ],
  };
}

/** The nodes a picker offers, in the order it shows them: the stored request keeps this list. */
export function pickableNodes(agents: { node: string; unavailable?: string }[]): string[] {
  return agents
    .filter((a) => !a.unavailable)
    .map((a) => a.node)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * The ephemeral node picker offered when `--node` is missing on Kubernetes. An option's value is
 * the request ID and the node's index in `pickableNodes` (a node name may be longer than the 150
 * characters an option value may hold); the handler maps it back through the stored request.
 */
export function renderNodePicker(req: PendingFlare, agents: { node: string; unavailable?: string }[]): ChatMessage {
  const usable = pickableNodes(agents);
  if (!usable.length)
    return {
      text: `No running agent found in ${req.cluster}.`,
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `:grey_question: No running agent found in \`${req.cluster}\`, so there is nothing to build a flare on.` },
        },
      ],
    };
  const blocks: Block[] = [
    {
      type: 'section',
      block_id: `flare_pick:${req.id}`,
      text: { type: 'mrkdwn', text: `Which node of \`${req.cluster}\` should the flare come from? (${usable.length} agent${usable.length > 1 ? 's' : ''})` },
      accessory: {
        type: 'static_select',
        action_id: ACTIONS.flarePickNode.id(),
        placeholder: { type: 'plain_text', text: 'Pick a node' },
        // Slack allows 100 options; beyond that, give the node with --node.
        options: usable.slice(0, 100).map((n, i) => ({ text: { type: 'plain_text', text: clip(n, 75) }, value: `${req.id}|${i}` })),
      },
    },
  ];
  if (usable.length > 100)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Showing 100 of ${usable.length}; for another node use \`/cws flare ${req.cluster} --node NODE\`.` }],
    });
  return { text: `Pick a node of ${req.cluster} for the flare`, blocks };
}
