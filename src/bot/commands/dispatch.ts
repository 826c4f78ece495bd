import { renderUsage } from '../../core/slack/blocks/usage.ts';
import { clusters } from './clusters.ts';
import type { BotServices, CommandReply, Invocation } from './context.ts';
import { type Command, parseCommand } from '../../core/grammar.ts';
import { flare } from './flare.ts';
import { help } from './help.ts';
import { netcheck } from './netcheck.ts';
import { selftest } from './selftest.ts';
import { audit } from './audit.ts';
import { jobs } from './jobs.ts';
import { status } from './status.ts';
import { incident } from './incident.ts';
import { schedule } from './schedule.ts';

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
  return (HANDLERS[cmd.name] as Handler<typeof cmd.name>)(services, inv, cmd as never);
}

type Handler<N extends Command['name']> = (services: BotServices, inv: Invocation, cmd: Extract<Command, { name: N }>) => Promise<CommandReply> | CommandReply;

/** Every subcommand of the grammar (src/core/grammar.ts) and the handler that answers it: one file each. */
export const HANDLERS: { [N in Command['name']]: Handler<N> } = {
  help: (_s, _inv, cmd) => help(cmd),
  clusters: (s) => clusters(s),
  selftest: (s, inv, cmd) => selftest(s, inv, cmd),
  flare: (s, inv, cmd) => flare(s, inv, cmd),
  netcheck: (s, inv, cmd) => netcheck(s, inv, cmd),
  audit: (s, inv, cmd) => audit(s, inv, cmd),
  jobs: (s, inv, cmd) => jobs(s, inv, cmd),
  status: (s, inv, cmd) => status(s, inv, cmd),
  incident: (s, inv, cmd) => incident(s, inv, cmd),
  schedule: (s, inv, cmd) => schedule(s, inv, cmd),
};

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
