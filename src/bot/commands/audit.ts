import type { Command } from '../../core/grammar.ts';
import { renderAudit } from '../../core/slack/blocks/audit.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import type { AuditEntry } from '../state/audit.ts';
import { allowed, type BotServices, type CommandReply, findCluster, type Invocation } from './context.ts';
import { runnableClusters } from './jobs.ts';

export const AUDIT_DEFAULT_LIMIT = 20;

/**
 * `/cws audit [cluster] [--limit N]` (ephemeral): the audit trail, newest first. With a cluster,
 * its entries for whoever may run commands there; without, the entries of every cluster the
 * user may run on, and the user's own entries that name no cluster.
 */
export async function audit(services: BotServices, inv: Invocation, cmd: Extract<Command, { name: 'audit' }>): Promise<CommandReply> {
  const record = (outcome: 'answered' | 'denied' | 'invalid', cluster?: string) =>
    services.audit
      .append({ user: inv.userId, channel: inv.channelId, command: inv.text, ...(cluster ? { cluster } : {}), outcome })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const limit = cmd.limit ?? AUDIT_DEFAULT_LIMIT;
  let filter: (e: AuditEntry) => boolean;
  if (cmd.cluster) {
    const cluster = findCluster(services, cmd.cluster);
    if (!cluster) {
      await record('invalid');
      return { ack: renderProblem(`Unknown cluster \`${cmd.cluster}\`.`, 'See `/cws clusters`.') };
    }
    const decision = await allowed(services, cluster, inv.userId, 'run');
    if (!decision.allowed) {
      await record('denied', cluster.name);
      return { ack: renderProblem(`Not allowed: ${decision.reason}`) };
    }
    filter = (e) => e.cluster === cluster.name;
  } else {
    const mine = new Set(await runnableClusters(services, inv.userId));
    filter = (e) => (e.cluster ? mine.has(e.cluster) : e.user === inv.userId);
  }
  let rows: AuditEntry[];
  try {
    rows = await services.audit.read({ count: limit, filter });
  } catch (err) {
    services.logger.warn({ err }, '/cws audit: Redis did not answer');
    return { ack: renderProblem('Could not read the audit trail: the bot’s Redis did not answer.', 'Try again in a minute.') };
  }
  await record('answered', cmd.cluster);
  return { ack: renderAudit(rows, { cluster: cmd.cluster, limit }) };
}
