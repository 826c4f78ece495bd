/**
 * The messages the bot's builders return: text (the notification and fallback line), Block Kit
 * blocks and message metadata. The Block Kit types are the subset the builders use, written
 * here so the pure core depends on no Slack package (Slack's own rules on lengths and counts are
 * checked by the emulator's validator, `src/sandbox/block-kit.ts`).
 */

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface ChatMessage {
  text: string;
  blocks?: Block[];
  metadata?: MessageMetadata;
}

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

export type TextObject = PlainText | Mrkdwn;
export type Style = 'primary' | 'danger';

export interface ConfirmDialog {
  title: PlainText;
  text: TextObject;
  confirm: PlainText;
  deny: PlainText;
  style?: Style;
}

export interface Button {
  type: 'button';
  action_id: string;
  text: PlainText;
  value?: string;
  url?: string;
  style?: Style;
  confirm?: ConfirmDialog;
}

export interface OptionObject {
  text: PlainText;
  value: string;
  description?: PlainText;
}

export interface StaticSelect {
  type: 'static_select';
  action_id: string;
  placeholder?: PlainText;
  options: OptionObject[];
  initial_option?: OptionObject;
  confirm?: ConfirmDialog;
}

export interface Overflow {
  type: 'overflow';
  action_id: string;
  options: OptionObject[];
  confirm?: ConfirmDialog;
}

export interface PlainTextInput {
  type: 'plain_text_input';
  action_id: string;
  placeholder?: PlainText;
  initial_value?: string;
  multiline?: boolean;
  min_length?: number;
  max_length?: number;
}

export interface EmailTextInput {
  type: 'email_text_input';
  action_id: string;
  placeholder?: PlainText;
  initial_value?: string;
}

export interface HeaderBlock {
  type: 'header';
  block_id?: string;
  text: PlainText;
}

export interface SectionBlock {
  type: 'section';
  block_id?: string;
  text?: TextObject;
  fields?: TextObject[];
  accessory?: Button | StaticSelect | Overflow;
}

export interface ContextBlock {
  type: 'context';
  block_id?: string;
  elements: TextObject[];
}

export interface DividerBlock {
  type: 'divider';
  block_id?: string;
}

export interface ActionsBlock {
  type: 'actions';
  block_id?: string;
  elements: (Button | StaticSelect | Overflow)[];
}

export interface InputBlock {
  type: 'input';
  block_id?: string;
  label: PlainText;
  element: PlainTextInput | EmailTextInput | StaticSelect;
  hint?: PlainText;
  optional?: boolean;
}

export type Block = HeaderBlock | SectionBlock | ContextBlock | DividerBlock | ActionsBlock | InputBlock;

/** A modal, as views.open takes it. */
export interface ModalView {
  type: 'modal';
  callback_id?: string;
  external_id?: string;
  private_metadata?: string;
  title: PlainText;
  submit?: PlainText;
  close?: PlainText;
  blocks: Block[];
}
