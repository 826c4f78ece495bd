import type { App } from '@slack/bolt';
import type { BotServices } from '../../commands/context.ts';
import { dispatch } from '../../commands/dispatch.ts';
import { renderProblem } from '../../../core/slack/blocks/usage.ts';
import { parseCommand } from '../../../core/grammar.ts';
import type { AuditLog } from '../../state/audit.ts';

/**
 * `/cws`: parse, authorise, enqueue, then ack — the job is never awaited. What the command
 * posts in the channel happens after the ack.
 */
export function register(app: App, services: BotServices, command = '/cws', count?: (command: string, outcome: string) => void): void {
  app.command(command, async ({ command: body, ack, respond }) => {
    // Counted (cws_commands_total): the subcommand, and the first outcome it audits (queued, denied…), else ok or error.
    let outcome: string | undefined;
    const s = count ? { ...services, audit: auditSpy(services.audit, (o) => (outcome ??= o)) } : services;
    const counted = () => count?.(commandName(body.text ?? ''), outcome ?? 'ok');
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
      reply = await dispatch(s, inv);
    } catch (err) {
      outcome ??= 'error';
      services.logger.error({ err }, 'command failed');
      reply = {
        ack: renderProblem('Something went wrong on the bot while handling that command.', 'Nothing was started. Try again; the bot logs have the details.'),
      };
    }
    await ack(reply.ack ? { response_type: 'ephemeral', text: reply.ack.text, ...(reply.ack.blocks ? { blocks: reply.ack.blocks } : {}) } : undefined);
    if (reply.after) {
      void reply
        .after()
        .catch((err) => ((outcome ??= 'error'), services.logger.error({ err }, 'after-ack work failed')))
        .finally(counted);
    } else counted();
  });
}

const commandName = (text: string): string => {
  const parsed = parseCommand(text);
  return parsed.ok ? parsed.command.name : 'invalid';
};

/** The audit log, with each appended outcome seen first. */
function auditSpy(audit: AuditLog, seen: (outcome: string) => void): AuditLog {
  return new Proxy(audit, {
    get(t, prop) {
      if (prop === 'append') return (entry: Parameters<AuditLog['append']>[0]) => (seen(entry.outcome), t.append(entry));
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}
