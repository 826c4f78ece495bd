import { SUMMARY, USAGE, type Command, usageAll } from '../../core/grammar.ts';
import type { CommandReply } from './context.ts';
import { renderUsage } from '../../core/slack/blocks/usage.ts';

/** More than a line, for the subcommands that need it. */
const DETAILS: Partial<Record<Command['name'], string>> = {
  schedule:
    'Durations: `1m` (the shortest), `15m`, `6h`, `1d` (at most `30d`). `daily at HH:MM` is in your Slack time zone (UTC when Slack gives none). ' +
    'A schedule runs as you, needs `access.run` on the cluster (checked again at every run), and posts its first result in this channel, then only what changes. ' +
    'Its creator or an approver of the cluster may delete it.',
};

export function help(cmd: Extract<Command, { name: 'help' }>): CommandReply {
  if (cmd.topic && Object.hasOwn(USAGE, cmd.topic)) {
    const t = cmd.topic as Command['name'];
    return { ack: renderUsage(`\`${USAGE[t]}\` — ${SUMMARY[t]}${DETAILS[t] ? `\n${DETAILS[t]}` : ''}`) };
  }
  const intro = cmd.topic ? `No help for \`${cmd.topic.replace(/`/g, "'")}\`. ` : '';
  return { ack: renderUsage(`${intro}*CWS chat-ops* — commands:\n${usageAll()}`) };
}
