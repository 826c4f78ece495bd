import { describe, expect, it } from 'vitest';
import { countingExecs } from '../../src/observability/metrics.ts';
import { ExecTimeoutError } from '../../workers/targets/errors.ts';

describe('countingExecs: agent commands counted by outcome, chained ones each', () => {
  const counted = () => {
    const seen: string[] = [];
    return { seen, count: (o: string) => seen.push(o) };
  };

  it('counts each command of a chain that ran, a given-up chain as a timeout, and a chain the image cannot run as nothing', async () => {
    const answers = [
      { results: [{ exitCode: 0 }, { exitCode: 3 }] },
      { results: [{ exitCode: 0 }], timedOut: new ExecTimeoutError(1000, 'pod p on n') },
      undefined,
    ];
    const target = {
      name: 'raw',
      exec: async () => ({ exitCode: 0 }),
      execChain: async () => answers.shift(),
    };
    const c = counted();
    const t = countingExecs(target, c.count);
    await t.execChain();
    expect(c.seen).toEqual(['ok', 'nonzero_exit']);
    await t.execChain();
    expect(c.seen.slice(2)).toEqual(['ok', 'timeout']);
    expect(await t.execChain()).toBeUndefined();
    expect(c.seen).toHaveLength(4);
    await t.exec();
    expect(c.seen.at(-1)).toBe('ok');
    expect(t.name).toBe('raw');
  });

  it('a target without chains stays without', () => {
    const t = countingExecs({ exec: async () => ({ exitCode: 0 }) }, () => {});
    expect((t as { execChain?: unknown }).execChain).toBeUndefined();
  });
});
