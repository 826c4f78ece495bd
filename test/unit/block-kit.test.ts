import { describe, expect, it } from 'vitest';
import { assertSlackAccepts, assertSlackAcceptsView, BLOCK_KIT_LIMITS, blocksTextLength, validateMessage, validateView } from '../../src/sandbox/block-kit.ts';

const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string, extra: Record<string, unknown> = {}) => ({ type: 'section', text: mrkdwn(text), ...extra });
const button = (action_id: string, extra: Record<string, unknown> = {}) => ({ type: 'button', action_id, text: plain('Go'), value: 'v', ...extra });
const actions = (elements: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'actions', elements, ...extra });
const option = (text: string, value: string) => ({ text: plain(text), value });
const confirm = (extra: Record<string, unknown> = {}) => ({
  title: plain('Sure?'),
  text: mrkdwn('It *restarts*.'),
  confirm: plain('Yes'),
  deny: plain('No'),
  ...extra,
});
const modal = (extra: Record<string, unknown> = {}) => ({ type: 'modal', title: plain('Flare for support'), blocks: [], ...extra });
const x = (n: number) => 'x'.repeat(n);
const ERR = (what: string, ptr: string) => `[ERROR] ${what} [json-pointer:${ptr}]`;
const VIEW = ERR('failed to match all allowed schemas', '/view');

/** The messages Slack would answer for these blocks (undefined: accepted). */
const blocksRefusal = (...blocks: unknown[]) => validateMessage({ text: 'fallback', blocks });

describe('validateMessage: what the bot can send', () => {
  it('accepts every block and element the bot and the sandbox renderer use', () => {
    const blocks = [
      { type: 'header', text: plain('CWS self-test · prod-eu-1') },
      section('*Review this flare*', {
        block_id: 'review',
        fields: [mrkdwn('*Node*\nnode-7'), plain('Case 123')],
        accessory: {
          type: 'static_select',
          action_id: 'pick',
          placeholder: plain('Pick a node'),
          options: [option('node-1', 'j|node-1')],
          initial_option: option('node-1', 'j|node-1'),
        },
      }),
      { type: 'section', fields: [mrkdwn('only fields')] },
      { type: 'section', text: plain('with an image'), accessory: { type: 'image', image_url: 'https://example.com/a.png', alt_text: 'a' } },
      { type: 'divider' },
      {
        type: 'context',
        elements: [mrkdwn('job st-1 · requested by <@U1>'), { type: 'image', image_url: 'https://example.com/i.png', alt_text: 'icon' }, plain('plain')],
      },
      actions(
        [
          button('selftest.flare:0', { style: 'primary' }),
          button('selftest.restart:0', { style: 'danger', confirm: confirm({ style: 'danger' }) }),
          button('open', { url: 'https://example.com', value: '' }),
          { type: 'overflow', action_id: 'more', options: [option('A', 'a'), { ...option('B', 'b'), url: 'https://example.com' }] },
          { type: 'static_select', action_id: 'grouped', option_groups: [{ label: plain('G'), options: [option('C', 'c')] }] },
        ],
        { block_id: 'selftest_node_actions' },
      ),
      actions([button('selftest.flare:0')]), // the same action_id in another block is fine
      { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'hello' }] }] },
      { type: 'image', image_url: 'https://example.com/b.png', alt_text: 'b', title: plain('B') },
    ];
    expect(validateMessage({ text: 'fallback', blocks, metadata: { event_type: 'cws_selftest_result', event_payload: { jobId: 'st-1' } } })).toBeUndefined();
    expect(() => assertSlackAccepts({ text: 'fallback', blocks })).not.toThrow();
  });

  it('accepts the limits themselves: 50 blocks, 3000-character sections, 10 fields of 2000, 25 buttons', () => {
    expect(validateMessage({ text: 't', blocks: Array.from({ length: 50 }, () => ({ type: 'divider' })) })).toBeUndefined();
    expect(blocksRefusal(section(x(3000)))).toBeUndefined();
    expect(blocksRefusal({ type: 'section', fields: Array.from({ length: 10 }, () => mrkdwn(x(1000))) })).toBeUndefined();
    expect(
      blocksRefusal(actions(Array.from({ length: 25 }, (_, i) => button(`b${i}`, { text: plain(x(75)), value: x(2000), url: `https://${x(2980)}` })))),
    ).toBeUndefined();
    expect(blocksRefusal({ type: 'header', text: plain(x(150)) })).toBeUndefined();
    expect(blocksRefusal({ type: 'context', elements: Array.from({ length: 10 }, () => mrkdwn('c')) })).toBeUndefined();
    expect(blocksRefusal(section('s', { block_id: x(255), accessory: button(x(255)) }))).toBeUndefined();
    expect(validateMessage({ text: x(40_000) })).toBeUndefined();
  });

  it('counts characters as Slack does (code points), not UTF-16 units', () => {
    expect(blocksRefusal(section('😀'.repeat(3000)))).toBeUndefined();
    expect(blocksRefusal({ type: 'header', text: plain('é'.repeat(150)) })).toBeUndefined();
  });
});

describe("validateMessage: each rule, with Slack's code and messages", () => {
  it('50 blocks per message', () => {
    expect(validateMessage({ text: 't', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })).toEqual({
      error: 'invalid_blocks',
      messages: [ERR('no more than 50 items allowed', '/blocks')],
    });
  });

  it('block_id unique per message, at most 255 characters', () => {
    expect(blocksRefusal(section('a', { block_id: 'b' }), { type: 'divider', block_id: 'b' })).toEqual({
      error: 'invalid_blocks',
      messages: [ERR('`block_id` "b" already exists', '/blocks/1/block_id')],
    });
    expect(blocksRefusal(section('a', { block_id: x(256) }))?.messages).toEqual([ERR('must be less than 256 characters', '/blocks/0/block_id')]);
    expect(blocksRefusal(section('a', { block_id: 7 }))?.messages).toEqual([ERR('must provide a string', '/blocks/0/block_id')]);
  });

  it('action_id unique per block (the self-test bug of issue 14), at most 255 characters', () => {
    const filler = Array.from({ length: 9 }, () => ({ type: 'divider' }));
    const flare = (node: string) => button('selftest_flare', { value: `st-1|${node}` });
    expect(blocksRefusal(...filler, actions([button('selftest_restart'), flare('node-7'), flare('node-8')]))).toEqual({
      error: 'invalid_blocks',
      messages: [ERR('`action_id` "selftest_flare" already exists', '/blocks/9/elements/2/action_id')],
    });
    expect(blocksRefusal(actions([button(x(256))]))?.messages).toEqual([ERR('must be less than 256 characters', '/blocks/0/elements/0/action_id')]);
    expect(blocksRefusal(actions([button('')]))?.messages).toEqual([ERR('must be more than 0 characters', '/blocks/0/elements/0/action_id')]);
  });

  it('section: text at most 3000, at most 10 fields of 2000, text or fields', () => {
    expect(blocksRefusal(section(x(3001)))).toEqual({
      error: 'invalid_blocks',
      messages: [ERR('failed to match all allowed schemas', '/blocks/0/text'), ERR('must be less than 3001 characters', '/blocks/0/text/text')],
    });
    expect(blocksRefusal({ type: 'section', fields: Array.from({ length: 11 }, () => mrkdwn('f')) })?.messages).toEqual([
      ERR('no more than 10 items allowed', '/blocks/0/fields'),
    ]);
    expect(blocksRefusal({ type: 'section', fields: [mrkdwn('f'), mrkdwn(x(2001))] })?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/fields/1'),
      ERR('must be less than 2001 characters', '/blocks/0/fields/1/text'),
    ]);
    expect(blocksRefusal({ type: 'section', fields: [] })?.messages).toEqual([ERR('no fewer than 1 items allowed', '/blocks/0/fields')]);
    expect(blocksRefusal({ type: 'section' })?.messages).toEqual([ERR('must define either `text` or `fields`', '/blocks/0/type')]);
    expect(blocksRefusal({ type: 'section', accessory: button('a') })?.messages).toEqual([ERR('must define either `text` or `fields`', '/blocks/0/type')]);
  });

  it('header: plain_text only, at most 150', () => {
    expect(blocksRefusal({ type: 'header', text: plain(x(151)) })?.messages).toEqual([ERR('must be less than 151 characters', '/blocks/0/text/text')]);
    expect(blocksRefusal({ type: 'header', text: mrkdwn('*h*') })?.messages).toEqual([ERR('unsupported type: mrkdwn', '/blocks/0/text/type')]);
    expect(blocksRefusal({ type: 'header' })?.messages).toEqual([ERR('missing required field: text', '/blocks/0')]);
  });

  it('context: 1 to 10 elements', () => {
    expect(blocksRefusal({ type: 'context', elements: [] })?.messages).toEqual([ERR('no fewer than 1 items allowed', '/blocks/0/elements')]);
    expect(blocksRefusal({ type: 'context', elements: Array.from({ length: 11 }, () => mrkdwn('c')) })?.messages).toEqual([
      ERR('no more than 10 items allowed', '/blocks/0/elements'),
    ]);
    expect(blocksRefusal({ type: 'context' })?.messages).toEqual([ERR('missing required field: elements', '/blocks/0')]);
    expect(blocksRefusal({ type: 'context', elements: [{ type: 'image', image_url: 'https://e/i.png' }] })?.messages).toEqual([
      ERR('missing required field: alt_text', '/blocks/0/elements/0'),
    ]);
  });

  it('actions: 1 to 25 elements', () => {
    expect(blocksRefusal(actions([]))?.messages).toEqual([ERR('no fewer than 1 items allowed', '/blocks/0/elements')]);
    expect(blocksRefusal(actions(Array.from({ length: 26 }, (_, i) => button(`b${i}`))))?.messages).toEqual([
      ERR('no more than 25 items allowed', '/blocks/0/elements'),
    ]);
  });

  it('button: text plain_text of 75, value 2000, url 3000, style primary|danger', () => {
    const at = (b: unknown) => blocksRefusal(actions([b]))?.messages;
    expect(at(button('a', { text: plain(x(76)) }))).toEqual([ERR('must be less than 76 characters', '/blocks/0/elements/0/text/text')]);
    expect(at(button('a', { text: mrkdwn('*go*') }))).toEqual([ERR('unsupported type: mrkdwn', '/blocks/0/elements/0/text/type')]);
    expect(at(button('a', { value: x(2001) }))).toEqual([ERR('must be less than 2001 characters', '/blocks/0/elements/0/value')]);
    expect(at(button('a', { url: x(3001) }))).toEqual([ERR('must be less than 3001 characters', '/blocks/0/elements/0/url')]);
    expect(at(button('a', { style: 'default' }))).toEqual([ERR('must be one of "primary", "danger"', '/blocks/0/elements/0/style')]);
    expect(at(button('a', { style: null }))).toEqual([ERR('must provide a string', '/blocks/0/elements/0/style')]);
    expect(at({ type: 'button', action_id: 'a' })).toEqual([ERR('missing required field: text', '/blocks/0/elements/0')]);
  });

  it('confirm: title 100 (plain_text), text 300, confirm/deny 30, style primary|danger', () => {
    const at = (c: unknown) => blocksRefusal(actions([button('a', { confirm: c })]))?.messages;
    const p = '/blocks/0/elements/0/confirm';
    expect(at(confirm({ title: plain(x(101)) }))).toEqual([ERR('must be less than 101 characters', `${p}/title/text`)]);
    expect(at(confirm({ title: mrkdwn('t') }))).toEqual([ERR('unsupported type: mrkdwn', `${p}/title/type`)]);
    expect(at(confirm({ text: mrkdwn(x(301)) }))).toEqual([
      ERR('failed to match all allowed schemas', `${p}/text`),
      ERR('must be less than 301 characters', `${p}/text/text`),
    ]);
    expect(at(confirm({ confirm: plain(x(31)) }))).toEqual([ERR('must be less than 31 characters', `${p}/confirm/text`)]);
    expect(at(confirm({ deny: plain(x(31)) }))).toEqual([ERR('must be less than 31 characters', `${p}/deny/text`)]);
    expect(at(confirm({ style: 'warning' }))).toEqual([ERR('must be one of "primary", "danger"', `${p}/style`)]);
    expect(at({ title: plain('t'), text: mrkdwn('t'), confirm: plain('y') })).toEqual([ERR('missing required field: deny', p)]);
  });

  it('static_select: at most 100 options, option text 75 and value 150, placeholder 150', () => {
    const select = (extra: Record<string, unknown>) =>
      section('pick', { accessory: { type: 'static_select', action_id: 's', placeholder: plain('Pick'), options: [option('a', 'a')], ...extra } });
    const p = '/blocks/0/accessory';
    expect(blocksRefusal(select({ options: Array.from({ length: 101 }, (_, i) => option(`n${i}`, `${i}`)) }))?.messages).toEqual([
      ERR('no more than 100 items allowed', `${p}/options`),
    ]);
    expect(
      blocksRefusal(select({ options: Array.from({ length: 100 }, (_, i) => option(x(75), `${i}`.padEnd(150, 'v'))), placeholder: plain(x(150)) })),
    ).toBeUndefined();
    expect(blocksRefusal(select({ options: [option(x(76), 'a')] }))?.messages).toEqual([ERR('must be less than 76 characters', `${p}/options/0/text/text`)]);
    expect(blocksRefusal(select({ options: [option('a', x(151))] }))?.messages).toEqual([ERR('must be less than 151 characters', `${p}/options/0/value`)]);
    expect(blocksRefusal(select({ options: [option('a', 'a')], placeholder: plain(x(151)) }))?.messages).toEqual([
      ERR('must be less than 151 characters', `${p}/placeholder/text`),
    ]);
    expect(blocksRefusal(select({ options: [{ text: mrkdwn('a'), value: 'a' }] }))?.messages).toEqual([
      ERR('unsupported type: mrkdwn', `${p}/options/0/text/type`),
    ]);
    expect(blocksRefusal(select({ options: undefined }))?.messages).toEqual([ERR('missing required field: options', p)]);
  });

  it('overflow: 1 to 5 options', () => {
    const overflow = (n: number) => actions([{ type: 'overflow', action_id: 'o', options: Array.from({ length: n }, (_, i) => option(`o${i}`, `${i}`)) }]);
    expect(blocksRefusal(overflow(5))).toBeUndefined();
    expect(blocksRefusal(overflow(6))?.messages).toEqual([ERR('no more than 5 items allowed', '/blocks/0/elements/0/options')]);
    expect(blocksRefusal(overflow(0))?.messages).toEqual([ERR('no fewer than 1 items allowed', '/blocks/0/elements/0/options')]);
  });

  it('empty text objects are refused anywhere', () => {
    expect(blocksRefusal(section(''))?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/text'),
      ERR('must be more than 0 characters', '/blocks/0/text/text'),
    ]);
    expect(blocksRefusal({ type: 'header', text: plain('') })?.messages).toEqual([ERR('must be more than 0 characters', '/blocks/0/text/text')]);
    expect(blocksRefusal({ type: 'context', elements: [mrkdwn('')] })?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/elements/0'),
      ERR('must be more than 0 characters', '/blocks/0/elements/0/text'),
    ]);
    expect(blocksRefusal(actions([button('a', { text: plain('') })]))?.messages).toEqual([
      ERR('must be more than 0 characters', '/blocks/0/elements/0/text/text'),
    ]);
    expect(blocksRefusal({ type: 'section', fields: [mrkdwn('')] })?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/fields/0'),
      ERR('must be more than 0 characters', '/blocks/0/fields/0/text'),
    ]);
  });

  it('unknown block and element types, and elements where Slack does not take them', () => {
    expect(blocksRefusal({ type: 'sections', text: mrkdwn('s') })?.messages).toEqual([ERR('unsupported type: sections', '/blocks/0/type')]);
    expect(blocksRefusal(actions([{ type: 'buton', action_id: 'a' }]))?.messages).toEqual([ERR('unsupported type: buton', '/blocks/0/elements/0/type')]);
    expect(blocksRefusal(actions([{ type: 'plain_text_input', action_id: 'a' }]))?.messages).toEqual([
      ERR('unsupported type: plain_text_input', '/blocks/0/elements/0/type'),
    ]);
    expect(blocksRefusal(actions([{ type: 'image', image_url: 'https://e/i', alt_text: 'i' }]))?.messages).toEqual([
      ERR('unsupported type: image', '/blocks/0/elements/0/type'),
    ]);
    expect(blocksRefusal({ type: 'rich_text', elements: [{ type: 'rich_text_paragraph', elements: [] }] })?.messages).toEqual([
      ERR('unsupported type: rich_text_paragraph', '/blocks/0/elements/0/type'),
    ]);
    expect(blocksRefusal('divider')?.messages).toEqual([ERR('must provide an object', '/blocks/0')]);
    expect(blocksRefusal({ text: mrkdwn('no type') })?.messages).toEqual([ERR('missing required field: type', '/blocks/0')]);
  });

  it('text objects are plain_text or mrkdwn, objects with a string text', () => {
    expect(blocksRefusal(section('s', { text: { type: 'markdown', text: 's' } }))?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/text'),
      ERR('unsupported type: markdown', '/blocks/0/text/type'),
    ]);
    expect(blocksRefusal({ type: 'section', text: 'a bare string' })?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/text'),
      ERR('must provide an object', '/blocks/0/text'),
    ]);
    expect(blocksRefusal({ type: 'section', text: { type: 'mrkdwn', text: 42 } })?.messages).toEqual([
      ERR('failed to match all allowed schemas', '/blocks/0/text'),
      ERR('must provide a string', '/blocks/0/text/text'),
    ]);
    expect(blocksRefusal({ type: 'header', text: { type: 'plain_text', text: 'h', emoji: 'yes' } })?.messages).toEqual([
      ERR('must provide a boolean', '/blocks/0/text/emoji'),
    ]);
  });

  it('input blocks: label plain_text of 2000, an element of an input kind', () => {
    const input = (extra: Record<string, unknown>) => ({
      type: 'input',
      block_id: 'email',
      label: plain('Email'),
      element: { type: 'email_text_input', action_id: 'value' },
      ...extra,
    });
    expect(blocksRefusal(input({}))).toBeUndefined();
    expect(blocksRefusal(input({ label: plain(x(2001)) }))?.messages).toEqual([ERR('must be less than 2001 characters', '/blocks/0/label/text')]);
    expect(blocksRefusal(input({ label: mrkdwn('*Email*') }))?.messages).toEqual([ERR('unsupported type: mrkdwn', '/blocks/0/label/type')]);
    expect(blocksRefusal(input({ element: undefined }))?.messages).toEqual([ERR('missing required field: element', '/blocks/0')]);
    expect(blocksRefusal(input({ element: button('b') }))?.messages).toEqual([ERR('unsupported type: button', '/blocks/0/element/type')]);
    expect(blocksRefusal(input({ element: { type: 'number_input', action_id: 'n' } }))?.messages).toEqual([
      ERR('missing required field: is_decimal_allowed', '/blocks/0/element'),
    ]);
    expect(blocksRefusal(input({ element: { type: 'plain_text_input', action_id: 'v', placeholder: plain(x(151)) } }))?.messages).toEqual([
      ERR('must be less than 151 characters', '/blocks/0/element/placeholder/text'),
    ]);
  });

  it('message text over 40000 characters: msg_too_long', () => {
    expect(validateMessage({ text: x(40_001) })).toEqual({ error: 'msg_too_long', messages: [] });
  });

  it(`blocks with more than ${BLOCK_KIT_LIMITS.blocksText} characters of text in total: msg_blocks_too_long (our model)`, () => {
    const four = Array.from({ length: 4 }, () => section(x(3000)));
    expect(blocksTextLength(four)).toBe(12_000);
    expect(validateMessage({ text: 't', blocks: four })).toBeUndefined();
    expect(validateMessage({ text: 't', blocks: [...four, { type: 'context', elements: [mrkdwn('1')] }] })).toEqual({
      error: 'msg_blocks_too_long',
      messages: [],
    });
    // Text anywhere counts: fields, buttons, confirm dialogs, rich_text runs.
    expect(
      blocksTextLength([
        { type: 'section', fields: [mrkdwn('ab')] },
        actions([button('a', { confirm: confirm() })]),
        { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'xyz' }] }] },
      ]),
    ).toBe(2 + 2 + 5 + 14 + 3 + 2 + 3);
  });

  it('metadata must be {event_type: string, event_payload: object}', () => {
    expect(validateMessage({ text: 't', metadata: { event_type: 'e' } })).toEqual({
      error: 'invalid_metadata_format',
      messages: [ERR('missing required field: event_payload', '/metadata')],
    });
    expect(validateMessage({ text: 't', metadata: { event_type: 1, event_payload: {} } })?.messages).toEqual([
      ERR('must provide a string', '/metadata/event_type'),
    ]);
    expect(validateMessage({ text: 't', metadata: { event_type: 'e', event_payload: [] } })?.messages).toEqual([
      ERR('must provide an object', '/metadata/event_payload'),
    ]);
    expect(validateMessage({ text: 't', metadata: 'not json' })).toEqual({
      error: 'invalid_metadata_format',
      messages: [ERR('must provide an object', '/metadata')],
    });
  });

  it('a new message needs text, blocks or attachments (no_text); an edit may change metadata only', () => {
    expect(validateMessage({})).toEqual({ error: 'no_text', messages: [] });
    expect(validateMessage({ text: '', blocks: [] })).toEqual({ error: 'no_text', messages: [] });
    expect(validateMessage({ blocks: [{ type: 'divider' }] })).toBeUndefined();
    expect(validateMessage({ metadata: { event_type: 'e', event_payload: {} } }, { requireContent: false })).toBeUndefined();
  });

  it('blocks that are not an array (a form field that was not JSON): invalid_blocks_format', () => {
    expect(validateMessage({ text: 't', blocks: '[{"type":' })).toEqual({
      error: 'invalid_blocks_format',
      messages: [ERR('must provide an array', '/blocks')],
    });
  });

  it('reports every fault of a message, in order', () => {
    expect(blocksRefusal({ type: 'header', text: plain(x(151)) }, actions([button('a'), button('a', { style: 'x' })]))?.messages).toEqual([
      ERR('must be less than 151 characters', '/blocks/0/text/text'),
      ERR('`action_id` "a" already exists', '/blocks/1/elements/1/action_id'),
      ERR('must be one of "primary", "danger"', '/blocks/1/elements/1/style'),
    ]);
    expect(() => assertSlackAccepts({ text: 't', blocks: [section('')] })).toThrow(
      /invalid_blocks\n[\s\S]*must be more than 0 characters \[json-pointer:\/blocks\/0\/text\/text\]/,
    );
  });
});

describe('validateView', () => {
  it('accepts a modal like the flare email modal', () => {
    const view = modal({
      callback_id: 'flare_email',
      private_metadata: 'fl-1',
      submit: plain('Build flare'),
      close: plain('Cancel'),
      blocks: [
        section('Without a case ID the flare opens a new case.'),
        { type: 'input', block_id: 'email', label: plain('Email'), element: { type: 'email_text_input', action_id: 'value', initial_value: 'a@b.c' } },
        {
          type: 'input',
          block_id: 'case',
          optional: true,
          label: plain('Case ID'),
          element: { type: 'plain_text_input', action_id: 'value', placeholder: plain('digits only') },
        },
      ],
    });
    expect(validateView(view)).toBeUndefined();
    expect(() => assertSlackAcceptsView(view)).not.toThrow();
    expect(validateView(modal({ blocks: Array.from({ length: 100 }, () => ({ type: 'divider' })) }))).toBeUndefined();
  });

  it('100 blocks per view; pointers under /view, after "failed to match all allowed schemas [/view]"', () => {
    expect(validateView(modal({ blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) }))).toEqual({
      error: 'invalid_arguments',
      messages: [VIEW, ERR('no more than 100 items allowed', '/view/blocks')],
    });
    expect(validateView(modal({ blocks: [actions([button('a'), button('a')])] }))?.messages).toEqual([
      VIEW,
      ERR('`action_id` "a" already exists', '/view/blocks/0/elements/1/action_id'),
    ]);
    expect(
      validateView(
        modal({
          blocks: [
            { type: 'divider', block_id: 'd' },
            { type: 'divider', block_id: 'd' },
          ],
        }),
      )?.messages,
    ).toEqual([VIEW, ERR('`block_id` "d" already exists', '/view/blocks/1/block_id')]);
  });

  it('type modal; title, submit and close plain_text of 24; private_metadata 3000; callback_id 255', () => {
    expect(validateView(modal({ type: 'home' }))?.messages).toEqual([VIEW, ERR('unsupported type: home', '/view/type')]);
    expect(validateView(modal({ title: plain(x(25)) }))?.messages).toEqual([VIEW, ERR('must be less than 25 characters', '/view/title/text')]);
    expect(validateView(modal({ title: mrkdwn('t') }))?.messages).toEqual([VIEW, ERR('unsupported type: mrkdwn', '/view/title/type')]);
    expect(validateView(modal({ submit: plain(x(25)) }))?.messages).toEqual([VIEW, ERR('must be less than 25 characters', '/view/submit/text')]);
    expect(validateView(modal({ close: plain(x(25)) }))?.messages).toEqual([VIEW, ERR('must be less than 25 characters', '/view/close/text')]);
    expect(validateView(modal({ private_metadata: x(3001) }))?.messages).toEqual([VIEW, ERR('must be less than 3001 characters', '/view/private_metadata')]);
    expect(validateView(modal({ callback_id: x(256) }))?.messages).toEqual([VIEW, ERR('must be less than 256 characters', '/view/callback_id')]);
    expect(validateView(modal({ title: undefined }))?.messages).toEqual([VIEW, ERR('missing required field: title', '/view')]);
    expect(validateView(modal({ submit: null }))?.messages).toEqual([VIEW, ERR('must provide an object', '/view/submit')]);
  });

  it('a modal with input blocks needs a submit button', () => {
    const input = { type: 'input', label: plain('Email'), element: { type: 'email_text_input', action_id: 'v' } };
    expect(validateView(modal({ blocks: [input] }))?.messages).toEqual([VIEW, ERR('missing required field: submit', '/view')]);
    expect(validateView(modal({ blocks: [input], submit: plain('Go') }))).toBeUndefined();
  });

  it('a view that is not an object', () => {
    expect(validateView('{"type":')).toEqual({ error: 'invalid_arguments', messages: [VIEW, ERR('must provide an object', '/view')] });
    expect(validateView(undefined)?.messages).toEqual([VIEW, ERR('must provide an object', '/view')]);
  });
});
