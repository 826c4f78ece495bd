/**
 * What Slack sends to an app's Request URL, built from the emulator's state: slash command
 * fields, and the `block_actions`, `view_submission` and `view_closed` interaction payloads.
 * Shapes follow Slack's documented payloads (and what Bolt reads from them); only the fields the
 * page cannot know (element text, options, message, view) come from the stored message or view,
 * so a click can only send what the bot really offered.
 */
import { defaultActionId, defaultBlockId } from './render/blocks.ts';
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
export function slashCommandFields(o: { user: SandboxUser; channel: ChannelRef; command: string; text: string; responseUrl: string; triggerId: string }): Record<string, string> {
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

/** What the page says was used: which element, and for a select the option picked. */
export interface PageAction {
  type: 'button' | 'static_select' | 'overflow';
  action_id: string;
  block_id: string;
  selected_option?: { value: string } | undefined;
}

export interface FoundElement {
  element: Json;
  blockId: string;
  actionId: string;
}

/**
 * The interactive element a block_id/action_id pair names, with the renderer's defaults for
 * blocks and elements that have no id (Slack invents them; ours must match what the page shows).
 */
export function findElement(blocks: unknown, blockId: string, actionId: string): FoundElement | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const [i, block] of blocks.entries()) {
    if (!isRecord(block)) continue;
    const bid = asString(block.block_id) || defaultBlockId(i);
    if (bid !== blockId) continue;
    const candidates = block.type === 'actions' ? asArray(block.elements) : block.type === 'section' && block.accessory !== undefined ? [block.accessory] : [];
    for (const [j, el] of candidates.entries()) {
      if (!isRecord(el)) continue;
      const aid = asString(el.action_id) || defaultActionId(j);
      if (aid === actionId) return { element: el, blockId: bid, actionId: aid };
    }
  }
  return undefined;
}

/** The `actions[0]` of a block_actions payload, or why the page's action does not fit the element. */
export function actionPayload(found: FoundElement, page: PageAction, actionTs: string): { action: Json; stateValue?: Json } | { error: string } {
  const el = found.element;
  if (el.type !== page.type) return { error: `that element is a ${String(el.type)}, not a ${page.type}` };
  const base = { type: page.type, action_id: found.actionId, block_id: found.blockId, action_ts: actionTs };
  if (page.type === 'button') {
    const action: Json = { ...base, text: { emoji: true, ...(isRecord(el.text) ? el.text : {}) } };
    for (const k of ['value', 'style', 'url'] as const) if (typeof el[k] === 'string') action[k] = el[k];
    return { action };
  }
  const picked = page.selected_option?.value;
  const option = picked === undefined ? undefined : optionsOf(el).find((o) => o.value === picked);
  if (!option) return { error: 'that option is not in the menu' };
  const selected = { text: { emoji: true, ...(isRecord(option.text) ? option.text : {}) }, value: option.value };
  const action: Json = { ...base, selected_option: selected };
  if (page.type === 'static_select' && isRecord(el.placeholder)) action.placeholder = { emoji: true, ...el.placeholder };
  // Slack also reports the menu's new state under state.values (selects are stateful, overflows are not).
  return page.type === 'static_select' ? { action, stateValue: { type: 'static_select', selected_option: selected } } : { action };
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
