import { ListAgentsResult } from '../../core/results.ts';
import { pickableNodes, renderNodePicker } from '../../core/slack/blocks/flare-inputs.ts';
import type { JobKind } from './kind.ts';

/** The agents of a cluster, for the flare's node picker: answered privately, never in the channel. */
export const listAgentsKind: JobKind = {
  start: () => undefined,
  async final(r, outcome, d) {
    const req = r.requestId ? await d.tracker.getFlareRequest(r.requestId) : undefined;
    if (req && (await d.tracker.claimFinal(r.jobId, 'picker'))) {
      const parsed = 'failure' in outcome ? undefined : ListAgentsResult.safeParse(outcome.value);
      const msg = parsed?.success
        ? renderNodePicker(req, parsed.data.agents)
        : { text: `Could not list the agents of ${r.cluster}: ${'failure' in outcome ? outcome.failure.message : 'unreadable result'}` };
      if (parsed?.success) await d.tracker.saveFlareRequest({ ...req, nodes: pickableNodes(parsed.data.agents) });
      await d.notifier.postEphemeral(r.channel, r.requestedBy, msg).catch((err) => d.logger.warn({ err }, 'could not post the node picker'));
    }
    await d.tracker.close(r.jobId);
    return undefined;
  },
};
