import type { App } from '@slack/bolt';
import type { BotServices } from '../../commands/context.ts';
import { dispatch } from '../../commands/dispatch.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';

/**
 * `/cws`: parse, authorise, enqueue, then ack — the job is never awaited. What the command
 * posts in the channel happens after the ack.
 */
export function register(app: App, services: BotServices, command = '/cws'): void {
  app.command(command, async ({ command: body, ack, respond }) => {
    const inv = {
      userId: body.user_id,
      channelId: body.channel_id,
      text: body.text ?? '',
      triggerId: body.trigger_id,
      respond: async (m: { text: string; blocks?: unknown[] }) => {
        await respond({ response_type: 'ephemeral', text: m.text, ...(m.blocks ? { blocks: m.blocks as never } : {}) });
      },
    };
    let reply;
    try {
      reply = await dispatch(services, inv);
    } catch (err) {
      services.logger.error({ err }, 'command failed');
      reply = {
        ack: renderProblem('Something went wrong on the bot while handling that command.', 'Nothing was started. Try again; the bot logs have the details.'),
      };
    }
    await ack(reply.ack ? { response_type: 'ephemeral', text: reply.ack.text, ...(reply.ack.blocks ? { blocks: reply.ack.blocks } : {}) } : undefined);
    if (reply.after) {
      void reply.after().catch((err) => services.logger.error({ err }, 'after-ack work failed'));
    }
  });
}
