import type { AllMiddlewareArgs, BlockAction, RespondFn, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { BotServices } from '../../commands/context.ts';
import type { ChatMessage } from '../../notifier.ts';

/** What Bolt hands an action listener, for any element of a message or view. */
export type ActionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** One kind of action's handler; `listeners/actions/index.ts` binds it to its kind's `action_id` pattern. */
export type ActionHandler = (args: ActionArgs, services: BotServices) => Promise<void>;

/** Private answer to the user who clicked, leaving the original message alone. */
export const ephemeral = (respond: RespondFn) => async (m: ChatMessage) => {
  await respond({ response_type: 'ephemeral', replace_original: false, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
};

/** The clicked button's `value`, or undefined when the element clicked is not a button. */
export function buttonValue(action: ActionArgs['action']): string | undefined {
  return action.type === 'button' ? (action.value ?? '') : undefined;
}

/**
 * The thread a click's follow-up goes in: the clicked message's thread, or the message itself
 * when it is not a reply (re-runs, restarts and fixes of a job are replies of its result).
 */
export function threadOf(body: ActionArgs['body']): string | undefined {
  const m = body.message as { thread_ts?: string; ts?: string } | undefined;
  return m?.thread_ts ?? m?.ts;
}
