/**
 * Block Kit → HTML for the sandbox page. Blocks are untrusted JSON: nothing here throws on a bad
 * shape; a block or element that cannot be rendered becomes a small grey note, so a bot bug shows
 * up on the page instead of being hidden.
 *
 * Hooks the page relies on:
 * - interactive elements carry `data-action` = JSON `{type, action_id, block_id, position}`, where
 *   `position` is where the element sits in the message's or view's blocks: `{block, element}` with
 *   `element` the index in an actions block or `"accessory"` for a section's accessory. The server
 *   resolves a click by that position (two buttons of one block may share ids in a faulty message;
 *   their positions never coincide) and sends the element's own value, text and style, not the page's;
 * - elements with a confirm object carry `data-confirm` = JSON `{title, text, confirm, deny, style}`
 *   where `text` is rendered HTML (already safe) and the other fields are plain strings;
 * - url buttons carry `data-url` (http/https only);
 * - select options carry `data-text`, the option's original plain text (for `selected_option`);
 * - modal inputs carry `data-block-id`, `data-action-id`, `data-type` and, unless optional,
 *   `data-required`; each input block has an empty `[data-error-for=<block_id>]` slot.
 */
import { escapeHtml, mrkdwnToHtml, plainToHtml, replaceEmoji } from './mrkdwn.ts';
import { asArray, asString, isRecord, type Json } from '../json.ts';

export type Surface = 'message' | 'modal' | 'home';

export interface RenderWhere {
  surface: Surface;
  /** Prefix for element ids, so inputs of different views never share an id. */
  idPrefix?: string;
}

export interface SandboxMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  ephemeral?: boolean;
  /** Carried as `data-user` (for an ephemeral message: who sees it); the author shown is always the bot. */
  user?: string;
  updates?: number;
  reactions?: string[];
}

export interface SandboxView {
  id: string;
  view: Record<string, unknown>;
}

/** Where an interactive element sits: its block's index, and its index in an actions block or `accessory`. */
export interface ElementPosition {
  block: number;
  element: number | 'accessory';
}

/** What `data-action` holds; the page adds `selected_option` for selects. */
export interface ActionData {
  type: string;
  action_id: string;
  block_id: string;
  position: ElementPosition;
}

/** What `data-confirm` holds. */
export interface ConfirmData {
  title: string;
  /** Rendered HTML of the confirm text (mrkdwn or plain_text), safe to insert as is. */
  text: string;
  confirm: string;
  deny: string;
  style: 'primary' | 'danger';
}

/** Slack's limits on blocks per surface; beyond them it rejects the call, so we say so. */
const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };

/** Slack invents a block_id when the bot gives none; ours must be stable across re-renders. */
export function defaultBlockId(index: number): string {
  return `block_${index}`;
}

export function defaultActionId(elementIndex: number): string {
  return `action_${elementIndex}`;
}

/** The action_id of an element at `at` (an index in an actions block, or `accessory`), Slack's default if it has none. */
export function elementActionId(el: Json, at: number | 'accessory'): string {
  return asString(el.action_id) || defaultActionId(at === 'accessory' ? 0 : at);
}

export function renderBlocks(blocks: unknown[], where: RenderWhere): string {
  if (!Array.isArray(blocks)) return note('malformed blocks: not an array');
  const html = blocks.map((block, index) => renderBlock(block, index, where)).join('');
  const max = MAX_BLOCKS[where.surface];
  return blocks.length > max ? `${html}${note(`${blocks.length} blocks: Slack would reject more than ${max}`)}` : html;
}

export function renderMessage(msg: SandboxMessage): string {
  const isReply = typeof msg.thread_ts === 'string' && msg.thread_ts !== '' && msg.thread_ts !== msg.ts;
  const classes = ['msg', isReply ? 'msg-reply' : '', msg.ephemeral ? 'msg-ephemeral' : ''].filter(Boolean).join(' ');
  const attrs = [
    `class="${classes}"`,
    `data-ts="${escapeHtml(String(msg.ts))}"`,
    `data-channel="${escapeHtml(String(msg.channel))}"`,
    isReply ? `data-thread-ts="${escapeHtml(String(msg.thread_ts))}"` : '',
    typeof msg.user === 'string' ? `data-user="${escapeHtml(msg.user)}"` : '',
  ].filter(Boolean);
  const body =
    Array.isArray(msg.blocks) && msg.blocks.length
      ? renderBlocks(msg.blocks, { surface: 'message' })
      : mrkdwnToHtml(typeof msg.text === 'string' ? msg.text : '');
  return (
    `<article ${attrs.join(' ')}>` +
    '<div class="msg-avatar" aria-hidden="true">C</div>' +
    '<div class="msg-main">' +
    `<div class="msg-meta"><span class="msg-author">cws</span> <span class="badge-app">APP</span> ${renderTime(msg.ts)}` +
    (msg.ephemeral ? ' <span class="msg-ephemeral-note">Only visible to you</span>' : '') +
    '</div>' +
    `<div class="msg-body">${body}</div>` +
    (typeof msg.updates === 'number' && msg.updates > 0 ? '<span class="msg-edited">(edited)</span>' : '') +
    renderReactions(msg.reactions) +
    '</div></article>'
  );
}

export function renderModal(view: SandboxView): string {
  const v = isRecord(view.view) ? view.view : {};
  const id = String(view.id);
  const idPrefix = `v${safeId(id)}-`;
  const blocks = asArray(v.blocks);
  const submit = textOf(v.submit);
  const close = textOf(v.close) ?? 'Cancel';
  const hasInputs = blocks.some((b) => isRecord(b) && b.type === 'input');
  const notes = [
    v.type !== 'modal' ? note(`view type ${JSON.stringify(v.type ?? null)}: only modals are supported`) : '',
    hasInputs && submit === undefined ? note('a modal with input blocks needs a submit button: Slack would reject it') : '',
  ].join('');
  return (
    `<div class="modal" data-view-id="${escapeHtml(id)}" data-testid="modal" role="dialog" aria-modal="true" aria-labelledby="${idPrefix}title">` +
    '<form class="modal-form" novalidate>' +
    `<header class="modal-header"><h2 class="modal-title" id="${idPrefix}title">${plainToHtml(textOf(v.title) ?? 'Modal')}</h2></header>` +
    `<div class="modal-body">${notes}${renderBlocks(blocks, { surface: 'modal', idPrefix })}</div>` +
    '<p class="modal-error" role="alert" hidden></p>' +
    '<footer class="modal-footer">' +
    `<button type="button" class="btn" data-modal-close>${plainToHtml(close)}</button>` +
    (submit !== undefined ? `<button type="submit" class="btn btn-primary" data-modal-submit>${plainToHtml(submit)}</button>` : '') +
    '</footer></form></div>'
  );
}

/**
 * A user's App Home tab as views.publish left it (`data-view-id` its ID, as a click would name
 * it), or what Slack shows before the app published one.
 */
export function renderHomeTab(view: SandboxView | undefined): string {
  if (!view) return '<div class="home" data-testid="home-view"><p class="empty">The app has not published a Home for you yet.</p></div>';
  const v = isRecord(view.view) ? view.view : {};
  const id = String(view.id);
  const notes = v.type !== 'home' ? note(`view type ${JSON.stringify(v.type ?? null)}: a Home tab must be "home"`) : '';
  return (
    `<div class="home" data-view-id="${escapeHtml(id)}" data-testid="home-view">` +
    `${notes}${renderBlocks(asArray(v.blocks), { surface: 'home', idPrefix: `h${safeId(id)}-` })}</div>`
  );
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface BlockCtx {
  blockId: string;
  index: number;
  where: RenderWhere;
}

function renderBlock(block: unknown, index: number, where: RenderWhere): string {
  if (!isRecord(block)) return note(`malformed block #${index}: not an object`);
  const type = asString(block.type);
  const ctx: BlockCtx = { blockId: asString(block.block_id) || defaultBlockId(index), index, where };
  switch (type) {
    case 'header':
      return renderHeader(block, ctx);
    case 'section':
      return renderSection(block, ctx);
    case 'context':
      return renderContext(block, ctx);
    case 'divider':
      return `<hr class="blk blk-divider"${blockIdAttr(ctx)}>`;
    case 'actions':
      return renderActions(block, ctx);
    case 'input':
      return where.surface === 'modal' ? renderInputBlock(block, ctx) : note('input block: only rendered in modals');
    case 'rich_text':
      return `<div class="blk blk-rich-text"${blockIdAttr(ctx)}>${richText(block.elements)}</div>`;
    default:
      return note(`unsupported block: ${type ?? JSON.stringify(block.type ?? null)}`);
  }
}

function renderHeader(block: Json, ctx: BlockCtx): string {
  const text = textOf(block.text);
  if (text === undefined) return note('malformed header: no text');
  return `<h3 class="blk blk-header"${blockIdAttr(ctx)}>${plainToHtml(text)}</h3>`;
}

function renderSection(block: Json, ctx: BlockCtx): string {
  const text = isTextObject(block.text) ? `<div class="section-text">${textToHtml(block.text)}</div>` : '';
  const fields = asArray(block.fields).filter(isTextObject);
  const fieldsHtml = fields.length
    ? `<div class="section-fields">${fields.map((f) => `<div class="section-field">${textToHtml(f)}</div>`).join('')}</div>`
    : '';
  const accessory = block.accessory === undefined ? '' : `<div class="section-accessory">${renderElement(block.accessory, ctx, 'accessory')}</div>`;
  if (!text && !fieldsHtml && !accessory) return note('malformed section: no text, fields or accessory');
  return `<div class="blk blk-section"${blockIdAttr(ctx)}><div class="section-main">${text}${fieldsHtml}</div>${accessory}</div>`;
}

function renderContext(block: Json, ctx: BlockCtx): string {
  const parts = asArray(block.elements).map((el) => {
    if (isTextObject(el)) return `<span class="ctx-el">${textToHtml(el)}</span>`;
    // Images are shown by their alt text: the page loads nothing from the network.
    if (isRecord(el) && el.type === 'image') return `<span class="ctx-el ctx-img" title="image">[${plainToHtml(asString(el.alt_text) ?? 'image')}]</span>`;
    return note('unsupported context element');
  });
  if (!parts.length) return note('malformed context: no elements');
  return `<div class="blk blk-context"${blockIdAttr(ctx)}>${parts.join('')}</div>`;
}

function renderActions(block: Json, ctx: BlockCtx): string {
  const elements = asArray(block.elements);
  if (!elements.length) return note('malformed actions: no elements');
  return `<div class="blk blk-actions"${blockIdAttr(ctx)}>${elements.map((el, i) => renderElement(el, ctx, i)).join('')}</div>`;
}

function renderInputBlock(block: Json, ctx: BlockCtx): string {
  const label = textOf(block.label);
  const el = block.element;
  if (label === undefined || !isRecord(el)) return note('malformed input: needs a label and an element');
  const optional = block.optional === true;
  const inputId = `${ctx.where.idPrefix ? safeId(ctx.where.idPrefix) : ''}in-${ctx.index}`;
  const hint = textOf(block.hint);
  const input = renderInputElement(el, ctx, { inputId, optional, describedBy: hint === undefined ? undefined : `${inputId}-hint` });
  return (
    `<div class="blk blk-input"${blockIdAttr(ctx)}>` +
    `<label class="input-label" for="${inputId}">${plainToHtml(label)}${optional ? '<span class="input-optional"> (optional)</span>' : ''}</label>` +
    input +
    (hint === undefined ? '' : `<div class="input-hint" id="${inputId}-hint">${plainToHtml(hint)}</div>`) +
    `<div class="input-error" role="alert" data-error-for="${escapeHtml(ctx.blockId)}" hidden></div>` +
    '</div>'
  );
}

function richText(elements: unknown): string {
  const sections = asArray(elements).map((section) => (isRecord(section) ? richTextSection(section) : ''));
  return sections.filter(Boolean).join('<br>');
}

/** Text only: styles, lists and quotes of rich_text are flattened. */
function richTextSection(section: Json): string {
  if (section.type === 'rich_text_list') return richText(section.elements);
  const pieces = asArray(section.elements).map((el) => {
    if (!isRecord(el)) return '';
    switch (el.type) {
      case 'text':
        return plainToHtml(asString(el.text) ?? '');
      case 'link':
        return plainToHtml(asString(el.text) || asString(el.url) || '');
      case 'emoji':
        return replaceEmoji(`:${escapeHtml(asString(el.name) ?? '')}:`);
      case 'user':
        return `<span class="mention">@${escapeHtml(asString(el.user_id) ?? '')}</span>`;
      case 'channel':
        return `<span class="mention">#${escapeHtml(asString(el.channel_id) ?? '')}</span>`;
      case 'broadcast':
        return `<span class="mention">@${escapeHtml(asString(el.range) ?? '')}</span>`;
      default:
        return Array.isArray(el.elements) ? richTextSection(el) : '';
    }
  });
  const html = pieces.join('');
  return section.type === 'rich_text_preformatted' ? `<pre>${html}</pre>` : html;
}

// ---------------------------------------------------------------------------------------------
// Interactive elements

/** `at` is the element's index in its actions block, or `accessory`. */
function renderElement(el: unknown, ctx: BlockCtx, at: number | 'accessory'): string {
  const where = at === 'accessory' ? 'accessory' : 'actions';
  if (!isRecord(el)) return note(`malformed ${where} element: not an object`);
  const action = (type: string): ActionData => ({
    type,
    action_id: elementActionId(el, at),
    block_id: ctx.blockId,
    position: { block: ctx.index, element: at },
  });
  switch (el.type) {
    case 'button':
      return renderButton(el, action('button'));
    case 'static_select':
      return renderActionSelect(el, action('static_select'), 'static_select');
    case 'overflow':
      return renderActionSelect(el, action('overflow'), 'overflow');
    case 'image':
      return where === 'accessory' ? `<span class="ctx-img">[${plainToHtml(asString(el.alt_text) ?? 'image')}]</span>` : note('unsupported element: image');
    default:
      return note(`unsupported element: ${asString(el.type) ?? 'unknown'}`);
  }
}

function renderButton(el: Json, action: ActionData): string {
  const label = textOf(el.text);
  if (label === undefined) return note('malformed button: no text');
  const style = el.style === 'primary' || el.style === 'danger' ? ` btn-${el.style}` : '';
  const url = asString(el.url);
  const confirm = confirmData(el.confirm);
  const attrs = [
    'type="button"',
    `class="btn${style}"`,
    `data-action="${jsonAttr(action)}"`,
    confirm ? `data-confirm="${jsonAttr(confirm)}"` : '',
    url !== undefined && /^https?:\/\//i.test(url) ? `data-url="${escapeHtml(url)}"` : '',
  ].filter(Boolean);
  return `<button ${attrs.join(' ')}>${plainToHtml(label)}</button>`;
}

/** A select in a message (or an actions block of a modal): the page sends its action on change. */
function renderActionSelect(el: Json, action: ActionData, type: 'static_select' | 'overflow'): string {
  const confirm = confirmData(el.confirm);
  const placeholder = type === 'overflow' ? '⋯' : (textOf(el.placeholder) ?? 'Select an option');
  const label = type === 'overflow' ? 'More actions' : placeholder;
  const attrs = [
    `class="select select-${type === 'overflow' ? 'overflow' : 'static'}"`,
    `aria-label="${escapeHtml(replaceEmoji(label))}"`,
    `data-action="${jsonAttr(action)}"`,
    confirm ? `data-confirm="${jsonAttr(confirm)}"` : '',
  ].filter(Boolean);
  return `<select ${attrs.join(' ')}>${selectOptions(el, placeholder, type === 'overflow' ? undefined : initialValue(el))}</select>`;
}

interface InputOpts {
  inputId: string;
  optional: boolean;
  describedBy: string | undefined;
}

/** An input of a modal: never sent on change, collected into `view.state.values` on submit. */
function renderInputElement(el: Json, ctx: BlockCtx, opts: InputOpts): string {
  const type = asString(el.type) ?? 'unknown';
  const actionId = asString(el.action_id) || defaultActionId(0);
  const common = [
    `id="${opts.inputId}"`,
    `data-block-id="${escapeHtml(ctx.blockId)}"`,
    `data-action-id="${escapeHtml(actionId)}"`,
    `data-type="${escapeHtml(type)}"`,
    opts.optional ? '' : 'data-required',
    opts.describedBy ? `aria-describedby="${opts.describedBy}"` : '',
  ].filter(Boolean);
  const placeholder = textOf(el.placeholder);
  const placeholderAttr = placeholder === undefined ? '' : ` placeholder="${escapeHtml(placeholder)}"`;
  const maxLength = typeof el.max_length === 'number' && Number.isInteger(el.max_length) && el.max_length > 0 ? ` maxlength="${el.max_length}"` : '';
  const initial = asString(el.initial_value) ?? '';
  switch (type) {
    case 'plain_text_input':
      if (el.multiline === true) return `<textarea class="input" rows="4" ${common.join(' ')}${placeholderAttr}${maxLength}>${escapeHtml(initial)}</textarea>`;
      return `<input class="input" type="text" ${common.join(' ')} value="${escapeHtml(initial)}"${placeholderAttr}${maxLength}>`;
    case 'email_text_input':
      return `<input class="input" type="email" ${common.join(' ')} value="${escapeHtml(initial)}"${placeholderAttr}>`;
    case 'url_text_input':
      return `<input class="input" type="url" ${common.join(' ')} value="${escapeHtml(initial)}"${placeholderAttr}>`;
    case 'number_input':
      return `<input class="input" type="text" inputmode="decimal" ${common.join(' ')} value="${escapeHtml(asString(el.initial_value) ?? '')}"${placeholderAttr}>`;
    case 'static_select':
      return `<select class="select select-static" ${common.join(' ')}>${selectOptions(el, placeholder ?? 'Select an option', initialValue(el))}</select>`;
    default:
      return note(`unsupported input element: ${type}`);
  }
}

function initialValue(el: Json): string | undefined {
  return isRecord(el.initial_option) ? asString(el.initial_option.value) : undefined;
}

/** The placeholder comes first, disabled, so nothing is selected until the user picks. */
function selectOptions(el: Json, placeholder: string, initial: string | undefined): string {
  const groups = asArray(el.option_groups).filter(isRecord);
  const sets = groups.length
    ? groups.map((g) => ({ label: textOf(g.label), options: validOptions(g.options) }))
    : [{ label: undefined, options: validOptions(el.options) }];
  const selected = sets.some((s) => s.options.some((o) => o.value === initial)) ? initial : undefined;
  const body = sets.map((s) => {
    const options = s.options.map((o) => renderOption(o, o.value === selected)).join('');
    return groups.length ? `<optgroup label="${escapeHtml(replaceEmoji(s.label ?? ''))}">${options}</optgroup>` : options;
  });
  return `<option value="" disabled hidden${selected === undefined ? ' selected' : ''}>${escapeHtml(replaceEmoji(placeholder))}</option>${body.join('')}`;
}

/** Options without a string value or a text object are skipped. */
function validOptions(options: unknown): { value: string; text: string }[] {
  return asArray(options).flatMap((o) => {
    if (!isRecord(o)) return [];
    const value = asString(o.value);
    const text = textOf(o.text);
    return value === undefined || text === undefined ? [] : [{ value, text }];
  });
}

function renderOption(o: { value: string; text: string }, selected: boolean): string {
  return `<option value="${escapeHtml(o.value)}" data-text="${escapeHtml(o.text)}"${selected ? ' selected' : ''}>${escapeHtml(replaceEmoji(o.text))}</option>`;
}

function confirmData(c: unknown): ConfirmData | undefined {
  if (!isRecord(c)) return undefined;
  return {
    title: replaceEmoji(textOf(c.title) ?? 'Are you sure?'),
    text: isTextObject(c.text) ? textToHtml(c.text) : '',
    confirm: replaceEmoji(textOf(c.confirm) ?? 'Yes'),
    deny: replaceEmoji(textOf(c.deny) ?? 'Cancel'),
    style: c.style === 'danger' ? 'danger' : 'primary',
  };
}

// ---------------------------------------------------------------------------------------------
// Message parts

function renderTime(ts: string): string {
  const seconds = Number(ts);
  if (!Number.isFinite(seconds) || seconds <= 0) return '';
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return '';
  const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return `<time class="msg-time" datetime="${d.toISOString()}">${hhmm}</time>`;
}

/** Reaction names as Slack's reactions.add takes them (no colons); repeats are counted. */
function renderReactions(reactions: unknown): string {
  const counts = new Map<string, number>();
  for (const r of asArray(reactions)) {
    if (typeof r !== 'string' || !r) continue;
    const name = r.replace(/^:|:$/g, '');
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  if (!counts.size) return '';
  const items = [...counts].map(
    ([name, n]) =>
      `<span class="reaction" title=":${escapeHtml(name)}:">${replaceEmoji(`:${escapeHtml(name)}:`)} <span class="reaction-count">${n}</span></span>`,
  );
  return `<div class="reactions">${items.join('')}</div>`;
}

// ---------------------------------------------------------------------------------------------
// Small shape helpers

function isTextObject(v: unknown): v is { type: 'mrkdwn' | 'plain_text'; text: string } {
  return isRecord(v) && (v.type === 'mrkdwn' || v.type === 'plain_text') && typeof v.text === 'string';
}

/** The raw text of a text object, whatever its type. */
function textOf(v: unknown): string | undefined {
  return isTextObject(v) ? v.text : undefined;
}

function textToHtml(v: { type: 'mrkdwn' | 'plain_text'; text: string }): string {
  return v.type === 'mrkdwn' ? mrkdwnToHtml(v.text) : plainToHtml(v.text);
}

function blockIdAttr(ctx: BlockCtx): string {
  return ` data-block-id="${escapeHtml(ctx.blockId)}"`;
}

function jsonAttr(v: unknown): string {
  return escapeHtml(JSON.stringify(v));
}

function note(message: string): string {
  return `<div class="blk-note">${escapeHtml(message)}</div>`;
}

function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
