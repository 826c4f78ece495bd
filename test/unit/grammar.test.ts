import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_COMMAND_TEXT, MAX_TOKEN, parseCommand, SUMMARY, tokenize, USAGE } from '../../src/core/grammar.ts';

describe('parseCommand', () => {
  it.each([
    ['', { name: 'help' }],
    ['help', { name: 'help' }],
    ['help selftest', { name: 'help', topic: 'selftest' }],
    ['clusters', { name: 'clusters' }],
    ['selftest cluster-a', { name: 'selftest', cluster: 'cluster-a' }],
    ['  SELFTEST   cluster-a  ', { name: 'selftest', cluster: 'cluster-a' }],
    ['selftest cluster-a --node node-7', { name: 'selftest', cluster: 'cluster-a', node: 'node-7' }],
    ['selftest cluster-a --node=ip-10-0-1-2.ec2.internal', { name: 'selftest', cluster: 'cluster-a', node: 'ip-10-0-1-2.ec2.internal' }],
    ['selftest cluster-a \u2014node node-7', { name: 'selftest', cluster: 'cluster-a', node: 'node-7' }],
    ['netcheck prod_eu.1', { name: 'netcheck', cluster: 'prod_eu.1' }],
    ['flare cluster-a --node n1 1234567', { name: 'flare', cluster: 'cluster-a', node: 'n1', caseId: '1234567' }],
    ['flare cluster-a --email a.b+c@example.co.uk', { name: 'flare', cluster: 'cluster-a', email: 'a.b+c@example.co.uk' }],
    ['flare cluster-a --email <mailto:ops@example.com|ops@example.com>', { name: 'flare', cluster: 'cluster-a', email: 'ops@example.com' }],
    [
      'flare cluster-a 1234567 --email=ops@example.com --node n1',
      { name: 'flare', cluster: 'cluster-a', node: 'n1', caseId: '1234567', email: 'ops@example.com' },
    ],
    ['selftest -- cluster-a', { name: 'selftest', cluster: 'cluster-a' }],
  ])('accepts %j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['frobnicate', /unknown subcommand `frobnicate`/, /selftest/],
    ['selftest', /cluster name is required/, /\/cws selftest <cluster>/],
    ['selftest Cluster-A', /not a valid cluster name/, /selftest/],
    ['selftest -a', /unknown option `-a`/, /selftest/],
    ['selftest a;rm', /not a valid cluster name/, /selftest/],
    // Arguments are read left to right; the first wrong one is the one the answer is about.
    ['selftest a;rm -rf /', /`a;rm` is not a valid cluster name/, /selftest/],
    ['selftest cluster-a -rf /', /unknown option `-rf`/, /selftest/],
    ['selftest $(whoami)', /not a valid cluster name/, /selftest/],
    [`selftest ${'a'.repeat(64)}`, /not a valid cluster name/, /selftest/],
    ['selftest cluster-a extra', /unexpected argument `extra`/, /selftest/],
    ['selftest cluster-a --node', /`--node` needs a value/, /selftest/],
    ['selftest cluster-a --node Node_7', /not a valid node name/, /selftest/],
    ['selftest cluster-a --email a@b.co', /`--email` is not an option of `selftest`/, /selftest/],
    ['selftest cluster-a --bogus', /unknown option `--bogus`/, /selftest/],
    ['clusters extra', /takes no arguments/, /\/cws clusters/],
    ['flare cluster-a 12ab', /case ID `12ab` must be digits only/, /flare/],
    ['flare cluster-a --email not-an-email', /is not an email address/, /flare/],
    ['flare cluster-a --email a@b', /is not an email address/, /flare/],
    ['flare cluster-a --email "a@b.co";ls', /is not an email address/, /flare/],
    ['flare cluster-a 1 2', /unexpected argument `2`/, /flare/],
    ['netcheck', /cluster name is required/, /netcheck/],
  ])('rejects %j with a clear message', (text, error, usage) => {
    const r = parseCommand(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatch(error);
    expect(r.usage).toMatch(usage);
  });

  it('never echoes more than 40 characters of bad input', () => {
    const r = parseCommand(`selftest ${'X'.repeat(500)}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeLessThan(150);
  });

  it('the selftest summary names both binaries the command is chosen from (per agent layout)', () => {
    expect(SUMMARY.selftest).toMatch(/`security-agent`/);
    expect(SUMMARY.selftest).toMatch(/`system-probe`/);
    expect(SUMMARY.selftest).not.toMatch(/run `security-agent runtime self-test`/);
  });

  it('the doc comment about Slack escapes sits on tokenize, not on isEmailAddress', () => {
    const source = readFileSync(new URL('../../src/core/grammar.ts', import.meta.url), 'utf8');
    const before = (decl: string) => source.slice(0, source.indexOf(decl)).trimEnd().split('\n').slice(-4).join('\n');
    expect(before('export const isEmailAddress')).not.toMatch(/Slack may escape/);
    expect(before('export function tokenize')).toMatch(/Slack may escape/);
  });

  it('tokenize unwraps Slack escapes and splits on any whitespace', () => {
    expect(tokenize(' a\tb\n <mailto:x@y.z|x@y.z> ')).toEqual(['a', 'b', 'x@y.z']);
  });

  const rejected = (text: string) => {
    const r = parseCommand(text);
    if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.command)}`);
    return r;
  };

  it('an option takes the next token as its value, however odd, then checks it', () => {
    // `/cws selftest demo --node "; rm -rf /"`: Slack sends the quotes as typed.
    for (const text of ['selftest demo --node "; rm -rf /"', 'flare demo --node "; rm -rf /"']) {
      const r = rejected(text);
      expect(r.error).toBe('`";` is not a valid node name (lowercase letters, digits, "-", ".").');
      expect(r.error).not.toMatch(/unknown option/i);
    }
    expect(rejected('selftest demo --node -rf').error).toMatch(/^`-rf` is not a valid node name/);
    expect(rejected('selftest demo --node --email').error).toMatch(/^`--email` is not a valid node name/);
    expect(rejected('flare demo --email "; rm -rf /"').error).toBe('`";` is not an email address.');
    // taken as the value of --email, then refused: a leading "-" would reach the agent's argv after `-e`
    expect(rejected('flare demo --email -x@y.co').error).toBe('`-x@y.co` is not an email address.');
    expect(rejected('flare demo --email=').error).toBe('option `--email` needs a value.');
  });

  it('refuses every email the flare job would refuse after the command was accepted (found by test/property)', () => {
    // These used to be accepted, then FlareJobData (zod's email) refused them at enqueue time and
    // the user read "the job queue (Redis) is unreachable".
    for (const e of ['a..b@x.co', '.a@x.co', 'a.@x.co', 'a%b@x.co', 'a@-x.co', 'a@x.-y.co', '-x@y.co'])
      expect(rejected(`flare demo 123 --email ${e}`).error, e).toBe(`\`${e}\` is not an email address.`);
    for (const e of ['a.b+c@example.co.uk', 'first_last@sub-1.example.com', 'a-b@x.io', '+tag@x.co'])
      expect(parseCommand(`flare demo 123 --email ${e}`), e).toEqual({ ok: true, command: { name: 'flare', cluster: 'demo', caseId: '123', email: e } });
  });

  it('never cuts an emoji in two when it echoes a long argument (found by test/property)', () => {
    const r = rejected(`selftest ${'a'.repeat(39)}\u{1F600}`);
    expect(r.error).toBe(`\`${'a'.repeat(39)}…\` is not a valid cluster name (lowercase letters, digits, "-", "_", ".", at most 63).`);
    expect(r.error).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('an option given twice is refused, not the last one silently kept', () => {
    expect(rejected('selftest demo --node node-1 --node node-2')).toEqual({
      ok: false,
      error: '`--node` given twice.',
      usage: 'Usage: `/cws selftest <cluster> [--node NODE]`',
    });
    expect(rejected('flare demo --email a@b.co --email=c@d.co').error).toBe('`--email` given twice.');
    expect(rejected('flare demo --node=n1 --node n1').error).toBe('`--node` given twice.');
  });

  it(`a text over ${MAX_COMMAND_TEXT} characters, or an over-long argument, gets a usage message, not a validation text`, () => {
    const huge = rejected(`selftest ${'a'.repeat(5000)}`);
    expect(huge).toEqual({
      ok: false,
      error: `that command is 5009 characters long; Slack allows at most ${MAX_COMMAND_TEXT}.`,
      usage: 'Usage: `/cws selftest <cluster> [--node NODE]`',
    });
    expect(rejected(`flare demo --node ${'n'.repeat(4995)}`).usage).toMatch(/\/cws flare/);
    // An unknown subcommand: the list of all of them.
    expect(rejected('x'.repeat(5000)).usage).toMatch(/selftest[\s\S]*netcheck/);
    const token = rejected(`netcheck demo --x ${'y'.repeat(300)}`);
    expect(token.error).toBe(`\`${'y'.repeat(40)}…\` is too long (300 characters; an argument is at most ${MAX_TOKEN}).`);
    expect(token.usage).toBe('Usage: `/cws netcheck <cluster>`');
    for (const r of [huge, token]) expect(`${r.error} ${r.usage}`).not.toMatch(/too big|<=|expected string/i);
    expect(parseCommand(`selftest demo --node ${'n'.repeat(253)}`).ok).toBe(true);
  });
});

describe('manifest.json', () => {
  const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../../manifest.json'), 'utf8')) as {
    features: { slash_commands: { command: string; usage_hint: string }[] };
  };
  const cws = manifest.features.slash_commands.find((c) => c.command === '/cws')!;

  it('the usage_hint of /cws names every subcommand of the grammar, and stays short', () => {
    for (const sub of Object.keys(USAGE)) expect(cws.usage_hint).toMatch(new RegExp(`(^|[^a-z])${sub}([^a-z]|$)`));
    expect(cws.usage_hint.length).toBeLessThanOrEqual(100);
  });
});
