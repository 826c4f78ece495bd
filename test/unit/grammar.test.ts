import { describe, expect, it } from 'vitest';
import { parseCommand, tokenize } from '../../src/commands/grammar.ts';

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
  ])('accepts %j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['frobnicate', /unknown subcommand `frobnicate`/, /selftest/],
    ['selftest', /cluster name is required/, /\/cws selftest <cluster>/],
    ['selftest Cluster-A', /not a valid cluster name/, /selftest/],
    ['selftest -a', /unknown option `-a`/, /selftest/],
    ['selftest a;rm', /not a valid cluster name/, /selftest/],
    ['selftest a;rm -rf /', /unknown option `-r`/, /selftest/],
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

  it('tokenize unwraps Slack escapes and splits on any whitespace', () => {
    expect(tokenize(' a\tb\n <mailto:x@y.z|x@y.z> ')).toEqual(['a', 'b', 'x@y.z']);
  });
});
