import type { Logger } from 'pino';
import type { IncidentMetadataPayload } from '../../core/metadata.ts';
import { renderIncidentUpdate } from '../../core/slack/blocks/incident.ts';
import { renderProblem } from '../../core/slack/blocks/usage.ts';
import { CHANNEL_ERRORS, type Notifier, refusalOf } from '../notifier.ts';
import type { IncidentLink, JobTracker } from '../state/tracker.ts';

export interface MirrorDeps {
  tracker: JobTracker;
  notifier: Notifier;
  logger: Logger;
  /** The cluster's configured incident channel. */
  incidentChannel?: ((cluster: string) => string | undefined) | undefined;
}

/** What the mirror shows of a job (or an approval request): its ID, kind, who, from where. */
export interface Mirrored {
  id: string;
  cluster: string;
  kind: string;
  by: string;
  /** The channel it was run from; the mirror is not posted there again. */
  from: string;
  approvedBy?: string | undefined;
  rejectedBy?: string | undefined;
}

/** How long a replica waits for another one posting the same mirror message before giving up this pass. */
const POSTING_LOCK_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Incident mirroring (issue 17): every job and change of a cluster shows in its incident
 * channels (the configured `incidentChannel`, and the one `/cws incident` linked) as ONE message
 * per job, posted when it starts and edited in place to its final state. Edits go through the
 * notifier (paced and coalesced); the final edit is claimed once across replicas.
 */
export class IncidentMirror {
  constructor(private readonly d: MirrorDeps) {}

  /** The cluster's incident channels, each with the link that made it one (none for the configured channel). */
  async channels(cluster: string): Promise<{ channel: string; link?: IncidentLink }[]> {
    const out: { channel: string; link?: IncidentLink }[] = [];
    const configured = this.d.incidentChannel?.(cluster);
    if (configured) out.push({ channel: configured });
    let link: IncidentLink | undefined;
    try {
      link = await this.d.tracker.getIncidentLink(cluster);
    } catch (err) {
      this.d.logger.warn({ err, cluster }, 'could not read the incident link; mirroring to the configured channel only');
    }
    if (link && link.channel !== configured) out.push({ channel: link.channel, link });
    return out;
  }

  /** Shows the item's current state in each incident channel: its message is created once, then edited. */
  async show(item: Mirrored, state: IncidentMetadataPayload['state'], o: { verdict?: string; link?: string; final?: boolean } = {}): Promise<void> {
    for (const { channel, link } of await this.channels(item.cluster)) {
      if (channel === item.from) continue; // its own message is already there
      const message = renderIncidentUpdate({
        jobId: item.id,
        cluster: item.cluster,
        kind: item.kind,
        state,
        by: item.by,
        from: item.from,
        ...(item.approvedBy ? { approvedBy: item.approvedBy } : {}),
        ...(item.rejectedBy ? { rejectedBy: item.rejectedBy } : {}),
        ...(o.verdict ? { verdict: o.verdict } : {}),
        ...(o.link ? { link: o.link } : {}),
      });
      const claim = `mirror:${channel}`;
      try {
        let ts = await this.d.tracker.getMirror(item.id, channel);
        for (let i = 0; !ts && i < (o.final ? 40 : 1); i++) {
          if (await this.d.tracker.lock(`mirror:${item.id}:${channel}`, POSTING_LOCK_MS)) {
            try {
              ts = await this.d.tracker.getMirror(item.id, channel);
              if (ts) break;
              const posted = await this.d.notifier.post(channel, message, {}, o.final ? { final: true, fallback: { howToGet: `Job ${item.id}.` } } : {});
              await this.d.tracker.saveMirror(item.id, channel, posted.ts);
              if (o.final) await this.d.tracker.claimFinal(item.id, claim);
              ts = undefined;
              break;
            } finally {
              await this.d.tracker.unlock(`mirror:${item.id}:${channel}`);
            }
          }
          await sleep(250); // another replica (or the start of this job) is posting it
          ts = await this.d.tracker.getMirror(item.id, channel);
        }
        if (!ts) continue;
        if (o.final) {
          if (!(await this.d.tracker.claimFinal(item.id, claim))) continue;
          await this.d.notifier.update(channel, ts, message, { final: true, fallback: { howToGet: `Job ${item.id}.` } }).catch(async (err) => {
            await this.d.tracker.releaseFinal(item.id, claim);
            throw err;
          });
        } else if (!(await this.d.tracker.isFinal(item.id, claim))) {
          void this.d.notifier.update(channel, ts, message).catch(() => {});
        }
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal && CHANNEL_ERRORS.has(refusal.error)) await this.cannotPost(item, channel, refusal.error, link);
        else this.d.logger.warn({ err, id: item.id, channel }, 'could not mirror to the incident channel');
      }
    }
  }

  /** The bot cannot post in the incident channel: whoever linked it is told (once an hour) how to invite it. */
  private async cannotPost(item: Mirrored, channel: string, error: string, link: IncidentLink | undefined): Promise<void> {
    this.d.logger.warn({ id: item.id, channel, error, cluster: item.cluster }, 'cannot post in the incident channel');
    if (!link) return;
    const told = await this.d.tracker.once(`incident-invite:${channel}:${link.at}`, item.id, 3600);
    if (!told.first) return;
    await this.d.notifier
      .postEphemeral(
        link.from,
        link.by,
        renderProblem(
          `I cannot post in <#${channel}>, the incident channel you linked to \`${item.cluster}\` (${error}).`,
          `Invite me there with \`/invite @cws\`; jobs on \`${item.cluster}\` will show there from then on.`,
        ),
      )
      .catch((err) => this.d.logger.warn({ err, channel }, 'could not tell the linker about the incident channel'));
  }
}
