import { renderIncidentAck, renderIncidentLinked } from '../../core/slack/blocks/incident.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import { CHANNEL_ERRORS, refusalOf } from '../notifier.ts';
import { type BotServices, clusterFor, type CommandReply, type Invocation } from './context.ts';

/**
 * `/cws incident <#channel> <cluster>` links a channel to a cluster for the duration of an
 * incident (stored in Redis): every job and change on the cluster is mirrored there, one message
 * each (src/bot/kinds/incident-mirror.ts). `/cws incident off <cluster>` ends it. Audited.
 */
export async function incident(services: BotServices, inv: Invocation, cmd: { cluster: string; channel?: string; off?: true }): Promise<CommandReply> {
  const command = cmd.off ? `incident off ${cmd.cluster}` : `incident <#${cmd.channel}> ${cmd.cluster}`;
  const audit = (outcome: 'ok' | 'denied' | 'invalid' | 'error', extra: { detail?: string } = {}) =>
    services.audit
      .append({ user: inv.userId, channel: inv.channelId, command, cluster: cmd.cluster, outcome, ...extra })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const found = await clusterFor(services, inv, cmd.cluster, audit);
  if ('reply' in found) return found.reply;
  const { cluster } = found;
  const configured = cluster.config.incidentChannel;
  try {
    if (cmd.off) {
      const had = await services.tracker.clearIncidentLink(cluster.name);
      await audit('ok', { detail: had ? `unlinked ${had.channel}` : 'nothing linked' });
      const still = configured ? ` Its configured incident channel <#${configured}> still gets every job.` : '';
      return {
        ack: renderIncidentAck(
          had
            ? `:white_check_mark: <#${had.channel}> no longer mirrors \`${cluster.name}\`.${still}`
            : `No channel was linked to \`${cluster.name}\` with \`/cws incident\`.${still}`,
        ),
      };
    }
    const channel = cmd.channel!;
    if (channel === configured) {
      await audit('invalid', { detail: 'already the configured incident channel' });
      return { ack: renderIncidentAck(`<#${channel}> is already the configured incident channel of \`${cluster.name}\`: every job there is mirrored.`) };
    }
    const link = { channel, by: inv.userId, from: inv.channelId, at: new Date().toISOString() };
    await services.tracker.setIncidentLink(cluster.name, link);
    await audit('ok', { detail: `linked ${channel}` });
    return {
      ack: renderIncidentAck(
        `:rotating_light: Every job and change on \`${cluster.name}\` will be mirrored to <#${channel}>, one message each, until \`/cws incident off ${cluster.name}\`.`,
      ),
      after: async () => {
        try {
          await services.notifier.post(channel, renderIncidentLinked({ cluster: cluster.name, by: inv.userId, from: inv.channelId }));
        } catch (err) {
          const refusal = refusalOf(err);
          if (refusal && CHANNEL_ERRORS.has(refusal.error))
            await inv.respond(
              renderProblem(
                `I cannot post in <#${channel}> (${refusal.error}), so nothing will show there yet.`,
                `Invite me with \`/invite @cws\` in <#${channel}>; jobs on \`${cluster.name}\` show there from then on.`,
              ),
            );
          else services.logger.warn({ err, channel }, 'could not post in the linked incident channel');
        }
      },
    };
  } catch (err) {
    services.logger.error({ err }, 'incident link failed');
    await audit('error', { detail: 'redis' });
    return { ack: renderProblem('Could not store the link: the bot’s Redis is unreachable.', 'Nothing was changed. Try again in a minute.') };
  }
}
