import type { App } from '@slack/bolt';
import type { BotServices } from '../../commands/context.ts';
import { flare, isEmail } from '../../commands/flare.ts';
import { FLARE_EMAIL_VIEW } from '../../../core/slack/blocks/flare-inputs.ts';

/** The email modal: validated server-side (errors shown on the field), then the flare goes on. */
export function register(app: App, services: BotServices): void {
  app.view(FLARE_EMAIL_VIEW, async ({ ack, body, view }) => {
    const email = String(view.state.values.email?.value?.value ?? '').trim();
    const caseId = String(view.state.values.case?.value?.value ?? '').trim();
    const errors: Record<string, string> = {};
    if (!isEmail(email)) errors.email = 'Enter an email address, e.g. you@example.com';
    if (caseId && !/^[0-9]{1,12}$/.test(caseId)) errors.case = 'A case ID is digits only';
    if (Object.keys(errors).length) return ack({ response_action: 'errors', errors });
    const req = await services.tracker.getFlareRequest(view.private_metadata);
    if (!req || req.userId !== body.user.id) return ack({ response_action: 'errors', errors: { email: 'This form has expired; run /cws flare again.' } });
    await ack();
    const inv = {
      userId: body.user.id,
      channelId: req.channelId,
      text: '',
      respond: (m: { text: string }) => services.notifier.postEphemeral(req.channelId, body.user.id, m),
    };
    const reply = await flare(
      services,
      inv,
      { cluster: req.cluster, ...(req.node ? { node: req.node } : {}), ...(caseId ? { caseId } : req.caseId ? { caseId: req.caseId } : {}), email },
      req.id,
    );
    if (reply.ack) await inv.respond(reply.ack);
    if (reply.after) await reply.after();
  });
}
