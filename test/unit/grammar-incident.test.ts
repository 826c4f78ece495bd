/**
 * `/cws incident <#channel> <cluster>` and `/cws incident off <cluster>` (issue 17, point 1):
 * the channel as Slack escapes a mention in command text (`<#C123|name>`, `<#C123>`, `<#C123|>`),
 * or its bare ID; `off` in any case; and every wrong input answered with the incident usage.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCommand, USAGE } from '../../src/core/grammar.ts';
import { escapeCommandText } from '../../src/sandbox/payloads.ts';

const USAGE_LINE = `Usage: \`${USAGE.incident}\``;

describe('/cws incident: accepted', () => {
  it.each([
    // Slack's escape of a channel mention: ID then the name after "|".
    ['incident <#C0INCIDENT|cws-incident> demo', { channel: 'C0INCIDENT' }],
    // Without the name, and with an empty one (Slack sends both forms).
    ['incident <#C0INCIDENT> demo', { channel: 'C0INCIDENT' }],
    ['incident <#C0INCIDENT|> demo', { channel: 'C0INCIDENT' }],
    // A private channel's ID starts with G.
    ['incident <#G01ABCDEF|ops-private> demo', { channel: 'G01ABCDEF' }],
    // The bare ID, with or without "#" (the CLI and people pasting IDs).
    ['incident C0INCIDENT demo', { channel: 'C0INCIDENT' }],
    ['incident #C0INCIDENT demo', { channel: 'C0INCIDENT' }],
    // The subcommand is case-insensitive; spaces around and between arguments do not matter.
    ['  INCIDENT   <#C0INCIDENT|cws-incident>   prod_eu.1  ', { channel: 'C0INCIDENT', cluster: 'prod_eu.1' }],
    // The name part of an escape is not read: whatever Slack put there, the ID is what counts.
    ['incident <#C0INCIDENT|a-name-with-dashes_and.dots> demo', { channel: 'C0INCIDENT' }],
  ])('%j', (text, want) => {
    expect(parseCommand(text)).toEqual({ ok: true, command: { name: 'incident', cluster: 'demo', ...want } });
  });

  it.each(['off', 'OFF', 'Off'])('`%s <cluster>` ends the link', (off) => {
    expect(parseCommand(`incident ${off} demo`)).toEqual({ ok: true, command: { name: 'incident', cluster: 'demo', off: true } });
  });

  it('`--` ends the options as for every subcommand (a cluster named like an option goes after it)', () => {
    expect(parseCommand('incident -- <#C0INCIDENT|x> demo')).toEqual({ ok: true, command: { name: 'incident', cluster: 'demo', channel: 'C0INCIDENT' } });
    expect(parseCommand('incident <#C0INCIDENT|x> -- demo')).toEqual({ ok: true, command: { name: 'incident', cluster: 'demo', channel: 'C0INCIDENT' } });
    expect(parseCommand('incident off -- demo')).toEqual({ ok: true, command: { name: 'incident', cluster: 'demo', off: true } });
    // After `--`, a second `--` is an argument like any other.
    expect(parseCommand('incident -- <#C0INCIDENT|x> demo --')).toMatchObject({ ok: false, error: expect.stringMatching(/unexpected argument `--`/) });
  });

  it('a cluster may be named like a channel ID or `off`: position decides', () => {
    expect(parseCommand('incident off off')).toEqual({ ok: true, command: { name: 'incident', cluster: 'off', off: true } });
    expect(parseCommand('incident <#C0INCIDENT|x> off')).toEqual({ ok: true, command: { name: 'incident', cluster: 'off', channel: 'C0INCIDENT' } });
  });

  it('the result carries only what was given: no `off` with a channel, no channel with `off`', () => {
    const linked = parseCommand('incident <#C0INCIDENT|x> demo');
    const off = parseCommand('incident off demo');
    expect(linked.ok && 'off' in linked.command).toBe(false);
    expect(off.ok && 'channel' in off.command).toBe(false);
  });
});

describe('/cws incident: refused with the incident usage', () => {
  it.each([
    ['incident', /a channel \(or `off`\) and a cluster name are required/],
    ['incident <#C0INCIDENT|cws-incident>', /a channel \(or `off`\) and a cluster name are required/],
    ['incident off', /a channel \(or `off`\) and a cluster name are required/],
    ['incident <#C0INCIDENT|x> demo extra', /unexpected argument `extra`/],
    ['incident off demo now', /unexpected argument `now`/],
    // The cluster is checked first, whatever the channel.
    ['incident <#C0INCIDENT|x> Demo', /`Demo` is not a valid cluster name/],
    ['incident <#C0INCIDENT|x> demo;rm', /`demo;rm` is not a valid cluster name/],
    ['incident off $(whoami)', /not a valid cluster name/],
    // Arguments the wrong way round: the channel is not a cluster name.
    ['incident demo <#C0INCIDENT|x>', /`<#C0INCIDENT\|x>` is not a valid cluster name/],
    // Not channels: a user mention, a DM ID, a lowercase ID, a name, a URL, a broken escape.
    ['incident <@U0APPROVER> demo', /`<@U0APPROVER>` is not a channel mention: type # and pick the channel from Slack's list.*\(or write `off`\)/],
    ['incident D0DIRECT1 demo', /`D0DIRECT1` is not a channel/],
    ['incident c0incident demo', /`c0incident` is not a channel/],
    ['incident cws-incident demo', /`cws-incident` is not a channel/],
    ['incident https://example.slack.com/archives/C0INCIDENT demo', /is not a channel/],
    ['incident <#C0INCIDENT|x demo', /is not a channel/],
    ['incident <#C0INCIDENT|x>> demo', /is not a channel/],
    ['incident <#C1|x> demo', /`<#C1\|x>` is not a channel/],
    ['incident ##C0INCIDENT demo', /is not a channel/],
    ['incident <!channel> demo', /is not a channel/],
    ['incident offf demo', /`offf` is not a channel/],
    // Options are refused as every subcommand refuses them, by the option's name, not its value.
    ['incident <#C0INCIDENT|x> --node n demo', /^`--node` is not an option of `incident`\.$/],
    ['incident <#C0INCIDENT|x> demo --limit=5', /^`--limit` is not an option of `incident`\.$/],
    ['incident --bogus <#C0INCIDENT|x> demo', /^unknown option `--bogus`\.$/],
    ['incident off demo -f', /^unknown option `-f`\.$/],
  ])('%j', (text, error) => {
    const r = parseCommand(text);
    expect(r).toMatchObject({ ok: false, usage: USAGE_LINE });
    expect(r.ok ? '' : r.error).toMatch(error);
  });

  it('quotes a long wrong argument clipped to 40 characters, with no backtick of its own', () => {
    const r = parseCommand(`incident ${'C'.repeat(10)}\`${'x'.repeat(60)} demo`);
    expect(r.ok).toBe(false);
    const quoted = /^`([^`]*)` is not a channel/.exec(r.ok ? '' : r.error)?.[1];
    expect(quoted).toBeDefined();
    expect(quoted!.length).toBe(41); // 40 characters and "…"
    expect(quoted!.endsWith('…')).toBe(true);
  });

  it('an argument past 255 characters is refused before anything else, with the incident usage', () => {
    const r = parseCommand(`incident <#C0INCIDENT|${'n'.repeat(300)}> demo`);
    expect(r).toMatchObject({ ok: false, usage: USAGE_LINE, error: expect.stringMatching(/is too long \(\d+ characters; an argument is at most 255\)/) });
  });

  it('the usage names both forms', () => {
    expect(USAGE.incident).toBe('/cws incident <#channel> <cluster> | /cws incident off <cluster>');
  });
});

describe('/cws incident: what the manifest makes Slack send', () => {
  // manifest.json has `should_escape: true`: Slack sends a channel picked from its list as
  // `<#C…|cws-incident>`. A `#name` Slack did not recognise arrives as plain text and is refused
  // with what to do (pick the channel from the list).
  it('a plain `#name` is refused as not a channel mention, saying how to mention it', () => {
    const r = parseCommand('incident #cws-incident demo');
    expect(r).toMatchObject({ ok: false, usage: USAGE_LINE });
    expect(r.ok ? '' : r.error).toMatch(/`#cws-incident` is not a channel mention: type # and pick the channel/);
  });

  it('the manifest asks Slack to escape channels, users and links', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8')) as {
      features: { slash_commands: { should_escape?: boolean }[] };
    };
    expect(manifest.features.slash_commands.every((c) => c.should_escape === true)).toBe(true);
  });

  it('what the sandbox sends for a typed #channel parses as that channel', () => {
    const text = escapeCommandText('incident #cws-incident demo', new Map([['C0INCIDENT', 'cws-incident']]), new Map());
    expect(text).toBe('incident <#C0INCIDENT|cws-incident> demo');
    expect(parseCommand(text)).toMatchObject({ ok: true, command: { name: 'incident', channel: 'C0INCIDENT', cluster: 'demo' } });
  });

  it('escaped emails, users and links still parse as typed (a flare email, a stray mention left as it was)', () => {
    const text = escapeCommandText(
      'flare demo 12345 --email ops@example.com @alex #nowhere https://x.example',
      new Map(),
      new Map([['U0APPROVER', { name: 'alex' }]]),
    );
    expect(text).toBe('flare demo 12345 --email <mailto:ops@example.com|ops@example.com> <@U0APPROVER|alex> #nowhere <https://x.example>');
    expect(parseCommand('flare demo 12345 --email <mailto:ops@example.com|ops@example.com>')).toMatchObject({
      ok: true,
      command: { email: 'ops@example.com' },
    });
  });
});
