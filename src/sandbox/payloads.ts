/**
 * What Slack sends to an app's Request URL, built from the emulator's state: slash command
 * fields, and the `block_actions`, `view_submission` and `view_closed` interaction payloads.
 * Shapes follow Slack's documented payloads (and what Bolt reads from them). A click names the
 * element by its position in the stored message or view; everything the payload says of it (ids,
 * value, text, style, options) comes from the element at that position, so a click can only send
 * what the bot really offered, and exactly the element clicked, as Slack does.
 */
import { defaultBlockId, type ElementPosition, elementActionId } from './render/blocks.ts';
import { TEAM_ID, TEAM_NAME } from './slack-api.ts';
import { asArray, asString, isRecord, type Json } from './json.ts';

export const APP_ID = 'A0001';
/** Slack still sends the legacy verification token; Bolt ignores it (it checks the signature). */
const VERIFICATION_TOKEN = 'sandbox-verification-token-unused';

export interface SandboxUser {
  id: string;
  name: string;
}

export interface ChannelRef {
  id: string;
  name: string;
}

const team = () => ({ id: TEAM_ID, domain: TEAM_NAME });
const userObject = (u: SandboxUser) => ({ id: u.id, username: u.name, name: u.name, team_id: TEAM_ID });

/** `application/x-www-form-urlencoded` fields of a slash command, as Slack posts them. */
/**
 * What Slack does to a slash command's text when the command has "Escape channels, users, and links
 * sent to your app" on (manifest.json `should_escape: true`): a `#channel` or `@user` the workspace
 * knows becomes `<#C…|name>` / `<@U…|name>`, an email address `<mailto:a@b.c|a@b.c>` and a URL `<url>`.
 * A `#name` no channel has stays plain text, as in Slack.
 */
export function escapeCommandText(text: string, channels: ReadonlyMap<string, string>, users: ReadonlyMap<string, { name: string }>): string {
  const channelId = new Map([...channels].map(([id, name]) => [name, id]));
  const userId = new Map([...users].map(([id, u]) => [u.name, id]));
  return text
    .split(/(\s+)/)
    .map((word) => {
      if (/^\s*$/.test(word) || word.startsWith('<')) return word;
      const ch = /^#([a-z0-9_-]{1,80})$/.exec(word);
      if (ch && channelId.has(ch[1]!)) return `<#${channelId.get(ch[1]!)!}|${ch[1]!}>`;
      const us = /^@([A-Za-z0-9._-]{1,80})$/.exec(word);
      if (us && userId.has(us[1]!)) return `<@${userId.get(us[1]!)!}|${us[1]!}>`;
      if (/^https?:\/\/\S+$/.test(word)) return `<${word}>`;
      if (/^[^\s@<>|]+@[^\s@<>|]+\.[A-Za-z]{2,}$/.test(word)) return `<mailto:${word}|${word}>`;
      return word;
    })
    .join('');
}

export function slashCommandFields(o: {
  user: SandboxUser;
  channel: ChannelRef;
  command: string;
  text: string;
  responseUrl: string;
  triggerId: string;
}): Record<string, string> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: TEAM_ID,
    team_domain: TEAM_NAME,
    channel_id: o.channel.id,
    channel_name: o.channel.name,
    user_id: o.user.id,
    user_name: o.user.name,
    command: o.command,
    text: o.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: o.responseUrl,
    trigger_id: o.triggerId,
  };
}

/**
 * What the page says was used: the element at `position` in the stored message or view (and, for
 * a menu, the option picked). The type and ids it names are only checked against that element, so
 * a page showing an older version of the message is refused instead of clicking something else.
 */
export interface PageAction {
  type: 'button' | 'static_select' | 'overflow';
  action_id: string;
  block_id: string;
  position: ElementPosition;
  selected_option?: { value: string } | undefined;
}

export interface FoundElement {
  element: Json;
  blockId: string;
  actionId: string;
}

/**
 * The interactive element at the page's position, if it is still the one the page showed: a
 * button, select or overflow of that type with those ids (the renderer's defaults for blocks and
 * elements that have none, as Slack invents them). Never another element with the same ids: two
 * buttons of one block are told apart by where they are.
 */
export function findElement(blocks: unknown, page: Pick<PageAction, 'type' | 'action_id' | 'block_id' | 'position'>): FoundElement | { error: string } {
  const { block: i, element: at } = page.position;
  const block = Array.isArray(blocks) ? (blocks[i] as unknown) : undefined;
  if (!isRecord(block)) return { error: `there is no block ${i}` };
  const blockId = asString(block.block_id) || defaultBlockId(i);
  if (blockId !== page.block_id) return { error: `block ${i} is now "${clip(blockId)}", not "${clip(page.block_id)}"` };
  let el: unknown;
  if (at === 'accessory') {
    if (block.type !== 'section') return { error: `block ${i} is not a section` };
    el = block.accessory;
  } else {
    if (block.type !== 'actions') return { error: `block ${i} is not an actions block` };
    el = asArray(block.elements)[at];
  }
  const where = at === 'accessory' ? `the accessory of block ${i}` : `element ${at} of block ${i}`;
  if (!isRecord(el)) return { error: `${where} is not there` };
  if (el.type !== page.type) return { error: `${where} is ${article(String(el.type))}, not ${article(page.type)}` };
  const actionId = elementActionId(el, at);
  if (actionId !== page.action_id) return { error: `${where} is now "${clip(actionId)}", not "${clip(page.action_id)}"` };
  return { element: el, blockId, actionId };
}

const article = (type: string) => `${/^[aeiou]/i.test(type) ? 'an' : 'a'} ${type}`;
const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 60)}…` : s);

/**
 * The `actions[0]` of a block_actions payload, built from the element alone (as Slack does: a
 * button's `{type, block_id, action_id, text, value, style?, action_ts}`), or why the page's
 * pick does not fit the element.
 */
export function actionPayload(found: FoundElement, page: PageAction, actionTs: string): { action: Json; stateValue?: Json } | { error: string } {
  const el = found.element;
  if (el.type !== page.type) return { error: `that element is ${article(String(el.type))}, not ${article(page.type)}` };
  const base = { type: page.type, block_id: found.blockId, action_id: found.actionId };
  if (page.type === 'button') {
    const action: Json = { ...base, text: plainText(el.text) };
    for (const k of ['value', 'style', 'url'] as const) if (typeof el[k] === 'string') action[k] = el[k];
    action.action_ts = actionTs;
    return { action };
  }
  const picked = page.selected_option?.value;
  const option = picked === undefined ? undefined : optionsOf(el).find((o) => o.value === picked);
  if (!option) return { error: 'that option is not in the menu' };
  const selected = { text: plainText(option.text), value: option.value };
  const action: Json = { ...base, selected_option: selected };
  if (page.type === 'static_select' && isRecord(el.placeholder)) action.placeholder = plainText(el.placeholder);
  action.action_ts = actionTs;
  // Slack also reports the menu's new state under state.values (selects are stateful, overflows are not).
  return page.type === 'static_select' ? { action, stateValue: { type: 'static_select', selected_option: selected } } : { action };
}

/** A plain_text object as Slack echoes it: `emoji` defaults to true. */
function plainText(t: unknown): Json {
  const o = isRecord(t) ? t : {};
  return { type: 'plain_text', text: asString(o.text) ?? '', emoji: typeof o.emoji === 'boolean' ? o.emoji : true };
}

function optionsOf(el: Json): { value: string; text: unknown }[] {
  const groups = asArray(el.option_groups).filter(isRecord);
  const options = groups.length ? groups.flatMap((g) => asArray(g.options)) : asArray(el.options);
  return options.filter(isRecord).flatMap((o) => (typeof o.value === 'string' ? [{ value: o.value, text: o.text }] : []));
}

interface ActionOrigin {
  /** An element of a message: its channel and the message (absent when it is ephemeral, as in Slack). */
  message?: { channel: ChannelRef; ts: string; ephemeral: boolean; wire?: Json; responseUrl: string };
  /** An element of a modal. */
  view?: Json;
}

export function blockActionsPayload(o: { user: SandboxUser; triggerId: string; action: Json; stateValue?: Json | undefined; origin: ActionOrigin }): Json {
  const blockId = String(o.action.block_id);
  const actionId = String(o.action.action_id);
  const state = { values: o.stateValue ? { [blockId]: { [actionId]: o.stateValue } } : {} };
  const payload: Json = {
    type: 'block_actions',
    user: userObject(o.user),
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: o.triggerId,
    team: team(),
    enterprise: null,
    is_enterprise_install: false,
    actions: [o.action],
  };
  const m = o.origin.message;
  if (m) {
    payload.container = { type: 'message', message_ts: m.ts, channel_id: m.channel.id, is_ephemeral: m.ephemeral };
    payload.channel = m.channel;
    if (m.wire) payload.message = m.wire;
    payload.state = state;
    payload.response_url = m.responseUrl;
  } else if (o.origin.view) {
    payload.container = { type: 'view', view_id: o.origin.view.id };
    payload.view = { ...o.origin.view, state };
  }
  return payload;
}

export function viewSubmissionPayload(o: { user: SandboxUser; triggerId: string; view: Json; values: Record<string, Record<string, unknown>> }): Json {
  return {
    type: 'view_submission',
    team: team(),
    user: userObject(o.user),
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: o.triggerId,
    view: { ...o.view, state: { values: o.values } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function viewClosedPayload(o: { user: SandboxUser; view: Json }): Json {
  return {
    type: 'view_closed',
    team: team(),
    user: userObject(o.user),
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    view: o.view,
    is_cleared: false,
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** Block ids Slack would have invented, filled in so the payload's message matches the action's block_id. */
export function withBlockIds(blocks: unknown): unknown {
  if (!Array.isArray(blocks)) return blocks;
  return blocks.map((b, i) => (isRecord(b) && typeof b.block_id !== 'string' ? { ...b, block_id: defaultBlockId(i) } : b));
}

export function actionTs(now = Date.now()): string {
  return (now / 1000).toFixed(6);
}

/**
 * The Events API envelope of `app_home_opened` (Slack posts it as JSON, signed like the rest):
 * the user opened the app's Home tab; `view` is the Home the app last published for them.
 */
export function appHomeOpenedEnvelope(o: { user: SandboxUser; dmChannel: string; view?: Json | undefined; now?: number }): Json {
  const now = o.now ?? Date.now();
  const eventTs = `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`;
  return {
    token: VERIFICATION_TOKEN,
    team_id: TEAM_ID,
    api_app_id: APP_ID,
    type: 'event_callback',
    event_id: `Ev${now.toString(36).toUpperCase()}${Math.floor(Math.random() * 1e6)}`,
    event_time: Math.floor(now / 1000),
    event: {
      type: 'app_home_opened',
      user: o.user.id,
      channel: o.dmChannel,
      tab: 'home',
      event_ts: eventTs,
      ...(o.view ? { view: o.view } : {}),
    },
  };
}
