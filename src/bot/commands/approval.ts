import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { APPROVABLE_ACTIONS, type ApprovableAction, approvalTtlMs, type ClusterConfig } from '../../config/clusters.ts';
import { ClusterName } from '../../core/names.ts';
import { approvalWhat, renderApprovalClosed, renderApprovalRequest, type ApprovalView } from '../../core/slack/blocks/approval.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import { CHANNEL_ERRORS, type ChatMessage, refusalOf } from '../notifier.ts';
import { IncidentMirror } from '../kinds/incident-mirror.ts';
import { allowed, type BotServices, findCluster, type Invocation } from './context.ts';
// home.ts imports this module too; each uses the other only inside functions, so the cycle is harmless.
import { publishHomes } from './home.ts';
import { remediate } from './remediate.ts';
import { restartAgent } from './restart-agent.ts';

/** What an approved request runs: the existing remediation or restart path, re-checked then. */
const Run = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('remediate'),
    sourceJobId: z.string(),
    action: z.enum(['set_classifier_priority', 'disable_network_detections', 'disable_cws', 'revert']),
  }),
  z.object({ type: z.literal('restart'), jobId: z.string(), node: z.string() }),
]);
export type ApprovalRun = z.infer<typeof Run>;

/** A change waiting for a second person (stored in Redis; the buttons carry only its ID). */
export const ApprovalRequest = z.object({
  approvalId: z.string(),
  cluster: ClusterName,
  action: z.enum(APPROVABLE_ACTIONS),
  node: z.string().optional(),
  requestedBy: z.string(),
  /** Where it was asked (the report's channel) and the report it belongs to (the thread). */
  channel: z.string(),
  threadTs: z.string().optional(),
  /** The request message, edited when it closes. */
  messageTs: z.string().optional(),
  expiresAt: z.string(),
  state: z.enum(['pending', 'approved', 'rejected', 'expired']),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  run: Run,
  /** The `once` scope the request holds for its change: freed when it closes without running. */
  claim: z.string(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

export const APPROVAL_ID_RE = /^ap-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A closed request is kept a day past its expiry, so late clicks are told what happened. */
const KEEP_AFTER_S = 24 * 3600;

const view = (r: ApprovalRequest): ApprovalView => ({
  approvalId: r.approvalId,
  cluster: r.cluster,
  action: r.action,
  requestedBy: r.requestedBy,
  expiresAt: r.expiresAt,
  ...(r.node ? { node: r.node } : {}),
});

/** What closing a request needs: a click has the bot's services, the reconcile loop only these. */
export interface ApprovalDeps {
  tracker: BotServices['tracker'];
  notifier: BotServices['notifier'];
  audit: BotServices['audit'];
  logger: BotServices['logger'];
  incidentChannel: (cluster: string) => string | undefined;
  permalink?: (channel: string, ts: string) => Promise<string | undefined>;
  /** Republishes the App Homes a closed request concerns (republishApprovalHomes); never throws. */
  republishHomes?: (r: ApprovalRequest) => Promise<void>;
}

/**
 * The App Homes a request concerns, republished so they follow it (its open, decision, or expiry);
 * what the reconcile loop is given as `republishHomes`. Never throws.
 */
export async function republishApprovalHomes(services: BotServices, r: Pick<ApprovalRequest, 'cluster' | 'requestedBy'>): Promise<void> {
  const cluster = findCluster(services, r.cluster);
  await publishHomes(services, cluster ? concerned(cluster.config, r) : [r.requestedBy]);
}

const depsOf = (services: BotServices): ApprovalDeps => ({
  tracker: services.tracker,
  notifier: services.notifier,
  audit: services.audit,
  logger: services.logger,
  incidentChannel: (cluster) => findCluster(services, cluster)?.config.incidentChannel,
  permalink: (channel, ts) => services.slack.permalink(channel, ts),
});

const auditOf =
  (
    services: Pick<ApprovalDeps, 'audit' | 'logger'>,
    inv: Pick<Invocation, 'userId' | 'channelId'>,
    r: Pick<ApprovalRequest, 'approvalId' | 'action' | 'cluster'>,
    command: string,
  ) =>
  (outcome: 'queued' | 'ok' | 'denied' | 'invalid' | 'error', detail: string) =>
    services.audit
      .append({
        user: inv.userId,
        channel: inv.channelId,
        command: `${command} ${r.action}`,
        cluster: r.cluster,
        outcome,
        detail: `${r.approvalId}: ${detail}`,
      })
      .catch((err) => services.logger.warn({ err }, 'audit append failed'));

/**
 * Whose App Home lists a request: its requester, and the approvers named one by one in
 * `access.approve` (a user group, or no list, which means everyone, is not enumerated: those
 * Homes show it the next time they are opened).
 */
function concerned(config: ClusterConfig, r: Pick<ApprovalRequest, 'requestedBy'>): string[] {
  return [r.requestedBy, ...(config.access.approve ?? []).filter((id) => !id.startsWith('S'))];
}

/** Kept until a day past its expiry. */
async function save(services: Pick<ApprovalDeps, 'tracker'>, r: ApprovalRequest): Promise<void> {
  const left = Math.max(0, Date.parse(r.expiresAt) - Date.now());
  await services.tracker.saveApproval(r.approvalId, ApprovalRequest.parse(r), Math.ceil(left / 1000) + KEEP_AFTER_S);
}

async function mirror(d: ApprovalDeps, r: ApprovalRequest, state: 'pending' | 'approved' | 'rejected' | 'expired', final: boolean): Promise<void> {
  const link = r.messageTs && d.permalink ? await d.permalink(r.channel, r.messageTs).catch(() => undefined) : undefined;
  const verdict =
    state === 'pending'
      ? `${approvalWhat(view(r))} waits for approval`
      : state === 'expired'
        ? `${approvalWhat(view(r))}: expired without an approval, nothing changed`
        : `${approvalWhat(view(r))}: ${state}`; // who decided is a mention in the message (approvedBy / rejectedBy), never a raw ID in this plain text
  await new IncidentMirror({ tracker: d.tracker, notifier: d.notifier, logger: d.logger, incidentChannel: d.incidentChannel })
    .show(
      {
        id: r.approvalId,
        cluster: r.cluster,
        kind: 'approval',
        by: r.requestedBy,
        from: r.channel,
        ...(state === 'approved' && r.decidedBy ? { approvedBy: r.decidedBy } : {}),
        ...(state === 'rejected' && r.decidedBy ? { rejectedBy: r.decidedBy } : {}),
      },
      state,
      { verdict, ...(link ? { link } : {}), final },
    )
    .catch((err) => d.logger.warn({ err, approvalId: r.approvalId }, 'could not mirror the approval request'));
}

/**
 * Two-person approval (issue 17): instead of running the change, posts a request in the same
 * conversation (the thread of the report) with Approve and Reject. The caller has authorised the
 * requester and holds the change's `once` claim (`claim`).
 */
export async function requestApproval(
  services: BotServices,
  inv: Invocation,
  o: { cluster: { name: string; config: ClusterConfig }; action: ApprovableAction; node?: string; run: ApprovalRun; threadTs?: string; claim: string },
): Promise<ChatMessage | undefined> {
  const ttl = approvalTtlMs(o.cluster.config);
  const r: ApprovalRequest = {
    approvalId: `ap-${randomUUID()}`,
    cluster: o.cluster.name,
    action: o.action,
    ...(o.node ? { node: o.node } : {}),
    requestedBy: inv.userId,
    channel: inv.channelId,
    ...(o.threadTs ? { threadTs: o.threadTs } : {}),
    expiresAt: new Date(Date.now() + ttl).toISOString(),
    state: 'pending',
    run: o.run,
    claim: o.claim,
  };
  const audit = auditOf(services, inv, r, 'approval-request');
  try {
    await save(services, r);
  } catch {
    await services.tracker.forget(o.claim).catch(() => {});
    await audit('error', 'could not store the request');
    return renderProblem('Could not store the approval request: the bot’s Redis is unreachable.', 'Nothing was changed.');
  }
  try {
    const posted = await services.notifier.post(inv.channelId, renderApprovalRequest(view(r)), o.threadTs ? { thread_ts: o.threadTs } : {});
    r.messageTs = posted.ts;
    await save(services, r);
  } catch (err) {
    await services.tracker.forget(o.claim).catch(() => {});
    const refusal = refusalOf(err);
    await audit('error', `could not post the request${refusal ? ` (${refusal.error})` : ''}`);
    return refusal && CHANNEL_ERRORS.has(refusal.error)
      ? renderProblem(
          `This change needs an approval, and I cannot post the request here (${refusal.error}).`,
          'Invite me with `/invite @cws`. Nothing was changed.',
        )
      : renderProblem('This change needs an approval, and Slack did not take the request just now.', 'Nothing was changed. Try again in a minute.');
  }
  await services.tracker.openApproval(r.approvalId, Date.parse(r.expiresAt)).catch((err) => services.logger.warn({ err }, 'could not note the open request'));
  await audit('queued', `approval requested, until ${r.expiresAt}`);
  await mirror(depsOf(services), r, 'pending', false);
  await publishHomes(services, concerned(o.cluster.config, r));
  return undefined;
}

/**
 * Approve or Reject: the request is re-read from Redis, the clicking user re-authorised, each decision made once.
 * A click without a channel (the App Home: `inv.channelId` empty) is audited in the request's channel.
 */
export async function decideApproval(
  services: BotServices,
  clicked: Invocation,
  approvalId: string,
  decision: 'approve' | 'reject',
): Promise<ChatMessage | undefined> {
  const raw = APPROVAL_ID_RE.test(approvalId) ? await services.tracker.getApproval(approvalId) : undefined;
  const parsed = ApprovalRequest.safeParse(raw);
  if (!parsed.success) return renderProblem('This approval request is no longer known (they are kept a day after they expire).', 'Nothing was changed.');
  const r = parsed.data;
  const inv: Invocation = clicked.channelId ? clicked : { ...clicked, channelId: r.channel };
  const audit = auditOf(services, inv, r, decision);
  const cluster = findCluster(services, r.cluster);
  if (!cluster) return renderProblem(`Cluster \`${r.cluster}\` is no longer configured.`);
  if (r.state === 'expired' || (r.state === 'pending' && Date.now() >= Date.parse(r.expiresAt))) {
    await expire(depsOf(services), inv, r);
    await publishHomes(services, concerned(cluster.config, r));
    return renderProblem(
      `This request expired at ${r.expiresAt} without an approval; nothing was changed.`,
      'Click the button on the report again to ask anew.',
    );
  }
  if (r.state !== 'pending') return renderProblem(`This request was already ${r.state}${r.decidedBy ? ` by <@${r.decidedBy}>` : ''}; nothing more was done.`);
  if (decision === 'approve' && inv.userId === r.requestedBy) {
    await audit('denied', 'self-approval refused');
    return renderProblem('You cannot approve your own request: another person allowed to approve changes on this cluster must.', 'Nothing was changed.');
  }
  // The requester may withdraw their own request; anyone else needs `access.approve`.
  if (!(decision === 'reject' && inv.userId === r.requestedBy)) {
    const d = await allowed(services, cluster, inv.userId, 'approve');
    if (!d.allowed) {
      await audit('denied', 'not an approver');
      return renderProblem(`Not allowed: ${d.reason}`);
    }
  }
  const claim = await services.tracker.once(`approval:${r.approvalId}`, inv.userId, Math.ceil(approvalTtlMs(cluster.config) / 1000) + KEEP_AFTER_S);
  if (!claim.first) return renderProblem(`This request was already decided by <@${claim.holder}>; nothing more was done.`);
  const at = new Date().toISOString();
  const closed: ApprovalRequest = { ...r, state: decision === 'approve' ? 'approved' : 'rejected', decidedBy: inv.userId, decidedAt: at };
  await save(services, closed);
  await services.tracker.closeApproval(r.approvalId).catch(() => {});
  if (closed.messageTs)
    await services.notifier
      .update(closed.channel, closed.messageTs, renderApprovalClosed(view(closed), closed.state as 'approved' | 'rejected', inv.userId, at), { final: true })
      .catch((err) => services.logger.warn({ err, approvalId }, 'could not close the approval request message'));
  await audit('ok', closed.state);
  await mirror(depsOf(services), closed, closed.state, true);
  await publishHomes(services, [...concerned(cluster.config, closed), inv.userId]);
  if (decision === 'reject') {
    await services.tracker.forget(r.claim);
    return undefined;
  }
  // The change runs as the requester asked it (re-checked: their access, what the report offered), approved by this user.
  const as: Invocation = { userId: r.requestedBy, channelId: r.channel, text: '', respond: inv.respond };
  const approval = { approvalId: r.approvalId, approvedBy: inv.userId };
  return r.run.type === 'remediate'
    ? remediate(services, as, { sourceJobId: r.run.sourceJobId, action: r.run.action, ...(r.threadTs ? { messageTs: r.threadTs } : {}), approval })
    : restartAgent(services, as, { jobId: r.run.jobId, node: r.run.node, ...(r.threadTs ? { messageTs: r.threadTs } : {}), approval });
}

/** The open requests that concern one user (the App Home): those they may approve, and their own. */
export interface OpenApprovals {
  toApprove: ApprovalRequest[];
  mine: ApprovalRequest[];
}

/** How many open requests the App Home reads at most (soonest expiry first). */
const OPEN_SCAN = 200;

/**
 * Pending, unexpired requests of configured clusters: the user's own, and the others' on clusters
 * where the user is in `access.approve` (resolved once per cluster, as a click would be).
 * Unreadable ones are skipped.
 */
export async function openApprovalsFor(services: BotServices, userId: string, now = Date.now()): Promise<OpenApprovals> {
  const ids = await services.tracker.openApprovals(now, OPEN_SCAN);
  const read = await Promise.all(ids.map((id) => services.tracker.getApproval(id).catch(() => undefined)));
  const open = read
    .map((raw) => ApprovalRequest.safeParse(raw))
    // A request of a cluster no longer configured cannot run: not listed.
    .flatMap((p) => (p.success && p.data.state === 'pending' && Date.parse(p.data.expiresAt) > now && findCluster(services, p.data.cluster) ? [p.data] : []));
  const mine = open.filter((r) => r.requestedBy === userId);
  const others = open.filter((r) => r.requestedBy !== userId);
  const may = new Map<string, boolean>();
  for (const name of new Set(others.map((r) => r.cluster))) {
    may.set(name, (await allowed(services, findCluster(services, name)!, userId, 'approve')).allowed);
  }
  return { toApprove: others.filter((r) => may.get(r.cluster)), mine };
}

/**
 * Closes an expired request once: its buttons are replaced by "expired", its change may be asked for
 * again. True when this call closed it (not another replica, nor an earlier click).
 */
async function expire(d: ApprovalDeps, who: Pick<Invocation, 'userId' | 'channelId'>, r: ApprovalRequest): Promise<boolean> {
  const claim = await d.tracker.once(`approval:${r.approvalId}`, 'expired', KEEP_AFTER_S);
  await d.tracker.closeApproval(r.approvalId).catch(() => {});
  if (!claim.first) return false;
  const closed: ApprovalRequest = { ...r, state: 'expired', decidedAt: new Date().toISOString() };
  await save(d, closed);
  if (closed.messageTs)
    await d.notifier
      .update(closed.channel, closed.messageTs, renderApprovalClosed(view(closed), 'expired', undefined, closed.decidedAt!), { final: true })
      .catch((err) => d.logger.warn({ err, approvalId: r.approvalId }, 'could not close the approval request message'));
  await auditOf(d, who, r, 'approve')('invalid', 'expired');
  await mirror(d, closed, 'expired', true);
  await d.tracker.forget(r.claim);
  return true;
}

/**
 * Closes the requests whose expiry passed with nobody clicking (the reconcile loop of every bot
 * replica calls it; each request closes once): the message says "expired", the incident channel too,
 * and the App Homes that listed it are republished (`republishHomes`).
 */
export async function expireDueApprovals(d: ApprovalDeps, now = Date.now()): Promise<void> {
  for (const id of await d.tracker.dueApprovals(now)) {
    const parsed = ApprovalRequest.safeParse(await d.tracker.getApproval(id));
    if (!parsed.success || parsed.data.state !== 'pending') {
      await d.tracker.closeApproval(id);
      continue;
    }
    // The Homes that listed it stop listing it now, as when it is approved or rejected.
    if (await expire(d, { userId: parsed.data.requestedBy, channelId: parsed.data.channel }, parsed.data)) await d.republishHomes?.(parsed.data);
  }
}
