/**
 * Block Kit as Slack validates it: what `chat.postMessage` / `chat.update` / `chat.postEphemeral`,
 * a response_url and `views.open` / `views.update` / `views.push` refuse, with Slack's error code
 * and its `response_metadata.messages` (`[ERROR] <what> [json-pointer:/blocks/3/text/text]`).
 *
 * Pure: no I/O, no node:* imports, so any test can pass a message through it.
 *
 *   const refusal = validateMessage({ text, blocks, metadata });
 *   if (refusal) throw new Error(`${refusal.error}: ${refusal.messages.join('; ')}`);
 *
 * Which texts and figures are Slack's (seen in Slack's answers) and which are our model of what
 * it does not publish: src/sandbox/README.md. Lengths count Unicode code points.
 */

export interface SlackRefusal {
  /** Slack's error code, e.g. `invalid_blocks`. */
  error: string;
  /** As in `response_metadata.messages`: `[ERROR] <what> [json-pointer:<where>]`. */
  messages: string[];
}

export interface MessageArgs {
  text?: unknown;
  blocks?: unknown;
  metadata?: unknown;
  attachments?: unknown;
  [key: string]: unknown;
}

export const BLOCK_KIT_LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  blockId: 255,
  actionId: 255,
  /** `text` of a message (beyond it Slack answers msg_too_long). */
  messageText: 40_000,
  /** Our model of `msg_blocks_too_long`: characters of text in all blocks together. */
  blocksText: 12_000,
  /** Any text object without a smaller limit of its own. */
  text: 3_000,
  sectionText: 3_000,
  sectionFields: 10,
  fieldText: 2_000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2_000,
  url: 3_000,
  accessibilityLabel: 75,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  selectOptions: 100,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  placeholder: 150,
  overflowOptions: 5,
  inputLabel: 2_000,
  inputHint: 2_000,
  inputValue: 3_000,
  altText: 2_000,
  imageTitle: 2_000,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3_000,
  callbackId: 255,
  externalId: 255,
} as const;

const L = BLOCK_KIT_LIMITS;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Characters as Slack counts them (code points, not UTF-16 units). */
const chars = (s: string): number => {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
};

type Surface = 'message' | 'modal';

/** Blocks Slack has; the ones without rules of their own here are only checked for `block_id`. */
const BLOCK_TYPES = new Set(['actions', 'context', 'divider', 'header', 'image', 'input', 'rich_text', 'section', 'markdown', 'file', 'video', 'table']);
/** Elements we check in detail. */
const MODELLED_ELEMENTS = new Set(['button', 'static_select', 'overflow', 'image', 'plain_text_input', 'email_text_input', 'url_text_input', 'number_input']);
const SELECTS = ['static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select'];
const MULTI_SELECTS = SELECTS.map((s) => `multi_${s}`);
/** Where Slack takes each element (docs: "Works with block types"). */
const ELEMENTS_IN: Record<'actions' | 'accessory' | 'input', Set<string>> = {
  actions: new Set([
    'button',
    'checkboxes',
    'datepicker',
    'datetimepicker',
    'overflow',
    'radio_buttons',
    'timepicker',
    'workflow_button',
    'rich_text_input',
    ...SELECTS,
    ...MULTI_SELECTS,
  ]),
  accessory: new Set([
    'button',
    'checkboxes',
    'datepicker',
    'image',
    'overflow',
    'radio_buttons',
    'timepicker',
    'workflow_button',
    ...SELECTS,
    ...MULTI_SELECTS,
  ]),
  input: new Set([
    'checkboxes',
    'datepicker',
    'datetimepicker',
    'email_text_input',
    'file_input',
    'number_input',
    'plain_text_input',
    'radio_buttons',
    'rich_text_input',
    'timepicker',
    'url_text_input',
    ...SELECTS,
    ...MULTI_SELECTS,
  ]),
};
const STYLES = ['primary', 'danger'];
const RICH_TEXT_PARTS = new Set(['rich_text_section', 'rich_text_list', 'rich_text_preformatted', 'rich_text_quote']);

/** Collects Slack's messages; `ptr` is always the JSON pointer of the value being checked. */
class Checker {
  readonly errors: string[] = [];

  err(what: string, ptr: string): void {
    this.errors.push(`[ERROR] ${what} [json-pointer:${ptr}]`);
  }

  /** Runs `fn`; if it found anything, Slack first says the union at `ptr` matched none of its schemas. */
  union(ptr: string, fn: () => void): void {
    const before = this.errors.length;
    fn();
    if (this.errors.length > before) this.errors.splice(before, 0, `[ERROR] failed to match all allowed schemas [json-pointer:${ptr}]`);
  }

  /** A string field of `obj` (at `ptr`): present when required, a string, 1..max (or 0..max) characters. */
  string(obj: Json, key: string, ptr: string, o: { max: number; required?: boolean; min?: 0 | 1 }): string | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (o.required) this.err(`missing required field: ${key}`, ptr);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.err('must provide a string', `${ptr}/${key}`);
      return undefined;
    }
    const n = chars(v);
    if ((o.min ?? 1) === 1 && n === 0) this.err('must be more than 0 characters', `${ptr}/${key}`);
    else if (n > o.max) this.err(`must be less than ${o.max + 1} characters`, `${ptr}/${key}`);
    return v;
  }

  boolean(obj: Json, key: string, ptr: string, required = false): void {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.err(`missing required field: ${key}`, ptr);
    } else if (typeof v !== 'boolean') this.err('must provide a boolean', `${ptr}/${key}`);
  }

  enumOf(obj: Json, key: string, ptr: string, allowed: string[]): void {
    const v = obj[key];
    if (v === undefined) return;
    if (typeof v !== 'string') this.err('must provide a string', `${ptr}/${key}`);
    else if (!allowed.includes(v)) this.err(`must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`, `${ptr}/${key}`);
  }

  array(obj: Json, key: string, ptr: string, o: { min?: number; max: number; required?: boolean }): unknown[] | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (o.required) this.err(`missing required field: ${key}`, ptr);
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.err('must provide an array', `${ptr}/${key}`);
      return undefined;
    }
    if (v.length < (o.min ?? 0)) this.err(`no fewer than ${o.min} items allowed`, `${ptr}/${key}`);
    else if (v.length > o.max) this.err(`no more than ${o.max} items allowed`, `${ptr}/${key}`);
    return v;
  }

  object(obj: Json, key: string, ptr: string, required = false): Json | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.err(`missing required field: ${key}`, ptr);
      return undefined;
    }
    if (!isRecord(v)) {
      this.err('must provide an object', `${ptr}/${key}`);
      return undefined;
    }
    return v;
  }

  /**
   * A text object at `obj[key]`. `plain`: Slack takes plain_text only there; otherwise plain_text
   * or mrkdwn, a union: its failures come after "failed to match all allowed schemas".
   */
  text(obj: Json, key: string, ptr: string, o: { max: number; plain?: boolean; required?: boolean }): void {
    const v = obj[key];
    const at = `${ptr}/${key}`;
    if (v === undefined) {
      if (o.required) this.err(`missing required field: ${key}`, ptr);
      return;
    }
    const check = (): void => this.textObject(v, at, o.max, o.plain ? ['plain_text'] : ['plain_text', 'mrkdwn']);
    if (o.plain) check();
    else this.union(at, check);
  }

  textObject(v: unknown, at: string, max: number, types: string[]): void {
    if (!isRecord(v)) {
      this.err('must provide an object', at);
      return;
    }
    if (v.type === undefined) this.err('missing required field: type', at);
    else if (typeof v.type !== 'string') this.err('must provide a string', `${at}/type`);
    else if (!types.includes(v.type)) this.err(`unsupported type: ${v.type}`, `${at}/type`);
    this.string(v, 'text', at, { max, required: true });
    this.boolean(v, 'emoji', at);
    this.boolean(v, 'verbatim', at);
  }
}

/** What one message or view holds across its blocks: ids seen so far. */
interface Scope {
  surface: Surface;
  blockIds: Set<string>;
}

function checkBlocks(c: Checker, blocks: unknown[], base: string, scope: Scope): void {
  blocks.forEach((b, i) => checkBlock(c, b, `${base}/${i}`, scope));
}

function checkBlock(c: Checker, b: unknown, ptr: string, scope: Scope): void {
  if (!isRecord(b)) {
    c.err('must provide an object', ptr);
    return;
  }
  if (b.type === undefined) {
    c.err('missing required field: type', ptr);
    return;
  }
  if (typeof b.type !== 'string') {
    c.err('must provide a string', `${ptr}/type`);
    return;
  }
  if (!BLOCK_TYPES.has(b.type)) {
    c.err(`unsupported type: ${b.type}`, `${ptr}/type`);
    return;
  }
  const blockId = c.string(b, 'block_id', ptr, { max: L.blockId });
  if (blockId !== undefined && blockId !== '') {
    if (scope.blockIds.has(blockId)) c.err(`\`block_id\` "${blockId}" already exists`, `${ptr}/block_id`);
    scope.blockIds.add(blockId);
  }
  const actionIds = new Set<string>();
  switch (b.type) {
    case 'header':
      c.text(b, 'text', ptr, { max: L.headerText, plain: true, required: true });
      break;
    case 'divider':
      break;
    case 'section': {
      c.text(b, 'text', ptr, { max: L.sectionText });
      const fields = c.array(b, 'fields', ptr, { min: 1, max: L.sectionFields });
      fields?.forEach((f, j) => c.union(`${ptr}/fields/${j}`, () => c.textObject(f, `${ptr}/fields/${j}`, L.fieldText, ['plain_text', 'mrkdwn'])));
      if (b.text === undefined && b.fields === undefined) c.err('must define either `text` or `fields`', `${ptr}/type`);
      const accessory = c.object(b, 'accessory', ptr);
      if (accessory) checkElement(c, accessory, `${ptr}/accessory`, 'accessory', actionIds);
      break;
    }
    case 'context': {
      const elements = c.array(b, 'elements', ptr, { min: 1, max: L.contextElements, required: true });
      elements?.forEach((el, j) => {
        const at = `${ptr}/elements/${j}`;
        if (isRecord(el) && el.type === 'image') checkImage(c, el, at);
        else c.union(at, () => c.textObject(el, at, L.text, ['plain_text', 'mrkdwn']));
      });
      break;
    }
    case 'actions': {
      const elements = c.array(b, 'elements', ptr, { min: 1, max: L.actionsElements, required: true });
      elements?.forEach((el, j) => checkElement(c, el, `${ptr}/elements/${j}`, 'actions', actionIds));
      break;
    }
    case 'input': {
      c.text(b, 'label', ptr, { max: L.inputLabel, plain: true, required: true });
      c.text(b, 'hint', ptr, { max: L.inputHint, plain: true });
      c.boolean(b, 'optional', ptr);
      c.boolean(b, 'dispatch_action', ptr);
      const element = c.object(b, 'element', ptr, true);
      if (element) checkElement(c, element, `${ptr}/element`, 'input', actionIds);
      break;
    }
    case 'image':
      checkImage(c, b, ptr);
      c.text(b, 'title', ptr, { max: L.imageTitle, plain: true });
      break;
    case 'rich_text': {
      const elements = c.array(b, 'elements', ptr, { max: Infinity, required: true });
      elements?.forEach((el, j) => {
        const at = `${ptr}/elements/${j}`;
        if (!isRecord(el)) c.err('must provide an object', at);
        else if (typeof el.type !== 'string' || !RICH_TEXT_PARTS.has(el.type)) c.err(`unsupported type: ${String(el.type)}`, `${at}/type`);
        else c.array(el, 'elements', at, { max: Infinity, required: true });
      });
      break;
    }
    case 'markdown':
      c.string(b, 'text', ptr, { max: 12_000, required: true });
      break;
    default:
      // file, video, table: Slack has them, we have no rules for them (the bot sends none).
      break;
  }
}

function checkImage(c: Checker, el: Json, ptr: string): void {
  if (el.image_url === undefined && el.slack_file === undefined) c.err('missing required field: image_url', ptr);
  c.string(el, 'image_url', ptr, { max: L.url });
  c.object(el, 'slack_file', ptr);
  c.string(el, 'alt_text', ptr, { max: L.altText, required: true });
}

function checkActionId(c: Checker, el: Json, ptr: string, actionIds: Set<string>): void {
  const id = c.string(el, 'action_id', ptr, { max: L.actionId });
  if (id === undefined || id === '') return;
  if (actionIds.has(id)) c.err(`\`action_id\` "${id}" already exists`, `${ptr}/action_id`);
  actionIds.add(id);
}

function checkElement(c: Checker, el: unknown, ptr: string, where: keyof typeof ELEMENTS_IN, actionIds: Set<string>): void {
  if (!isRecord(el)) {
    c.err('must provide an object', ptr);
    return;
  }
  if (el.type === undefined) {
    c.err('missing required field: type', ptr);
    return;
  }
  if (typeof el.type !== 'string') {
    c.err('must provide a string', `${ptr}/type`);
    return;
  }
  if (!ELEMENTS_IN[where].has(el.type)) {
    c.err(`unsupported type: ${el.type}`, `${ptr}/type`);
    return;
  }
  if (el.type !== 'image') checkActionId(c, el, ptr, actionIds);
  if (!MODELLED_ELEMENTS.has(el.type)) return;
  switch (el.type) {
    case 'button':
      c.text(el, 'text', ptr, { max: L.buttonText, plain: true, required: true });
      c.string(el, 'value', ptr, { max: L.buttonValue, min: 0 });
      c.string(el, 'url', ptr, { max: L.url });
      c.enumOf(el, 'style', ptr, STYLES);
      c.string(el, 'accessibility_label', ptr, { max: L.accessibilityLabel });
      checkConfirm(c, el, ptr);
      break;
    case 'static_select': {
      c.text(el, 'placeholder', ptr, { max: L.placeholder, plain: true });
      if (el.options === undefined && el.option_groups === undefined) c.err('missing required field: options', ptr);
      const options = c.array(el, 'options', ptr, { min: 1, max: L.selectOptions });
      options?.forEach((o, j) => checkOption(c, o, `${ptr}/options/${j}`));
      const groups = c.array(el, 'option_groups', ptr, { min: 1, max: L.selectOptions });
      groups?.forEach((g, j) => {
        const at = `${ptr}/option_groups/${j}`;
        if (!isRecord(g)) return c.err('must provide an object', at);
        c.text(g, 'label', at, { max: L.optionText, plain: true, required: true });
        c.array(g, 'options', at, { min: 1, max: L.selectOptions, required: true })?.forEach((o, k) => checkOption(c, o, `${at}/options/${k}`));
      });
      const initial = c.object(el, 'initial_option', ptr);
      if (initial) checkOption(c, initial, `${ptr}/initial_option`);
      checkConfirm(c, el, ptr);
      break;
    }
    case 'overflow': {
      const options = c.array(el, 'options', ptr, { min: 1, max: L.overflowOptions, required: true });
      options?.forEach((o, j) => checkOption(c, o, `${ptr}/options/${j}`, true));
      checkConfirm(c, el, ptr);
      break;
    }
    case 'image':
      checkImage(c, el, ptr);
      break;
    case 'number_input':
      c.boolean(el, 'is_decimal_allowed', ptr, true);
      c.text(el, 'placeholder', ptr, { max: L.placeholder, plain: true });
      c.string(el, 'initial_value', ptr, { max: L.inputValue, min: 0 });
      break;
    default:
      // plain_text_input, email_text_input, url_text_input
      c.text(el, 'placeholder', ptr, { max: L.placeholder, plain: true });
      c.string(el, 'initial_value', ptr, { max: L.inputValue, min: 0 });
      c.boolean(el, 'multiline', ptr);
      break;
  }
}

function checkOption(c: Checker, o: unknown, ptr: string, withUrl = false): void {
  if (!isRecord(o)) {
    c.err('must provide an object', ptr);
    return;
  }
  c.text(o, 'text', ptr, { max: L.optionText, plain: true, required: true });
  c.string(o, 'value', ptr, { max: L.optionValue, required: true });
  c.text(o, 'description', ptr, { max: L.optionDescription, plain: true });
  if (withUrl) c.string(o, 'url', ptr, { max: L.url });
}

function checkConfirm(c: Checker, el: Json, ptr: string): void {
  const confirm = c.object(el, 'confirm', ptr);
  if (!confirm) return;
  const at = `${ptr}/confirm`;
  c.text(confirm, 'title', at, { max: L.confirmTitle, plain: true, required: true });
  c.text(confirm, 'text', at, { max: L.confirmText, required: true });
  c.text(confirm, 'confirm', at, { max: L.confirmButton, plain: true, required: true });
  c.text(confirm, 'deny', at, { max: L.confirmButton, plain: true, required: true });
  c.enumOf(confirm, 'style', at, STYLES);
}

/** Characters of text in a tree of blocks: every string under a `text` key (text objects, rich_text runs). */
export function blocksTextLength(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + blocksTextLength(x), 0);
  if (!isRecord(v)) return 0;
  let n = 0;
  for (const [k, x] of Object.entries(v)) n += k === 'text' && typeof x === 'string' ? chars(x) : blocksTextLength(x);
  return n;
}

/** Block Kit errors of a blocks array (no `error` code): the messages, empty when valid. */
export function blockErrors(blocks: unknown, surface: Surface = 'message', base = '/blocks'): string[] {
  const c = new Checker();
  if (!Array.isArray(blocks)) {
    c.err('must provide an array', base);
    return c.errors;
  }
  const max = surface === 'modal' ? L.viewBlocks : L.messageBlocks;
  if (blocks.length > max) c.err(`no more than ${max} items allowed`, base);
  else checkBlocks(c, blocks, base, { surface, blockIds: new Set() });
  return c.errors;
}

/**
 * A message as chat.postMessage / chat.update / chat.postEphemeral / a response_url takes it.
 * `requireContent` (default true): a new message needs text, blocks or attachments (`no_text`);
 * chat.update may change the metadata alone.
 */
export function validateMessage(args: MessageArgs, opts: { requireContent?: boolean } = {}): SlackRefusal | undefined {
  const { blocks, text, metadata } = args;
  if (blocks !== undefined) {
    // A form field that was not JSON arrives as a string: Slack cannot parse it at all.
    if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format', messages: ['[ERROR] must provide an array [json-pointer:/blocks]'] };
    const messages = blockErrors(blocks, 'message');
    if (messages.length) return { error: 'invalid_blocks', messages };
  }
  if (text !== undefined && typeof text !== 'string') return { error: 'invalid_arguments', messages: ['[ERROR] must provide a string [json-pointer:/text]'] };
  if (typeof text === 'string' && chars(text) > L.messageText) return { error: 'msg_too_long', messages: [] };
  if (Array.isArray(blocks) && blocksTextLength(blocks) > L.blocksText) return { error: 'msg_blocks_too_long', messages: [] };
  if (metadata !== undefined) {
    const messages = metadataErrors(metadata);
    if (messages.length) return { error: 'invalid_metadata_format', messages };
  }
  if (opts.requireContent !== false) {
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
    if (!text && !hasBlocks && !hasAttachments) return { error: 'no_text', messages: [] };
  }
  return undefined;
}

function metadataErrors(metadata: unknown): string[] {
  const c = new Checker();
  if (!isRecord(metadata)) {
    c.err('must provide an object', '/metadata');
    return c.errors;
  }
  c.string(metadata, 'event_type', '/metadata', { max: 255, required: true });
  c.object(metadata, 'event_payload', '/metadata', true);
  return c.errors;
}

/** A modal as views.open / views.update / views.push take it: `invalid_arguments` when refused. */
export function validateView(view: unknown): SlackRefusal | undefined {
  const c = new Checker();
  c.union('/view', () => {
    if (!isRecord(view)) {
      c.err('must provide an object', '/view');
      return;
    }
    const p = '/view';
    if (view.type === undefined) c.err('missing required field: type', p);
    else if (view.type !== 'modal') c.err(`unsupported type: ${String(view.type)}`, `${p}/type`);
    c.text(view, 'title', p, { max: L.viewTitle, plain: true, required: true });
    c.text(view, 'submit', p, { max: L.viewButton, plain: true });
    c.text(view, 'close', p, { max: L.viewButton, plain: true });
    c.string(view, 'private_metadata', p, { max: L.privateMetadata, min: 0 });
    c.string(view, 'callback_id', p, { max: L.callbackId, min: 0 });
    c.string(view, 'external_id', p, { max: L.externalId });
    c.boolean(view, 'clear_on_close', p);
    c.boolean(view, 'notify_on_close', p);
    const blocks = c.array(view, 'blocks', p, { max: L.viewBlocks, required: true });
    if (blocks && blocks.length <= L.viewBlocks) {
      checkBlocks(c, blocks, `${p}/blocks`, { surface: 'modal', blockIds: new Set() });
      if (view.submit === undefined && blocks.some((b) => isRecord(b) && b.type === 'input')) c.err('missing required field: submit', p);
    }
  });
  return c.errors.length ? { error: 'invalid_arguments', messages: c.errors } : undefined;
}

/** Throws with Slack's answer when Slack would refuse the message: for tests of builders. */
export function assertSlackAccepts(message: MessageArgs, what = 'message'): void {
  const refusal = validateMessage(message);
  if (refusal) throw new Error(`Slack would refuse this ${what}: ${refusal.error}${refusal.messages.length ? `\n${refusal.messages.join('\n')}` : ''}`);
}

/** Throws with Slack's answer when Slack would refuse the view. */
export function assertSlackAcceptsView(view: unknown, what = 'view'): void {
  const refusal = validateView(view);
  if (refusal) throw new Error(`Slack would refuse this ${what}: ${refusal.error}\n${refusal.messages.join('\n')}`);
}
