import { describe, expect, it } from 'vitest';
import { actionPayload, findElement, type PageAction } from '../../src/sandbox/payloads.ts';
import { defaultBlockId, renderBlocks, renderMessage, renderModal } from '../../src/sandbox/render/blocks.ts';
import { escapeHtml, mrkdwnToHtml, plainToHtml } from '../../src/sandbox/render/mrkdwn.ts';

/** Enough of an HTML attribute decoder for what escapeHtml produces (&amp; last). */
function decodeAttr(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attrs(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`\\s${name}="([^"]*)"`, 'g'))].map((m) => decodeAttr(m[1] ?? ''));
}

function jsonAttrs(html: string, name: string): Record<string, unknown>[] {
  return attrs(html, name).map((a) => JSON.parse(a) as Record<string, unknown>);
}

/** Every tag of the output, with its attribute names; text between tags is not inspected. */
function tags(html: string): { name: string; attrs: string[]; raw: string }[] {
  return [...html.matchAll(/<\/?([a-zA-Z0-9]+)([^>]*)>/g)].map((m) => ({
    name: (m[1] ?? '').toLowerCase(),
    raw: m[0],
    attrs: [...(m[2] ?? '').matchAll(/\s([^\s=]+)(?:="[^"]*")?/g)].map((a) => (a[1] ?? '').toLowerCase()),
  }));
}

const MRKDWN_TAGS = new Set(['b', 'i', 's', 'code', 'pre', 'br', 'blockquote', 'a', 'span']);
const MRKDWN_ATTRS = new Set(['href', 'target', 'rel', 'class']);

/** The output of mrkdwnToHtml may hold only our own tags and attributes, and only safe hrefs. */
function expectSafeMrkdwn(html: string): void {
  // No stray angle bracket outside a well-formed tag, no attribute value left open.
  expect(html.replace(/<\/?[a-z]+(?:\s[a-z]+="[^"]*")*>/g, '')).not.toMatch(/[<>"]/);
  for (const t of tags(html)) {
    expect(MRKDWN_TAGS.has(t.name), t.raw).toBe(true);
    for (const a of t.attrs) expect(MRKDWN_ATTRS.has(a), t.raw).toBe(true);
  }
  for (const href of attrs(html, 'href')) expect(href).toMatch(/^(?:https?:\/\/|mailto:)/i);
}

describe('mrkdwnToHtml', () => {
  it('formats bold, italic, strike, code and pre', () => {
    expect(mrkdwnToHtml('*bold* _it_ ~gone~ `x`')).toBe('<b>bold</b> <i>it</i> <s>gone</s> <code>x</code>');
    expect(mrkdwnToHtml('*a _b_ c*')).toBe('<b>a <i>b</i> c</b>');
    expect(mrkdwnToHtml('```\nline 1\n*not bold*\n```\nafter')).toBe('<pre>line 1\n*not bold*</pre>after');
    expect(mrkdwnToHtml('`*not bold*` and `_x_`')).toBe('<code>*not bold*</code> and <code>_x_</code>');
  });

  it('leaves words with inner delimiters alone', () => {
    expect(mrkdwnToHtml('classifier_priority and snake_case_name')).toBe('classifier_priority and snake_case_name');
    expect(mrkdwnToHtml('2*3*4 is math')).toBe('2*3*4 is math');
    expect(mrkdwnToHtml('* not bold *')).toBe('* not bold *');
  });

  it('turns newlines into <br> and > lines into a blockquote', () => {
    expect(mrkdwnToHtml('a\nb')).toBe('a<br>b');
    expect(mrkdwnToHtml('> one\n> *two*\nafter')).toBe('<blockquote>one<br><b>two</b></blockquote>after');
    expect(mrkdwnToHtml('>>> all\nof it')).toBe('<blockquote>all<br>of it</blockquote>');
  });

  it('shows Slack escapes as the characters, without double escaping', () => {
    expect(mrkdwnToHtml('a &lt; b &gt; c &amp; d')).toBe('a &lt; b &gt; c &amp; d');
    // `&amp;lt;` is Slack for the literal text "&lt;".
    expect(mrkdwnToHtml('&amp;lt;')).toBe('&amp;lt;');
    // A Slack-escaped > at a line start is text, not a quote.
    expect(mrkdwnToHtml('&gt; not a quote')).toBe('&gt; not a quote');
    expect(mrkdwnToHtml('`&lt;node&gt;`')).toBe('<code>&lt;node&gt;</code>');
  });

  it('escapes HTML special characters', () => {
    expect(mrkdwnToHtml(`"quotes" & 'apostrophes'`)).toBe('&quot;quotes&quot; &amp; &#39;apostrophes&#39;');
    expect(plainToHtml('<b>x</b> & "y"\nz')).toBe('&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;<br>z');
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('renders links with a safe scheme, and only the text of others', () => {
    expect(mrkdwnToHtml('<https://example.com/a_b?x=1&amp;y=2|the _docs_>')).toBe(
      '<a href="https://example.com/a_b?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">the _docs_</a>',
    );
    expect(mrkdwnToHtml('<http://x.test>')).toBe('<a href="http://x.test" target="_blank" rel="noopener noreferrer">http://x.test</a>');
    expect(mrkdwnToHtml('<mailto:a@b.test|mail me>')).toContain('href="mailto:a@b.test"');
    expect(mrkdwnToHtml('<javascript:alert(1)|click>')).toBe('click');
    expect(mrkdwnToHtml('<JavaScript:alert(1)>')).toBe('JavaScript:alert(1)');
    expect(mrkdwnToHtml('<data:text/html;base64,PHNjcmlwdD4=|x>')).toBe('x');
    expect(mrkdwnToHtml('<vbscript:msgbox|y>')).toBe('y');
    expect(mrkdwnToHtml('*see <https://x.test|here>*')).toBe('<b>see <a href="https://x.test" target="_blank" rel="noopener noreferrer">here</a></b>');
  });

  it('renders mentions', () => {
    expect(mrkdwnToHtml('hi <@U123>')).toBe('hi <span class="mention">@U123</span>');
    expect(mrkdwnToHtml('<@U1|bob>')).toBe('<span class="mention">@bob</span>');
    expect(mrkdwnToHtml('<#C123>')).toBe('<span class="mention">#C123</span>');
    expect(mrkdwnToHtml('<#C123|general>')).toBe('<span class="mention">#general</span>');
    expect(mrkdwnToHtml('<!here> <!channel>')).toBe('<span class="mention">@here</span> <span class="mention">@channel</span>');
    expect(mrkdwnToHtml('<!subteam^S1|@ops>')).toBe('<span class="mention">@ops</span>');
  });

  it('replaces known emoji shortcodes and keeps unknown ones', () => {
    expect(mrkdwnToHtml(':white_check_mark: :x: :warning: :hourglass_flowing_sand: :rotating_light:')).toBe('✅ ❌ ⚠️ ⏳ 🚨');
    expect(mrkdwnToHtml(':large_green_circle: :red_circle: :no_entry: :mag: :wrench: :package: :stopwatch: :heavy_check_mark:')).toBe(
      '🟢 🔴 ⛔ 🔍 🔧 📦 ⏱️ ✔️',
    );
    expect(mrkdwnToHtml(':not_an_emoji: :constructor: :__proto__:')).toBe(':not_an_emoji: :constructor: :__proto__:');
    expect(mrkdwnToHtml('`:x:`')).toBe('<code>:x:</code>');
  });

  it('never lets input produce a tag or an attribute', () => {
    const attempts = [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '"><img src=x onerror=alert(1)>',
      `'><svg onload=alert(1)>`,
      '<https://x.test" onmouseover="alert(1)|hover>',
      `<https://x.test' onmouseover='alert(1)|hover>`,
      '<https://x.test|<img src=x>>',
      '<https://x.test|"><script>x</script>>',
      '<javascript:alert(1)>',
      '<java\nscript:alert(1)|x>',
      '<@U1"><script>|x>',
      '<#C1|"><b>x</b>>',
      '<!here|<img src=x onerror=1>>',
      '&lt;script&gt;alert(1)&lt;/script&gt;',
      '&amp;lt;script&amp;gt;',
      '&#60;script&#62;',
      '```</pre><script>x</script>```',
      '`</code><img src=x onerror=1>`',
      '*<img src=x onerror=1>*',
      '_"onmouseover=alert(1) x_',
      '> <iframe src=javascript:alert(1)>',
      '\u0000 0 \u0000 <https://x.test|\u00000\u0000>',
      '\u0001 0 \u0001 ```x``` \u00010\u0001',
      '<https://x.test|a|b>',
      '<<https://x.test>>',
      ':x:<script>:x:',
    ];
    for (const input of attempts) {
      const html = mrkdwnToHtml(input);
      expectSafeMrkdwn(html);
      expect(html).not.toMatch(/<(script|img|svg|iframe)/i);
      expect(plainToHtml(input)).not.toMatch(/<(?!br>)/);
    }
  });

  it('keeps the text of malformed tokens visible', () => {
    expect(mrkdwnToHtml('a < b and c > d')).toBe('a &lt; b and c &gt; d');
    expect(mrkdwnToHtml('<not a link>')).toBe('&lt;not a link&gt;');
  });
});

describe('renderBlocks', () => {
  const message = { surface: 'message' } as const;
  const modal = { surface: 'modal' } as const;

  it('renders header, divider and plain/mrkdwn sections', () => {
    const html = renderBlocks(
      [
        { type: 'header', text: { type: 'plain_text', text: 'CWS *self-test* <x>' } },
        { type: 'divider' },
        { type: 'section', text: { type: 'mrkdwn', text: '*Verdict* :white_check_mark:' } },
        { type: 'section', text: { type: 'plain_text', text: '*not bold*' } },
      ],
      message,
    );
    expect(html).toContain('<h3 class="blk blk-header" data-block-id="block_0">CWS *self-test* &lt;x&gt;</h3>');
    expect(html).toContain('<hr class="blk blk-divider" data-block-id="block_1">');
    expect(html).toContain('<b>Verdict</b> ✅');
    expect(html).toContain('*not bold*');
  });

  it('renders section fields in a grid', () => {
    const html = renderBlocks(
      [{ type: 'section', fields: [{ type: 'mrkdwn', text: '*Agent*\n7.50' }, { type: 'plain_text', text: 'CNI' }, { nope: true }] }],
      message,
    );
    expect(html).toContain('<div class="section-fields"><div class="section-field"><b>Agent</b><br>7.50</div><div class="section-field">CNI</div></div>');
  });

  it('gives every interactive element its action as JSON, with a stable block_id when none is set', () => {
    const blocks = [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: 'x' },
        accessory: { type: 'button', action_id: 'acc', text: { type: 'plain_text', text: 'Go' }, value: 'v"1' },
      },
      {
        type: 'actions',
        block_id: 'acts',
        elements: [
          { type: 'button', action_id: 'a1', text: { type: 'plain_text', text: 'One' } },
          { type: 'button', text: { type: 'plain_text', text: 'Two' } },
        ],
      },
    ];
    const html = renderBlocks(blocks, message);
    // No value: the server takes it from the stored element at that position, not from the page.
    expect(jsonAttrs(html, 'data-action')).toEqual([
      { type: 'button', action_id: 'acc', block_id: defaultBlockId(0), position: { block: 0, element: 'accessory' } },
      { type: 'button', action_id: 'a1', block_id: 'acts', position: { block: 1, element: 0 } },
      { type: 'button', action_id: 'action_1', block_id: 'acts', position: { block: 1, element: 1 } },
    ]);
    expect(renderBlocks(blocks, message)).toBe(html);
  });

  it('renders button styles, url and confirm', () => {
    const html = renderBlocks(
      [
        {
          type: 'actions',
          block_id: 'b',
          elements: [
            { type: 'button', action_id: 'p', style: 'primary', text: { type: 'plain_text', text: 'Apply' } },
            {
              type: 'button',
              action_id: 'd',
              style: 'danger',
              text: { type: 'plain_text', text: 'Disable CWS' },
              value: 'job|disable_cws',
              confirm: {
                title: { type: 'plain_text', text: 'Disable CWS?' },
                text: { type: 'mrkdwn', text: 'Patches `demo` <script>' },
                confirm: { type: 'plain_text', text: 'Apply' },
                deny: { type: 'plain_text', text: 'Cancel' },
                style: 'danger',
              },
            },
            { type: 'button', action_id: 'u', style: 'fancy', url: 'https://docs.test/a?b=1&c=2', text: { type: 'plain_text', text: 'Docs' } },
            { type: 'button', action_id: 'j', url: 'javascript:alert(1)', text: { type: 'plain_text', text: 'Bad' } },
          ],
        },
      ],
      message,
    );
    expect(html).toMatch(/<button type="button" class="btn btn-primary" data-action="[^"]*">Apply<\/button>/);
    expect(html).toMatch(/class="btn btn-danger"/);
    expect(html).toMatch(/class="btn" data-action="[^"]*" data-url="https:\/\/docs.test\/a\?b=1&amp;c=2">Docs/);
    expect(attrs(html, 'data-url')).toEqual(['https://docs.test/a?b=1&c=2']);
    expect(jsonAttrs(html, 'data-confirm')).toEqual([
      { title: 'Disable CWS?', text: 'Patches <code>demo</code> &lt;script&gt;', confirm: 'Apply', deny: 'Cancel', style: 'danger' },
    ]);
    expect(jsonAttrs(html, 'data-action')[1]).toEqual({ type: 'button', action_id: 'd', block_id: 'b', position: { block: 0, element: 1 } });
  });

  it('fills in a partial confirm with defaults', () => {
    const html = renderBlocks(
      [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'x', text: { type: 'plain_text', text: 'X' }, confirm: { text: { type: 'plain_text', text: 'Sure?' } } }],
        },
      ],
      message,
    );
    expect(jsonAttrs(html, 'data-confirm')).toEqual([{ title: 'Are you sure?', text: 'Sure?', confirm: 'Yes', deny: 'Cancel', style: 'primary' }]);
  });

  it('renders static selects with options, option groups, placeholder and initial option', () => {
    const html = renderBlocks(
      [
        {
          type: 'section',
          block_id: 'pick',
          text: { type: 'mrkdwn', text: 'Which node?' },
          accessory: {
            type: 'static_select',
            action_id: 'node',
            placeholder: { type: 'plain_text', text: 'Pick a node' },
            option_groups: [
              {
                label: { type: 'plain_text', text: 'Linux' },
                options: [
                  { text: { type: 'plain_text', text: 'n1 <a>' }, value: 'r|n1' },
                  { text: { type: 'plain_text', text: 'n2' }, value: 'r|n2' },
                ],
              },
              { label: { type: 'plain_text', text: 'Windows' }, options: [{ text: { type: 'plain_text', text: 'w1' }, value: 'r|w1' }, { value: 'no-text' }] },
            ],
            initial_option: { text: { type: 'plain_text', text: 'n2' }, value: 'r|n2' },
          },
        },
      ],
      message,
    );
    expect(html).toContain('<select class="select select-static" aria-label="Pick a node" data-action=');
    expect(jsonAttrs(html, 'data-action')).toEqual([
      { type: 'static_select', action_id: 'node', block_id: 'pick', position: { block: 0, element: 'accessory' } },
    ]);
    expect(html).toContain('<option value="" disabled hidden>Pick a node</option>');
    expect(html).toContain(
      '<optgroup label="Linux"><option value="r|n1" data-text="n1 &lt;a&gt;">n1 &lt;a&gt;</option><option value="r|n2" data-text="n2" selected>n2</option></optgroup>',
    );
    expect(html).toContain('<optgroup label="Windows"><option value="r|w1" data-text="w1">w1</option></optgroup>');
    expect(html).not.toContain('no-text');
  });

  it('selects the placeholder when no initial option matches', () => {
    const html = renderBlocks(
      [
        {
          type: 'actions',
          elements: [
            { type: 'static_select', action_id: 's', options: [{ text: { type: 'plain_text', text: 'A' }, value: 'a' }], initial_option: { value: 'zzz' } },
          ],
        },
      ],
      message,
    );
    expect(html).toContain('<option value="" disabled hidden selected>Select an option</option><option value="a" data-text="A">A</option>');
  });

  it('renders overflow menus as selects', () => {
    const html = renderBlocks(
      [
        {
          type: 'actions',
          block_id: 'o',
          elements: [{ type: 'overflow', action_id: 'more', options: [{ text: { type: 'plain_text', text: 'Re-run' }, value: 'rerun' }] }],
        },
      ],
      message,
    );
    expect(html).toContain('aria-label="More actions"');
    expect(jsonAttrs(html, 'data-action')).toEqual([{ type: 'overflow', action_id: 'more', block_id: 'o', position: { block: 0, element: 0 } }]);
    expect(html).toContain('<option value="rerun" data-text="Re-run">Re-run</option>');
  });

  it('renders context elements, with images as their alt text only', () => {
    const html = renderBlocks(
      [
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: 'job `j1` · <@U1>' },
            { type: 'plain_text', text: 'plain' },
            { type: 'image', image_url: 'https://x.test/i.png', alt_text: 'logo' },
            7,
          ],
        },
      ],
      message,
    );
    expect(html).toContain('<span class="ctx-el">job <code>j1</code> · <span class="mention">@U1</span></span>');
    expect(html).toContain('<span class="ctx-el">plain</span>');
    expect(html).toContain('[logo]');
    expect(html).not.toContain('x.test');
    expect(html).toContain('unsupported context element');
  });

  it('renders rich_text as its text', () => {
    const html = renderBlocks(
      [
        {
          type: 'rich_text',
          elements: [
            {
              type: 'rich_text_section',
              elements: [
                { type: 'text', text: 'Hello <b>' },
                { type: 'emoji', name: 'x' },
                { type: 'user', user_id: 'U1' },
              ],
            },
            { type: 'rich_text_list', elements: [{ type: 'rich_text_section', elements: [{ type: 'link', url: 'https://x.test', text: 'item' }] }] },
            { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'code' }] },
          ],
        },
      ],
      message,
    );
    expect(html).toBe(
      '<div class="blk blk-rich-text" data-block-id="block_0">Hello &lt;b&gt;❌<span class="mention">@U1</span><br>item<br><pre>code</pre></div>',
    );
  });

  it('notes unknown blocks and unknown elements', () => {
    expect(renderBlocks([{ type: 'video', title: 'x' }], message)).toBe('<div class="blk-note">unsupported block: video</div>');
    expect(renderBlocks([{ type: '<img src=x>' }], message)).toBe('<div class="blk-note">unsupported block: &lt;img src=x&gt;</div>');
    expect(renderBlocks([{ type: 'actions', elements: [{ type: 'datepicker', action_id: 'd' }] }], message)).toContain('unsupported element: datepicker');
  });

  it('renders input blocks only in modals', () => {
    const input = { type: 'input', block_id: 'email', label: { type: 'plain_text', text: 'Email' }, element: { type: 'email_text_input', action_id: 'value' } };
    expect(renderBlocks([input], message)).toBe('<div class="blk-note">input block: only rendered in modals</div>');
    expect(renderBlocks([input], modal)).toContain('type="email"');
  });

  it('renders modal inputs with the hooks the page collects state values from', () => {
    const html = renderBlocks(
      [
        {
          type: 'input',
          block_id: 'email',
          label: { type: 'plain_text', text: 'Email' },
          hint: { type: 'plain_text', text: 'Your login' },
          element: { type: 'email_text_input', action_id: 'value', initial_value: 'a"b@c.test' },
        },
        {
          type: 'input',
          block_id: 'case',
          optional: true,
          label: { type: 'plain_text', text: 'Case ID' },
          element: { type: 'plain_text_input', action_id: 'value', placeholder: { type: 'plain_text', text: 'digits only' }, max_length: 12 },
        },
        {
          type: 'input',
          block_id: 'why',
          label: { type: 'plain_text', text: 'Why' },
          element: { type: 'plain_text_input', action_id: 'text', multiline: true, initial_value: '</textarea><b>' },
        },
        {
          type: 'input',
          label: { type: 'plain_text', text: 'Node' },
          element: {
            type: 'static_select',
            action_id: 'node',
            options: [{ text: { type: 'plain_text', text: 'n1' }, value: 'n1' }],
            initial_option: { text: { type: 'plain_text', text: 'n1' }, value: 'n1' },
          },
        },
      ],
      { surface: 'modal', idPrefix: 'v1-' },
    );
    expect(html).toContain('<label class="input-label" for="v1-in-0">Email</label>');
    expect(html).toContain(
      '<input class="input" type="email" id="v1-in-0" data-block-id="email" data-action-id="value" data-type="email_text_input" data-required aria-describedby="v1-in-0-hint" value="a&quot;b@c.test">',
    );
    expect(html).toContain('<div class="input-hint" id="v1-in-0-hint">Your login</div>');
    expect(html).toContain('<div class="input-error" role="alert" data-error-for="email" hidden></div>');
    expect(html).toContain('Case ID<span class="input-optional"> (optional)</span>');
    expect(html).toContain(
      '<input class="input" type="text" id="v1-in-1" data-block-id="case" data-action-id="value" data-type="plain_text_input" value="" placeholder="digits only" maxlength="12">',
    );
    expect(html).toContain(
      '<textarea class="input" rows="4" id="v1-in-2" data-block-id="why" data-action-id="text" data-type="plain_text_input" data-required>&lt;/textarea&gt;&lt;b&gt;</textarea>',
    );
    expect(html).toContain(
      '<select class="select select-static" id="v1-in-3" data-block-id="block_3" data-action-id="node" data-type="static_select" data-required>',
    );
    expect(html).toContain('<option value="n1" data-text="n1" selected>n1</option>');
    // Inputs are collected on submit, never sent on change.
    expect(html).not.toContain('data-action=');
  });

  it('does not throw on malformed blocks, and says what it skipped', () => {
    const junk: unknown[] = [
      null,
      7,
      'section',
      [],
      { type: 'section' },
      { type: 'section', text: { type: 'mrkdwn', text: 5 } },
      { type: 'section', text: 'plain string', fields: 'nope', accessory: 3 },
      { type: 'header' },
      { type: 'context', elements: 'x' },
      { type: 'actions', elements: [null, { type: 'button' }, { type: 'static_select', options: 'x', option_groups: [null, { options: 4 }] }] },
      { type: 'input', label: 'x', element: null },
      { type: 'input', label: { type: 'plain_text', text: 'L' }, element: { type: 'checkboxes' } },
      { type: 'rich_text', elements: [null, { type: 'rich_text_section', elements: [null, { type: 'text' }] }] },
      { type: 123 },
      { block_id: { evil: true }, type: 'divider' },
    ];
    for (const surface of ['message', 'modal'] as const) {
      const html = renderBlocks(junk, { surface });
      expect(html).toContain('malformed block #0: not an object');
      expect(html).toContain('malformed section: no text, fields or accessory');
      expect(html).toContain('malformed header: no text');
      expect(html).toContain('malformed actions element: not an object');
      expect(html).toContain('malformed button: no text');
      expect(html).toContain('unsupported block: 123');
    }
    expect(renderBlocks(junk, { surface: 'modal' })).toContain('malformed input: needs a label and an element');
    expect(renderBlocks(junk, { surface: 'modal' })).toContain('unsupported input element: checkboxes');
    expect(renderBlocks('not an array' as unknown as unknown[], { surface: 'message' })).toContain('malformed blocks');
  });

  it('survives random JSON', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const keys = [
      'type',
      'text',
      'elements',
      'fields',
      'accessory',
      'options',
      'option_groups',
      'confirm',
      'label',
      'element',
      'value',
      'block_id',
      'action_id',
      'initial_option',
      'placeholder',
    ];
    const types = [
      'section',
      'actions',
      'input',
      'context',
      'header',
      'button',
      'static_select',
      'overflow',
      'mrkdwn',
      'plain_text',
      'rich_text',
      'rich_text_section',
      'text',
      'image',
    ];
    const gen = (depth: number): unknown => {
      const r = rand();
      if (depth > 4 || r < 0.15) return [null, 1, 'x', true, '<b>', types[Math.floor(rand() * types.length)]][Math.floor(rand() * 6)];
      if (r < 0.35) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = { type: types[Math.floor(rand() * types.length)] };
      for (let i = 0; i < 4; i++) o[keys[Math.floor(rand() * keys.length)] ?? 'x'] = gen(depth + 1);
      return o;
    };
    for (let i = 0; i < 500; i++) {
      const blocks = Array.from({ length: 5 }, () => gen(0));
      expect(() => renderBlocks(blocks, { surface: i % 2 ? 'modal' : 'message' })).not.toThrow();
      expect(() => renderModal({ id: `V${i}`, view: { type: 'modal', blocks, title: gen(1), submit: gen(1), close: gen(1) } })).not.toThrow();
    }
  });

  it('notes more blocks than Slack allows', () => {
    const fifty = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(renderBlocks(fifty, { surface: 'message' })).toContain('51 blocks: Slack would reject more than 50');
    expect(renderBlocks(fifty, { surface: 'modal' })).not.toContain('Slack would reject');
  });
});

describe('renderMessage', () => {
  it('renders the bot header, time, blocks and data hooks', () => {
    const html = renderMessage({
      channel: 'C1',
      ts: '1712345678.000100',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }],
      text: 'fallback',
    });
    expect(html).toMatch(/^<article class="msg" data-ts="1712345678.000100" data-channel="C1">/);
    expect(html).toContain('<span class="msg-author">cws</span> <span class="badge-app">APP</span>');
    expect(html).toContain(`datetime="${new Date(1712345678000).toISOString()}"`);
    expect(html).toContain('<b>hi</b>');
    expect(html).not.toContain('fallback');
    expect(html).not.toContain('Only visible to you');
    expect(html).not.toContain('(edited)');
  });

  it('uses the text as mrkdwn when there are no blocks', () => {
    expect(renderMessage({ channel: 'C1', ts: '1.0', text: ':warning: *careful* <x>' })).toContain('<div class="msg-body">⚠️ <b>careful</b> &lt;x&gt;</div>');
    expect(renderMessage({ channel: 'C1', ts: '1.0', text: 'plain', blocks: [] })).toContain('<div class="msg-body">plain</div>');
  });

  it('marks ephemeral, edited, thread replies and reactions', () => {
    const html = renderMessage({
      channel: 'C"1',
      ts: '2.000200',
      thread_ts: '1.000100',
      text: 'x',
      ephemeral: true,
      user: 'U1',
      updates: 2,
      reactions: ['white_check_mark', ':x:', 'x', 'unknown_one', ''],
    });
    expect(html).toMatch(/^<article class="msg msg-reply msg-ephemeral" data-ts="2.000200" data-channel="C&quot;1" data-thread-ts="1.000100" data-user="U1">/);
    expect(html).toContain('Only visible to you');
    expect(html).toContain('<span class="msg-edited">(edited)</span>');
    expect(html).toContain('<span class="reaction" title=":white_check_mark:">✅ <span class="reaction-count">1</span></span>');
    expect(html).toContain('<span class="reaction" title=":x:">❌ <span class="reaction-count">2</span></span>');
    expect(html).toContain(':unknown_one: <span class="reaction-count">1</span>');
  });

  it('does not mark a thread parent as a reply', () => {
    expect(renderMessage({ channel: 'C1', ts: '1.0', thread_ts: '1.0', text: 'x' })).toMatch(/^<article class="msg" /);
  });

  it('leaves the time out for a ts that is not a time', () => {
    expect(renderMessage({ channel: 'C1', ts: 'garbage', text: 'x' })).not.toContain('<time');
  });
});

describe('renderModal', () => {
  const view = {
    type: 'modal',
    callback_id: 'flare_email',
    title: { type: 'plain_text', text: 'Flare for support' },
    submit: { type: 'plain_text', text: 'Build flare' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: 'Node *n1*' } },
      { type: 'input', block_id: 'email', label: { type: 'plain_text', text: 'Email' }, element: { type: 'email_text_input', action_id: 'value' } },
    ],
  };

  it('renders the title, blocks and submit/close buttons', () => {
    const html = renderModal({ id: 'V1', view });
    expect(html).toMatch(/^<div class="modal" data-view-id="V1" data-testid="modal" role="dialog" aria-modal="true" aria-labelledby="vV1-title">/);
    expect(html).toContain('<h2 class="modal-title" id="vV1-title">Flare for support</h2>');
    expect(html).toContain('Node <b>n1</b>');
    expect(html).toContain('id="vV1-in-1" data-block-id="email" data-action-id="value" data-type="email_text_input"');
    expect(html).toContain('<button type="button" class="btn" data-modal-close>Cancel</button>');
    expect(html).toContain('<button type="submit" class="btn btn-primary" data-modal-submit>Build flare</button>');
  });

  it('has no submit button without view.submit, and a default close label', () => {
    const html = renderModal({ id: 'V2', view: { type: 'modal', title: { type: 'plain_text', text: 'Info' }, blocks: [{ type: 'divider' }] } });
    expect(html).not.toContain('data-modal-submit');
    expect(html).toContain('data-modal-close>Cancel</button>');
    expect(html).not.toContain('blk-note');
  });

  it('says when Slack would reject the view', () => {
    const { submit: _, ...noSubmit } = view;
    expect(renderModal({ id: 'V3', view: noSubmit })).toContain('needs a submit button');
    expect(renderModal({ id: 'V4', view: { ...view, type: 'home' } })).toContain('only modals are supported');
  });

  it('escapes the view id and survives a view without anything', () => {
    const html = renderModal({ id: 'V"><x', view: {} });
    expect(html).toContain('data-view-id="V&quot;&gt;&lt;x"');
    expect(html).toContain('aria-labelledby="vV___x-title"');
    expect(renderModal({ id: 'V', view: null as unknown as Record<string, unknown> })).toContain('class="modal"');
  });
});

describe('a click, from the rendered page to the block_actions action', () => {
  /** What the page sends for the n-th interactive element, then what the server builds from the blocks. */
  function click(blocks: unknown[], n: number, pick?: string) {
    const page = jsonAttrs(renderBlocks(blocks, { surface: 'message' }), 'data-action')[n] as unknown as PageAction;
    const found = findElement(blocks, { ...page, ...(pick ? { selected_option: { value: pick } } : {}) });
    if ('error' in found) throw new Error(found.error);
    return actionPayload(found, { ...page, ...(pick ? { selected_option: { value: pick } } : {}) }, '1712345678.000200');
  }
  const button = (actionId: string, text: string, value: string, extra: Record<string, unknown> = {}) => ({
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text },
    value,
    ...extra,
  });

  it('two buttons at different positions of one block (ids different): the second sends the second, as Slack does', () => {
    const blocks = [
      {
        type: 'actions',
        block_id: 'fixes',
        elements: [
          button('netcheck.fix:disable_cws', 'Disable CWS', 'j1|disable_cws', { style: 'danger' }),
          button('netcheck.fix:disable_network', 'Disable network detections', 'j1|disable_network'),
        ],
      },
    ];
    expect(click(blocks, 1)).toEqual({
      action: {
        type: 'button',
        block_id: 'fixes',
        action_id: 'netcheck.fix:disable_network',
        text: { type: 'plain_text', text: 'Disable network detections', emoji: true },
        value: 'j1|disable_network',
        action_ts: '1712345678.000200',
      },
    });
    expect(click(blocks, 0)).toMatchObject({ action: { action_id: 'netcheck.fix:disable_cws', value: 'j1|disable_cws', style: 'danger' } });
  });

  it('two elements with the same ids at different positions (a message Slack would refuse): still the one clicked', () => {
    const blocks = [
      { type: 'section', block_id: 'n7', text: { type: 'mrkdwn', text: 'node-7' }, accessory: button('selftest_flare', 'Flare from node-7', 'st|node-7') },
      {
        type: 'actions',
        block_id: 'acts',
        elements: [button('selftest_restart', 'Restart agent on node-7', 'st|node-7'), button('selftest_restart', 'Restart agent on node-8', 'st|node-8')],
      },
    ];
    expect(click(blocks, 2)).toMatchObject({ action: { action_id: 'selftest_restart', value: 'st|node-8', text: { text: 'Restart agent on node-8' } } });
    expect(click(blocks, 1)).toMatchObject({ action: { value: 'st|node-7' } });
    expect(click(blocks, 0)).toMatchObject({ action: { block_id: 'n7', action_id: 'selftest_flare', value: 'st|node-7' } });
  });

  it('menus: the option picked in the menu at that position, and its state', () => {
    const options = (p: string) => [1, 2].map((i) => ({ text: { type: 'plain_text', text: `${p} ${i}` }, value: `${p}${i}` }));
    const blocks = [
      {
        type: 'actions',
        block_id: 'm',
        elements: [
          { type: 'static_select', action_id: 's', options: options('a') },
          { type: 'overflow', action_id: 'o', options: options('b') },
        ],
      },
    ];
    expect(click(blocks, 1, 'b2')).toEqual({
      action: {
        type: 'overflow',
        block_id: 'm',
        action_id: 'o',
        selected_option: { text: { type: 'plain_text', text: 'b 2', emoji: true }, value: 'b2' },
        action_ts: '1712345678.000200',
      },
    });
    expect(click(blocks, 0, 'a1')).toMatchObject({
      action: { type: 'static_select', selected_option: { value: 'a1' } },
      stateValue: { type: 'static_select', selected_option: { value: 'a1' } },
    });
    expect(click(blocks, 1, 'a1')).toEqual({ error: 'that option is not in the menu' });
  });

  it('a position that no longer holds what the page showed is refused, with the reason', () => {
    const before = [{ type: 'actions', block_id: 'acts', elements: [button('a', 'A', '1'), button('b', 'B', '2')] }];
    const page = jsonAttrs(renderBlocks(before, { surface: 'message' }), 'data-action')[1] as unknown as PageAction;
    expect(findElement([{ type: 'actions', block_id: 'acts', elements: [button('b', 'B', '2'), button('a', 'A', '1')] }], page)).toEqual({
      error: 'element 1 of block 0 is now "a", not "b"',
    });
    expect(findElement([{ type: 'actions', block_id: 'acts', elements: [button('a', 'A', '1')] }], page)).toEqual({
      error: 'element 1 of block 0 is not there',
    });
    expect(findElement([{ type: 'actions', block_id: 'other', elements: before[0]!.elements }], page)).toEqual({ error: 'block 0 is now "other", not "acts"' });
    expect(findElement([{ type: 'section', block_id: 'acts', text: { type: 'mrkdwn', text: 'x' } }], page)).toEqual({
      error: 'block 0 is not an actions block',
    });
    expect(findElement('junk', page)).toEqual({ error: 'there is no block 0' });
  });
});
