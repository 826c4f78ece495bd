/**
 * The sandbox's (and the tests') Slack side of the Events/Interactivity endpoint.
 *
 * Sends requests to a Bolt app (HTTPReceiver / ExpressReceiver) exactly as Slack does: form-encoded bodies,
 * `x-slack-signature: v0=<hex hmac-sha256(secret, "v0:<ts>:<raw body>")>` and `x-slack-request-timestamp`.
 *
 * Note: Bolt compares the content type with `=== 'application/x-www-form-urlencoded'` (no charset!), so the
 * body is serialized by hand and sent as a string with that exact header; passing URLSearchParams to fetch
 * would add `;charset=UTF-8` and Bolt would try to JSON.parse the form body.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export function signSlackRequest(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): { 'x-slack-signature': string; 'x-slack-request-timestamp': string } {
  const hex = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${hex}`, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SignerResult {
  status: number;
  body: string;
  ms: number;
  /** The response_url put in the payload (use with SlackEmulator.callsTo('response_url') / args.id). */
  responseUrl: string;
  /** The trigger_id put in the payload. */
  triggerId: string;
}

export interface CommandResult extends SignerResult {
  /** The response body parsed as JSON, when it is JSON. */
  json?: unknown;
}

export interface SlackSignerOptions {
  secret: string;
  /** e.g. http://127.0.0.1:PORT/slack/events */
  url: string;
  teamId?: string;
  /**
   * e.g. `emu.responseUrl('')` or `http://127.0.0.1:PORT/response`; ids (`cmd-N`, `action-N`) are appended as
   * `/<id>`. Default: `http://127.0.0.1:9/response` (connection refused — never the real Slack).
   */
  responseUrlBase?: string;
  /** api_app_id sent in payloads (default 'A0001'). */
  appId?: string;
  teamDomain?: string;
}

export interface ActionOptions {
  actionId: string;
  value?: string;
  userId?: string;
  channelId?: string;
  messageTs?: string;
  blockId?: string;
  selectedOption?: { value: string };
  message?: unknown;
  /** An element of a view (a modal, the App Home: `{ id, type, blocks, … }`): container `view`, no channel, message or response_url, as Slack sends it. */
  view?: { id: string } & Record<string, unknown>;
}

export interface ViewSubmissionOptions {
  callbackId: string;
  /** `view.state.values`: block_id -> action_id -> element state, e.g. `{ b: { a: { type: 'plain_text_input', value: 'x' } } }` */
  values: Record<string, Record<string, unknown>>;
  privateMetadata?: string;
  userId?: string;
}

const VERIFICATION_TOKEN = 'verification-token-unused';

export class SlackSigner {
  private readonly secret: string;
  private readonly url: string;
  private readonly teamId: string;
  private readonly teamDomain: string;
  private readonly appId: string;
  private readonly responseUrlBase: string;
  private seq = 0;

  constructor(opts: SlackSignerOptions) {
    this.secret = opts.secret;
    this.url = opts.url;
    this.teamId = opts.teamId ?? 'T0001';
    this.teamDomain = opts.teamDomain ?? 'test';
    this.appId = opts.appId ?? 'A0001';
    // Default is a loopback port nothing listens on, so a stray respond() fails fast instead of reaching Slack.
    this.responseUrlBase = (opts.responseUrlBase ?? 'http://127.0.0.1:9/response').replace(/\/+$/, '');
  }

  /** A slash command, form-encoded exactly like Slack's (default command `/cws`). */
  async command(
    text: string,
    opts: { userId?: string; userName?: string; channelId?: string; command?: string; triggerId?: string } = {},
  ): Promise<CommandResult> {
    const n = this.next();
    const responseUrl = `${this.responseUrlBase}/cmd-${n}`;
    const triggerId = opts.triggerId ?? this.triggerId(n);
    const channelId = opts.channelId ?? 'C0001';
    const userId = opts.userId ?? 'U0001';
    const fields: Record<string, string> = {
      token: VERIFICATION_TOKEN,
      team_id: this.teamId,
      team_domain: this.teamDomain,
      channel_id: channelId,
      channel_name: channelId.toLowerCase(),
      user_id: userId,
      user_name: opts.userName ?? userId.toLowerCase(),
      command: opts.command ?? '/cws',
      text,
      api_app_id: this.appId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    };
    const res = await this.send(new URLSearchParams(fields).toString());
    const out: CommandResult = { ...res, responseUrl, triggerId };
    if (res.body.length > 0) {
      try {
        out.json = JSON.parse(res.body);
      } catch {
        // not JSON (e.g. a plain-text ack)
      }
    }
    return out;
  }

  /** A `block_actions` interaction (button by default; static_select when `selectedOption` is given). */
  async action(opts: ActionOptions): Promise<SignerResult> {
    const n = this.next();
    const responseUrl = `${this.responseUrlBase}/action-${n}`;
    const triggerId = this.triggerId(n);
    const userId = opts.userId ?? 'U0001';
    const channelId = opts.channelId ?? 'C0001';
    const messageTs = opts.messageTs ?? '1700000000.000100';
    const actionTs = `${(Date.now() / 1000).toFixed(6)}`;
    const blockId = opts.blockId ?? 'block-1';
    const action: Record<string, unknown> = opts.selectedOption
      ? {
          type: 'static_select',
          action_id: opts.actionId,
          block_id: blockId,
          selected_option: {
            text: { type: 'plain_text', text: opts.selectedOption.value, emoji: true },
            value: opts.selectedOption.value,
          },
          placeholder: { type: 'plain_text', text: 'Select', emoji: true },
          action_ts: actionTs,
        }
      : {
          type: 'button',
          action_id: opts.actionId,
          block_id: blockId,
          text: { type: 'plain_text', text: opts.actionId, emoji: true },
          ...(opts.value !== undefined ? { value: opts.value } : {}),
          action_ts: actionTs,
        };
    const message = opts.message ?? {
      type: 'message',
      user: 'UBOT',
      bot_id: 'BBOT',
      ts: messageTs,
      text: '',
      team: this.teamId,
      blocks: [],
    };
    const common = {
      type: 'block_actions',
      user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: this.teamId },
      api_app_id: this.appId,
      token: VERIFICATION_TOKEN,
      trigger_id: triggerId,
      team: { id: this.teamId, domain: this.teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      actions: [action],
    };
    const payload = opts.view
      ? { ...common, container: { type: 'view', view_id: opts.view.id }, view: { ...opts.view, state: { values: {} } } }
      : {
          ...common,
          container: { type: 'message', message_ts: messageTs, channel_id: channelId, is_ephemeral: false },
          channel: { id: channelId, name: channelId.toLowerCase() },
          message,
          state: { values: {} },
          response_url: responseUrl,
        };
    const res = await this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { ...res, responseUrl, triggerId };
  }

  /** A modal `view_submission` interaction. */
  async viewSubmission(opts: ViewSubmissionOptions): Promise<SignerResult> {
    const n = this.next();
    const triggerId = this.triggerId(n);
    const userId = opts.userId ?? 'U0001';
    const viewId = `V${String(n).padStart(8, '0')}`;
    const payload = {
      type: 'view_submission',
      team: { id: this.teamId, domain: this.teamDomain },
      user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: this.teamId },
      api_app_id: this.appId,
      token: VERIFICATION_TOKEN,
      trigger_id: triggerId,
      view: {
        id: viewId,
        team_id: this.teamId,
        type: 'modal',
        blocks: [],
        private_metadata: opts.privateMetadata ?? '',
        callback_id: opts.callbackId,
        state: { values: opts.values },
        hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
        title: { type: 'plain_text', text: 'Modal', emoji: true },
        clear_on_close: false,
        notify_on_close: false,
        close: null,
        submit: { type: 'plain_text', text: 'Submit', emoji: true },
        previous_view_id: null,
        root_view_id: viewId,
        app_id: this.appId,
        external_id: '',
        app_installed_team_id: this.teamId,
        bot_id: 'BBOT',
      },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const res = await this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { ...res, responseUrl: '', triggerId };
  }

  /** Posts `body` with exactly the given headers (no signing) — for bad/missing/stale signature tests. */
  async raw(body: string, headers: Record<string, string>, contentType = FORM_CONTENT_TYPE): Promise<{ status: number; body: string }> {
    const hasContentType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    const res = await fetch(this.url, {
      method: 'POST',
      headers: hasContentType ? headers : { 'content-type': contentType, ...headers },
      body,
    });
    return { status: res.status, body: await res.text() };
  }

  /** Posts a form-encoded body, signed, as Slack does; `timeoutMs` aborts like Slack gives up (3 s for acks). */
  async post(body: string, opts: { timeoutMs?: number } = {}): Promise<{ status: number; body: string; ms: number }> {
    const started = performance.now();
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': FORM_CONTENT_TYPE, ...signSlackRequest(this.secret, body) },
      body,
      ...(opts.timeoutMs !== undefined ? { signal: AbortSignal.timeout(opts.timeoutMs) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text, ms: performance.now() - started };
  }

  /** A slash command's form fields, signed. */
  postForm(fields: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<{ status: number; body: string; ms: number }> {
    return this.post(new URLSearchParams(fields).toString(), opts);
  }

  /** An interaction payload (`payload=<JSON>`), signed. */
  postPayload(payload: unknown, opts: { timeoutMs?: number } = {}): Promise<{ status: number; body: string; ms: number }> {
    return this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), opts);
  }

  /** An Events API envelope, as JSON, signed (Slack posts events that way). */
  async postEvent(envelope: unknown, opts: { timeoutMs?: number } = {}): Promise<{ status: number; body: string; ms: number }> {
    const body = JSON.stringify(envelope);
    const started = performance.now();
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signSlackRequest(this.secret, body) },
      body,
      ...(opts.timeoutMs !== undefined ? { signal: AbortSignal.timeout(opts.timeoutMs) } : {}),
    });
    return { status: res.status, body: await res.text(), ms: performance.now() - started };
  }

  private send(body: string): Promise<{ status: number; body: string; ms: number }> {
    return this.post(body);
  }

  private next(): number {
    this.seq += 1;
    return this.seq;
  }

  private triggerId(n: number): string {
    return `${n}.${Date.now()}.${randomBytes(8).toString('hex')}`;
  }
}
