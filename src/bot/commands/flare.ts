import { randomUUID } from 'node:crypto';
import { flareLockScope, parseHolder } from '../../contract/flare-lock.ts';
import type { FlareRequest } from '../state/records.ts';
import { renderFlareBusy, renderFlareQueued } from '../../core/slack/blocks/flare.ts';
import { renderFlareEmailModal } from '../../core/slack/blocks/flare-inputs.ts';
import { renderProblem, renderUsage } from '../../core/slack/blocks/usage.ts';
import { type BotServices, clusterFor, type CommandReply, type Invocation, showJob } from './context.ts';
import { isEmailAddress } from '../../core/grammar.ts';

export interface FlareCommand {
  cluster: string;
  node?: string;
  caseId?: string;
  email?: string;
}

/** The modal's email, held to the same rule (and length) as `--email`. */
export const isEmail = isEmailAddress;

/**
 * `/cws flare <cluster> [--node N] [CASE_ID] [--email E]`. Missing pieces are asked for rather
 * than refused: a node picker on Kubernetes, an email modal when there is no case ID. Each step
 * re-enters here with the pending request (kept in Redis, referenced by ID only).
 */
export async function flare(services: BotServices, inv: Invocation, cmd: FlareCommand, requestId?: string): Promise<CommandReply> {
  const audit = (outcome: 'queued' | 'denied' | 'invalid' | 'error' | 'answered', extra: { jobId?: string; detail?: string } = {}) =>
    services.audit
      .append({
        user: inv.userId,
        channel: inv.channelId,
        command: `flare ${cmd.cluster}${cmd.node ? ` --node ${cmd.node}` : ''}${cmd.caseId ? ` ${cmd.caseId}` : ''}`,
        cluster: cmd.cluster,
        outcome,
        ...extra,
      })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));
  const found = await clusterFor(services, inv, cmd.cluster, audit);
  if ('reply' in found) return found.reply;
  const { cluster } = found;
  const req: FlareRequest = { ...cmd, id: requestId ?? `fr-${randomUUID()}`, cluster: cluster.name, userId: inv.userId, channelId: inv.channelId };

  // 1. A node, on Kubernetes: ask a worker for the agent nodes, then offer a picker.
  if (cluster.config.kind === 'kubernetes' && !req.node) {
    try {
      const jobId = await services.producer.enqueueListAgents({ kind: 'list-agents', cluster: cluster.name, requestedBy: inv.userId });
      await services.tracker.saveFlareRequest(req);
      await services.tracker.saveRecord({
        jobId,
        kind: 'list-agents',
        cluster: cluster.name,
        requestedBy: inv.userId,
        channel: inv.channelId,
        requestId: req.id,
      });
      await audit('answered', { jobId, detail: 'node picker' });
      return {
        ack: renderUsage(`:mag: A flare on \`${cluster.name}\` needs a node. Looking up its agents… pick one in the menu that follows.`),
        after: async () => {
          await services.tracker.addMessage(jobId, { channel: inv.channelId, ts: `ephemeral:${inv.userId}` });
          await services.results.finish(jobId);
        },
      };
    } catch {
      return {
        ack: renderProblem(
          'Could not look up the agent nodes: the job queue (Redis) is unreachable.',
          `Give the node directly: \`/cws flare ${cluster.name} --node NODE …\``,
        ),
      };
    }
  }

  // 2. An email: given, or the profile's when there is a case ID, or asked for in a modal.
  if (!req.email) {
    const profile = await services.slack.userEmail(inv.userId).catch(() => undefined);
    if (req.caseId && profile) req.email = profile;
    else {
      if (!inv.triggerId)
        return { ack: renderProblem('A flare without a case ID opens a new support case and needs an email.', `Add \`--email you@example.com\`.`) };
      await services.tracker.saveFlareRequest(req);
      try {
        await services.slack.openView(inv.triggerId, renderFlareEmailModal(req, profile));
      } catch (err) {
        services.logger.warn({ err }, 'views.open failed');
        return { ack: renderProblem('Could not open the email form.', `Add \`--email you@example.com\` to the command instead.`) };
      }
      await audit('answered', { detail: 'email modal' });
      return {};
    }
  }
  return enqueueFlare(services, inv, cluster.name, req, audit);
}

async function enqueueFlare(
  services: BotServices,
  inv: Invocation,
  clusterName: string,
  req: FlareRequest,
  audit: (o: 'queued' | 'error' | 'denied', e?: { jobId?: string; detail?: string }) => Promise<unknown>,
): Promise<CommandReply> {
  const cfg = services.clusters.clusters[clusterName]!;
  const expiresAt = new Date(Date.now() + cfg.flare.reviewTtlMs).toISOString();
  // One flare per node at a time (src/flare/lock.ts): the job is queued, then the lock is taken in its name.
  const scope = flareLockScope(clusterName, cfg.kind, req.node);
  let jobId: string | undefined;
  try {
    jobId = await services.producer.enqueueFlare({
      kind: 'flare',
      cluster: clusterName,
      ...(req.node ? { node: req.node } : {}),
      ...(req.caseId ? { caseId: req.caseId } : {}),
      email: req.email!,
      requestedBy: inv.userId,
      requestedAt: new Date().toISOString(),
      expiresAt,
      lock: { scope },
    });
    // Held until the worker ends the flare; this TTL only bounds a job no worker ever picks up.
    const lifeS = Math.ceil((cfg.flare.buildTimeoutMs + cfg.flare.reviewTtlMs + cfg.flare.uploadTimeoutMs) / 1000) + 60;
    // Open flares wait on people, not on work: bounded per cluster and per user, refused past it.
    const slot = await services.tracker.claimFlare({
      cluster: clusterName,
      user: inv.userId,
      jobId,
      until: Date.now() + lifeS * 1000,
      maxOpen: cfg.flare.maxOpen,
      maxPerUser: cfg.flare.maxOpenPerUser,
    });
    if (!slot.ok) {
      await withdraw(services, clusterName, jobId);
      await audit('denied', { jobId, detail: `too many open flares (${slot.scope})` });
      const limit = slot.scope === 'user' ? cfg.flare.maxOpenPerUser : cfg.flare.maxOpen;
      return {
        ack: renderProblem(
          slot.scope === 'user'
            ? `You already have ${limit} flare${limit > 1 ? 's' : ''} open on \`${clusterName}\` (${slot.open.join(', ')}), the most allowed; nothing was started.`
            : `\`${clusterName}\` already has ${limit} flares open (being built or waiting for review), the most allowed; nothing was started.`,
          slot.scope === 'user'
            ? 'Send or cancel one of your reviews, then try again.'
            : 'Try again once a review is sent or cancelled (they expire by themselves).',
        ),
      };
    }
    const claim = await services.tracker.once(
      scope,
      JSON.stringify({ by: inv.userId, job: jobId, ...(req.node ? { node: req.node } : {}), at: new Date().toISOString() }),
      lifeS,
    );
    // (Held in this job's name already: its worker, started first, took it itself.)
    if (!claim.first && parseHolder(claim.holder)?.job !== jobId) {
      await services.tracker.releaseFlare(clusterName, inv.userId, jobId);
      return await refuseBusy(services, clusterName, req, jobId, claim.holder, audit);
    }
    await services.tracker.saveRecord({
      jobId,
      kind: 'flare',
      cluster: clusterName,
      ...(req.node ? { node: req.node } : {}),
      ...(req.caseId ? { caseId: req.caseId } : {}),
      email: req.email!,
      expiresAt,
      requestedBy: inv.userId,
      channel: inv.channelId,
    });
  } catch (err) {
    services.logger.error({ err }, 'enqueue flare failed');
    if (jobId) {
      await withdraw(services, clusterName, jobId);
      await services.tracker.releaseFlare(clusterName, inv.userId, jobId).catch(() => undefined);
    }
    await audit('error', { detail: 'enqueue failed' });
    return {
      ack: renderProblem(
        `Could not queue the flare on \`${clusterName}\`: the job queue (Redis) is unreachable.`,
        'Nothing was started. Try again in a minute.',
      ),
    };
  }
  await audit('queued', { jobId });
  const ctx = {
    jobId,
    cluster: clusterName,
    requestedBy: inv.userId,
    ...(req.node ? { node: req.node } : {}),
    ...(req.caseId ? { caseId: req.caseId } : {}),
    email: req.email!,
  };
  return {
    after: () => showJob(services, inv, { jobId, cluster: clusterName, kind: 'flare' }, renderFlareQueued(ctx), { what: `the flare on \`${clusterName}\`` }),
  };
}

/** Removes a queued flare job that must not run (a worker that already took it sees the lock is not its own and stops). */
async function withdraw(services: BotServices, cluster: string, jobId: string): Promise<void> {
  const job = await services.producer.getJob(cluster, jobId).catch(() => undefined);
  await job?.remove().catch(() => undefined);
}

/** The ephemeral "a flare is already under review on node-3 by <@U…> (job …)"; our own job is withdrawn. */
async function refuseBusy(
  services: BotServices,
  cluster: string,
  req: FlareRequest,
  jobId: string,
  rawHolder: string,
  audit: (o: 'denied', e?: { jobId?: string; detail?: string }) => Promise<unknown>,
): Promise<CommandReply> {
  await withdraw(services, cluster, jobId);
  const holder = parseHolder(rawHolder);
  const state = holder
    ? await services.producer.getJob(cluster, holder.job).then(
        (j) => j?.getState(),
        () => undefined,
      )
    : undefined;
  const node = holder?.node ?? req.node;
  await audit('denied', { jobId, detail: `a flare is already under review on ${node ?? cluster}${holder ? ` by ${holder.by} (job ${holder.job})` : ''}` });
  return {
    ack: renderFlareBusy({
      cluster,
      ...(node ? { node } : {}),
      ...(holder ? { by: holder.by, job: holder.job } : {}),
      queued: state === 'waiting' || state === 'delayed' || state === 'prioritized',
    }),
  };
}
