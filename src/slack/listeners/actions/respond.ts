import type { RespondFn } from '@slack/bolt';
import type { ChatMessage } from '../../notifier.ts';

/** Private answer to the user who clicked, leaving the original message alone. */
export const ephemeral = (respond: RespondFn) => async (m: ChatMessage) => {
  await respond({ response_type: 'ephemeral', replace_original: false, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
};
