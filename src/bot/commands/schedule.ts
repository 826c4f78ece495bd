import type { Command } from '../../core/grammar.ts';
import { type Cadence, describeCadence } from '../../core/schedule/cadence.ts';
import { describeOutcome } from '../../core/schedule/outcome.ts';
import { renderScheduleCreated, renderScheduleList, whatOf } from '../../core/schedule/render.ts';
import { renderProblem, renderUsage } from '../../core/slack/blocks/usage.ts';
import { MAX_SCHEDULES_PER_CLUSTER, view } from '../schedules/service.ts';
import { type BotServices, clusterFor, type CommandReply, findCluster, type Invocation } from './context.ts';

type ScheduleCommand = Extract<Command, { name: 'schedule' }>;

/**
 * `/cws schedule …` (issue 19 point 3): create (needs `access.run` on the cluster), list, delete
 * (its creator or an approver of its cluster). Every create and delete is audited; the runs are
 * audited by the schedule's ticks (src/bot/schedules/service.ts).
 */
export async function schedule(services: BotServices, inv: Invocation, cmd: ScheduleCommand): Promise<CommandReply> {
  const schedules = services.schedules;
  if (!schedules) return { ack: renderProblem('Scheduled checks are not enabled on this bot.') };
  const text = `schedule ${inv.text.trim().replace(/^schedule\s*/i, '')}`.trim();
  const audit = (outcome: 'ok' | 'denied' | 'invalid' | 'error' | 'answered', extra: { cluster?: string; detail?: string } = {}) =>
    services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: text, outcome, ...extra })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const unreachable = async (err: unknown) => {
    services.logger.error({ err }, 'schedule command failed');
    await audit('error', { detail: 'redis' });
    return { ack: renderProblem('Could not read or store schedules: the bot’s Redis is unreachable.', 'Nothing was changed. Try again in a minute.') };
  };

  if (cmd.action === 'list') {
    try {
      const all = await schedules.all();
      const views = [];
      let hidden = 0;
      for (const s of all) {
        const cluster = findCluster(services, s.cluster);
        const mayRun = s.createdBy === inv.userId || (cluster ? (await schedules.allowed(cluster, inv.userId, 'run')).allowed : false);
        if (!mayRun) {
          hidden++;
          continue;
        }
        const [next, last] = await Promise.all([schedules.next(s.id), schedules.last(s.id)]);
        views.push(
          view(s, {
            ...(next ? { next } : {}),
            ...(last.summary && last.at ? { last: { outcome: describeOutcome(last.summary), at: last.at } } : {}),
          }),
        );
      }
      await audit('answered', { detail: `${views.length} shown` });
      return { ack: renderScheduleList(views, hidden) };
    } catch (err) {
      return unreachable(err);
    }
  }

  if (cmd.action === 'delete') {
    try {
      const spec = await schedules.get(cmd.id);
      if (!spec) {
        await audit('invalid', { detail: 'no such schedule' });
        return { ack: renderProblem(`No schedule \`${cmd.id}\`.`, 'See `/cws schedule list` for the schedules there are.') };
      }
      const cluster = findCluster(services, spec.cluster);
      const approver = cluster ? (await schedules.allowed(cluster, inv.userId, 'approve')).allowed : false;
      if (spec.createdBy !== inv.userId && !approver) {
        await audit('denied', { cluster: spec.cluster, detail: `delete ${spec.id}` });
        return {
          ack: renderProblem(
            `Not allowed: only <@${spec.createdBy}>, who created \`${spec.id}\`, or an approver of \`${spec.cluster}\` (\`access.approve\`) may delete it.`,
            'Ask one of them to run `/cws schedule delete ' + spec.id + '`.',
          ),
        };
      }
      await schedules.delete(spec.id);
      await audit('ok', { cluster: spec.cluster, detail: `deleted ${spec.id} (${spec.what} ${describeCadence(spec.cadence)}, created by ${spec.createdBy})` });
      return {
        ack: renderUsage(`:wastebasket: Deleted \`${spec.id}\`: the ${whatOf(spec)} of \`${spec.cluster}\` ${describeCadence(spec.cadence)} runs no more.`),
      };
    } catch (err) {
      return unreachable(err);
    }
  }

  // Create: `access.run` on the cluster (and the command limits), as every command that runs something.
  const found = await clusterFor(services, inv, cmd.cluster, (outcome, extra = {}) => audit(outcome, { cluster: cmd.cluster, ...extra }));
  if ('reply' in found) return found.reply;
  const { cluster } = found;
  if (cmd.what === 'netcheck' && cluster.config.kind !== 'kubernetes') {
    await audit('invalid', { cluster: cluster.name, detail: 'netcheck needs a kubernetes cluster' });
    return {
      ack: renderProblem(
        `\`/cws netcheck\` inspects Kubernetes clusters; \`${cluster.name}\` is a ${cluster.config.kind} cluster, so it cannot be scheduled there.`,
      ),
    };
  }
  try {
    const mine = (await schedules.all()).filter((s) => s.cluster === cluster.name);
    if (mine.length >= MAX_SCHEDULES_PER_CLUSTER) {
      await audit('invalid', { cluster: cluster.name, detail: 'too many schedules' });
      return {
        ack: renderProblem(
          `\`${cluster.name}\` already has ${mine.length} schedules, the most allowed.`,
          'Delete one first (`/cws schedule list`, then `/cws schedule delete <ID>`).',
        ),
      };
    }
    let cadence: Cadence;
    let tzNote: string | undefined;
    if ('every' in cmd) cadence = { every: cmd.every };
    else {
      const tz = await schedules.timeZoneOf(inv.userId);
      cadence = { daily: cmd.daily, tz: tz ?? 'UTC' };
      tzNote = tz ? 'your time zone in Slack' : 'Slack did not give your time zone';
    }
    const spec = await schedules.create({ what: cmd.what, cluster: cluster.name, cadence, createdBy: inv.userId, channel: inv.channelId });
    await audit('ok', { cluster: cluster.name, detail: `created ${spec.id} (${spec.what} ${describeCadence(spec.cadence)})` });
    const next = await schedules.next(spec.id).catch(() => undefined);
    return { ack: renderScheduleCreated(view(spec, next ? { next } : {}), tzNote ? { tzNote } : {}) };
  } catch (err) {
    return unreachable(err);
  }
}
