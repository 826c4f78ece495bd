import { describe, expect, it } from 'vitest';
import { sandboxRequested } from '../../src/sandbox/mode.ts';

describe('sandboxRequested (npm start)', () => {
  it.each([
    [{}, true],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, false],
    [{ SLACK_SIGNING_SECRET: 's' }, false],
    [{ SLACK_APP_TOKEN: 'xapp-1' }, false],
    [{ SLACK_BOT_TOKEN: '' }, true],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SANDBOX: '1' }, true],
    [{ SANDBOX: '0' }, false],
  ])('%j -> %s', (env, expected) => {
    expect(sandboxRequested(env)).toBe(expected);
  });
});
