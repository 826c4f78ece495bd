import { SUMMARY, USAGE, type Command, usageAll } from '../../core/grammar.ts';
import type { CommandReply } from './context.ts';
import { renderUsage } from '../../core/slack/blocks/usage.ts';

export function help(cmd: Extract<Command, { name: 'help' }>): CommandReply {
  if (cmd.topic && Object.hasOwn(USAGE, cmd.topic)) {
    const t = cmd.topic as Command['name'];
    return { ack: renderUsage(`\`${USAGE[t]}\` — ${SUMMARY[t]}`) };
  }
  const intro = cmd.topic ? `No help for \`${cmd.topic.replace(/`/g, "'")}\`. ` : '';
  return { ack: renderUsage(`${intro}*CWS chat-ops* — commands:\n${usageAll()}`) };
}
