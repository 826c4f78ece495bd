import { renderUsage } from '../../core/slack/blocks/usage.ts';
import { clusters } from './clusters.ts';
import type { BotServices, CommandReply, Invocation } from './context.ts';
import { parseCommand } from '../../core/grammar.ts';
import { flare } from './flare.ts';
import { help } from './help.ts';
import { netcheck } from './netcheck.ts';
import { selftest } from './selftest.ts';

/** Parses the text of `/cws …` and routes it. Bad input never reaches a handler. */
export async function dispatch(services: BotServices, inv: Invocation): Promise<CommandReply> {
  const parsed = parseCommand(inv.text);
  if (!parsed.ok) {
    await services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: inv.text.slice(0, 200), outcome: 'invalid', detail: parsed.error })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
    return { ack: renderUsage(`:warning: ${capitalise(parsed.error)}\n${parsed.usage}\nSee \`/cws help\`.`) };
  }
  const cmd = parsed.command;
  switch (cmd.name) {
    case 'help':
      return help(cmd);
    case 'clusters':
      return clusters(services);
    case 'selftest':
      return selftest(services, inv, cmd);
    case 'flare':
      return flare(services, inv, cmd);
    case 'netcheck':
      return netcheck(services, inv, cmd);
  }
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
