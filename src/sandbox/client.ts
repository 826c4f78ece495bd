/**
 * The sandbox user's Slack client: what Slack does when a user types a slash command, clicks a
 * button, picks a menu option, submits or closes a modal — a signed request to the bot's
 * Request URL, then the bot's synchronous answer applied to the workspace (the emulator).
 * The page (server.ts) only says what the user did; this turns it into Slack's requests.
 */
import type { Logger } from 'pino';
import {
  actionPayload,
  appHomeOpenedEnvelope,
  actionTs,
  blockActionsPayload,
  type ChannelRef,
  findElement,
  type PageAction,
  type SandboxUser,
  escapeCommandText,
  slashCommandFields,
  viewClosedPayload,
  viewSubmissionPayload,
  withBlockIds,
} from './payloads.ts';
import type { ResponseBody, SlackEmulator, SlackMessage, SlackView } from './slack-api.ts';
import type { SlackSigner } from './signer.ts';
import { isRecord, type Json } from './json.ts';

export type Outcome = { ok: true } | { ok: false; error: string; errors?: Record<string, string>; conflict?: boolean };

export interface SandboxClientOptions {
  emu: SlackEmulator;
  signer: SlackSigner;
  user: SandboxUser;
  logger: Logger;
  /** The slash command the app registered (manifest.json). */
  command?: string;
  /** Slack gives up on an app that has not answered within 3 s. */
  ackTimeoutMs?: number;
}

export interface ActionInput {
  channel: string;
  ts?: string | undefined;
  view_id?: string | undefined;
  action: PageAction;
}

type Origin = { error: string } | { blocks: unknown; payloadOrigin: Parameters<typeof blockActionsPayload>[0]['origin'] };

export class SandboxClient {
  readonly user: SandboxUser;
  private readonly emu: SlackEmulator;
  private readonly signer: SlackSigner;
  private readonly logger: Logger;
  private readonly command: string;
  private readonly ackTimeoutMs: number;

  constructor(o: SandboxClientOptions) {
    this.emu = o.emu;
    this.signer = o.signer;
    this.user = o.user;
    this.logger = o.logger;
    this.command = o.command ?? '/cws';
    this.ackTimeoutMs = o.ackTimeoutMs ?? 3_000;
  }

  /** Channel messages, and the ephemeral ones addressed to this user (as Slack shows them to them). */
  isVisible(m: SlackMessage): boolean {
    return !m.ephemeral || m.user === this.user.id;
  }

  visibleMessages(): SlackMessage[] {
    return this.emu.messages().filter((m) => this.isVisible(m));
  }

  /** The channels the user has: the workspace's, then any other the bot posted to. */
  channels(): ChannelRef[] {
    const out = new Map<string, ChannelRef>([...this.emu.channels].map(([id, name]) => [id, { id, name }]));
    for (const m of this.visibleMessages()) if (!out.has(m.channel)) out.set(m.channel, { id: m.channel, name: m.channel });
    return [...out.values()];
  }

  private channel(id: string): ChannelRef | undefined {
    return this.channels().find((c) => c.id === id);
  }

  /** `/cws <text>` in a channel. The bot's ack body shows up as Slack shows it: an ephemeral message by default. */
  async slashCommand(channelId: string, text: string): Promise<Outcome> {
    const channel = this.channel(channelId);
    if (!channel) return { ok: false, error: `There is no channel ${channelId} in the sandbox.`, conflict: true };
    const context = { channel: channel.id, user: this.user.id };
    const fields = slashCommandFields({
      user: this.user,
      channel,
      command: this.command,
      // manifest.json asks Slack to escape channels, users and links (`should_escape: true`).
      text: escapeCommandText(text, this.emu.channels, this.emu.users),
      responseUrl: this.emu.registerResponseUrl(context),
      triggerId: this.emu.issueTriggerId(),
    });
    const res = await this.deliver(this.command, () => this.signer.postForm(fields, { timeoutMs: this.ackTimeoutMs }));
    if (!res.ok) return res;
    const body = parseAckBody(res.body);
    if (body === undefined) return { ok: true };
    const refused = this.emu.applyResponse(context, body);
    return refused ? { ok: false, error: `Slack refused the bot's answer to ${this.command}: ${refused}` } : { ok: true };
  }

  /** A button or menu of a message or of a modal. */
  async action(input: ActionInput): Promise<Outcome> {
    const origin = input.view_id ? this.viewOrigin(input.view_id) : this.messageOrigin(input.channel, input.ts ?? '');
    if ('error' in origin) return { ok: false, error: origin.error, conflict: true };
    // The element at the position the page clicked, checked against the type and ids it showed.
    const found = findElement(origin.blocks, input.action);
    if ('error' in found) {
      this.logger.info({ position: input.action.position, reason: found.error }, 'a click on an element that is no longer there');
      const what = input.view_id ? 'view' : 'message';
      return {
        ok: false,
        error: `That ${input.action.type === 'button' ? 'button' : 'menu'} is no longer there: the ${what} changed since the page showed it (${found.error}). Nothing was sent.`,
        conflict: true,
      };
    }
    const built = actionPayload(found, input.action, actionTs());
    if ('error' in built) return { ok: false, error: `Invalid action: ${built.error}.` };
    const payload = blockActionsPayload({
      user: this.user,
      triggerId: this.emu.issueTriggerId(),
      action: built.action,
      stateValue: built.stateValue,
      origin: origin.payloadOrigin,
    });
    const res = await this.deliver('the action', () => this.signer.postPayload(payload, { timeoutMs: this.ackTimeoutMs }));
    return res.ok ? { ok: true } : res;
  }

  /** Submit of a modal: the bot may answer with errors, or update, push or clear the views. */
  async submitView(viewId: string, values: Record<string, Record<string, unknown>>): Promise<Outcome> {
    const view = this.emu.views.get(viewId);
    if (!view) return { ok: false, error: 'This view is closed.', conflict: true };
    const payload = viewSubmissionPayload({ user: this.user, triggerId: this.emu.issueTriggerId(), view: this.emu.wireView(view), values });
    const res = await this.deliver('the submission', () => this.signer.postPayload(payload, { timeoutMs: this.ackTimeoutMs }));
    if (!res.ok) return res;
    return this.applyViewAnswer(view, parseJsonObject(res.body) ?? {});
  }

  /** The Home tab this user last had published (views.publish), if any. */
  home(): SlackView | undefined {
    return this.emu.homeViews.get(this.user.id);
  }

  /**
   * The user opens the app's Home tab: Slack sends `app_home_opened` (the app then publishes the
   * Home with views.publish, which the emulator records for this user).
   */
  async openHome(): Promise<Outcome> {
    const home = this.home();
    const envelope = appHomeOpenedEnvelope({
      user: this.user,
      dmChannel: `D${this.user.id.slice(1)}`,
      view: home ? { ...this.emu.wireView(home), type: 'home' } : undefined,
    });
    const res = await this.deliver('app_home_opened', () => this.signer.postEvent(envelope, { timeoutMs: this.ackTimeoutMs }));
    return res.ok ? { ok: true } : res;
  }

  /** Cancel / × / Escape: the bot hears of it only when the view asked to (`notify_on_close`). */
  async closeView(viewId: string): Promise<Outcome> {
    const view = this.emu.views.get(viewId);
    if (!view) return { ok: true };
    this.emu.closeView(viewId);
    if (view.view.notify_on_close !== true) return { ok: true };
    const res = await this.deliver('view_closed', () =>
      this.signer.postPayload(viewClosedPayload({ user: this.user, view: this.emu.wireView(view) }), { timeoutMs: this.ackTimeoutMs }),
    );
    return res.ok ? { ok: true } : res;
  }

  private applyViewAnswer(view: SlackView, answer: Json): Outcome {
    const next = isRecord(answer.view) ? answer.view : undefined;
    switch (answer.response_action) {
      case 'errors':
        return { ok: false, error: 'The form has errors.', errors: isRecord(answer.errors) ? stringValues(answer.errors) : {} };
      case 'update':
        if (!next) return { ok: false, error: 'The bot answered response_action "update" without a view.' };
        this.emu.replaceView(view.id, next);
        return { ok: true };
      case 'push':
        if (!next) return { ok: false, error: 'The bot answered response_action "push" without a view.' };
        // The submitted view stays under the new one: announcing it again (unchanged) tells the
        // page not to drop it when this submission returns.
        this.emu.emit('view_updated', view);
        this.emu.openView(next);
        return { ok: true };
      case 'clear':
        for (const id of [...this.emu.views.keys()]) this.emu.closeView(id);
        return { ok: true };
      default:
        this.emu.closeView(view.id);
        return { ok: true };
    }
  }

  private messageOrigin(channelId: string, ts: string): Origin {
    const channel = this.channel(channelId);
    const msg = channel ? this.emu.message(channel.id, ts) : undefined;
    if (!channel || !msg || !this.isVisible(msg)) return { error: 'That message is gone.' };
    const responseUrl = this.emu.registerResponseUrl({ channel: channel.id, user: this.user.id, original: { ts: msg.ts } });
    // Slack leaves the message out of the payload when it is ephemeral.
    const wire = msg.ephemeral ? undefined : { ...this.emu.wireMessage(msg), blocks: withBlockIds(msg.blocks ?? []) };
    return {
      blocks: msg.blocks,
      payloadOrigin: { message: { channel, ts: msg.ts, ephemeral: msg.ephemeral === true, responseUrl, ...(wire ? { wire } : {}) } },
    };
  }

  private viewOrigin(viewId: string): Origin {
    // A modal, or this user's Home tab (its elements are clicked like a modal's, container `view`).
    const home = this.home();
    const view = this.emu.views.get(viewId) ?? (home?.id === viewId ? home : undefined);
    if (!view) return { error: 'That view is closed.' };
    return { blocks: view.view.blocks, payloadOrigin: { view: this.emu.wireView(view) } };
  }

  /** Sends to the bot; what Slack would show when the app fails to answer in time or at all. */
  private async deliver(
    what: string,
    send: () => Promise<{ status: number; body: string }>,
  ): Promise<{ ok: true; body: string } | { ok: false; error: string }> {
    try {
      const res = await send();
      if (res.status === 200) return { ok: true, body: res.body };
      this.logger.warn({ status: res.status, what }, 'the bot refused a request');
      return { ok: false, error: `${what} failed: the bot answered HTTP ${res.status}.` };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      if (timedOut)
        return { ok: false, error: `${what} failed with the error "operation_timeout" (the bot did not answer within ${this.ackTimeoutMs / 1000} s).` };
      this.logger.warn({ err: (err as Error).message, what }, 'cannot reach the bot');
      return { ok: false, error: `${what} failed: the bot is not reachable.` };
    }
  }
}

/** A command's ack body: JSON (Bolt's ack({…})), plain text (ack('…')), or nothing. */
function parseAckBody(body: string): ResponseBody | undefined {
  if (!body.trim()) return undefined;
  return parseJsonObject(body) ?? { text: body };
}

function parseJsonObject(body: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function stringValues(o: Json): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
}
