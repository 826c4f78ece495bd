import { describe, expect, it } from 'vitest';
import { signSlackRequest } from '../../src/sandbox/signer.ts';
import { checkBodyShape, checkSignature, MemorySeenRequests } from '../../src/bot/http-guard.ts';

const SECRET = 's3cret';
const NOW = 1_800_000_000;
const signed = (body: string, ts = NOW) => {
  const h = signSlackRequest(SECRET, body, ts);
  return { signature: h['x-slack-signature'], timestamp: h['x-slack-request-timestamp'] };
};

describe('checkSignature', () => {
  it('accepts Slack’s signature and refuses any change to body, timestamp or signature', () => {
    const body = 'command=%2Fcws&text=help';
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), ...signed(body), nowSec: NOW })).toBeUndefined();
    expect(checkSignature({ secret: SECRET, body: Buffer.from(`${body}x`), ...signed(body), nowSec: NOW })).toBe('signature mismatch');
    expect(checkSignature({ secret: 'other', body: Buffer.from(body), ...signed(body), nowSec: NOW })).toBe('signature mismatch');
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), signature: 'v0=00', timestamp: String(NOW), nowSec: NOW })).toBe('signature mismatch');
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), signature: undefined, timestamp: String(NOW), nowSec: NOW })).toBe(
      'missing signature headers',
    );
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), signature: signed(body).signature, timestamp: `${NOW}.5`, nowSec: NOW })).toBe(
      'bad timestamp',
    );
  });

  it('refuses timestamps more than 5 minutes old or in the future', () => {
    const body = 'command=%2Fcws';
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), ...signed(body, NOW - 300), nowSec: NOW })).toBeUndefined();
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), ...signed(body, NOW - 301), nowSec: NOW })).toMatch(/5 minutes/);
    expect(checkSignature({ secret: SECRET, body: Buffer.from(body), ...signed(body, NOW + 301), nowSec: NOW })).toMatch(/5 minutes/);
  });
});

describe('checkBodyShape', () => {
  const form = 'application/x-www-form-urlencoded';
  it('accepts what Slack sends', () => {
    expect(checkBodyShape('command=%2Fcws&text=help', form)).toBeUndefined();
    expect(checkBodyShape(`payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions' }))}`, form)).toBeUndefined();
    expect(checkBodyShape('ssl_check=1&token=x', form)).toBeUndefined();
    expect(checkBodyShape(JSON.stringify({ type: 'event_callback' }), 'application/json; charset=utf-8')).toBeUndefined();
  });
  it.each([
    ['payload=null', form, 'payload is not an object'],
    ['payload=%5B%5D', form, 'payload is not an object'],
    ['payload=1', form, 'payload is not an object'],
    ['payload=%7B%7D', form, 'payload has no type'],
    ['payload=%7B', form, 'payload is not JSON'],
    ['payload=%7B%7D&payload=%7B%7D', form, 'more than one payload'],
    ['text=hello', form, 'neither a command nor a payload'],
    ['', form, 'neither a command nor a payload'],
    ['null', 'application/json', 'body is not an object'],
    ['[1]', 'application/json', 'body is not an object'],
    ['"x"', 'application/json', 'body is not an object'],
    ['{"a":1}', 'application/json', 'body has no type'],
    ['{', 'application/json', 'body is not JSON'],
    ['<xml/>', 'text/xml', 'unsupported content type text/xml'],
    ['x', undefined, 'unsupported content type (none)'],
  ])('refuses %j (%s)', (body, type, why) => {
    expect(checkBodyShape(body, type)).toBe(why);
  });
});

describe('MemorySeenRequests', () => {
  it('says a key is new once within its time to live', async () => {
    let now = 0;
    const seen = new MemorySeenRequests(() => now);
    expect(await seen.firstSeen('a', 10)).toBe(true);
    expect(await seen.firstSeen('a', 10)).toBe(false);
    expect(await seen.firstSeen('b', 10)).toBe(true);
    now = 10_001;
    expect(await seen.firstSeen('a', 10)).toBe(true);
  });
});
