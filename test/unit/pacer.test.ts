import { describe, expect, it } from 'vitest';
import { type Clock, Pacer, type Priority, TokenBucket } from '../../src/bot/pacer.ts';

/** A clock that only moves when told to; timers fire in order as it passes them. No sleeps. */
function fakeClock(start = 1_000_000) {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
  };
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return {
    clock,
    get now() {
      return now;
    },
    pendingTimers: () => timers.size,
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        await settle();
      }
      now = end;
      await settle();
    },
    settle,
  };
}

/** Records when each request was granted, relative to the start. */
function recorder(t: ReturnType<typeof fakeClock>, pacer: Pacer) {
  const t0 = t.now;
  const granted: { name: string; at: number }[] = [];
  const ask = (name: string, key: string, priority: Priority, notBefore?: number) => {
    const ticket = pacer.request(key, priority, notBefore === undefined ? 0 : t0 + notBefore);
    void ticket.granted.then(
      () => granted.push({ name, at: t.now - t0 }),
      () => granted.push({ name: `${name}:cancelled`, at: t.now - t0 }),
    );
    return ticket;
  };
  return { granted, ask, names: () => granted.map((g) => g.name) };
}

const budgets = { 'chat.update': { capacity: 5, refillPerSec: 1 }, 'chat.postMessage': { capacity: 2, refillPerSec: 1 } };

describe('TokenBucket', () => {
  it('gives its burst at once, then its rate', () => {
    let now = 0;
    const b = new TokenBucket({ capacity: 3, refillPerSec: 0.5 }, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.msUntil()).toBe(2000);
    now = 1999;
    expect(b.take()).toBe(false);
    now = 2000;
    expect(b.take()).toBe(true);
    now = 100_000;
    expect(b.available()).toBe(3); // never above capacity
  });

  it('keeps a reserve: take(reserve) leaves that many tokens', () => {
    let now = 0;
    const b = new TokenBucket({ capacity: 4, refillPerSec: 1 }, () => now);
    expect(b.take(2)).toBe(true); // 3 left
    expect(b.take(2)).toBe(true); // 2 left
    expect(b.take(2)).toBe(false);
    expect(b.msUntil(2)).toBe(1000);
    expect(b.take()).toBe(true);
    expect(b.msUntil(4)).toBe(Number.POSITIVE_INFINITY); // more than the bucket holds
    now = 1000;
    expect(b.available()).toBeCloseTo(2);
  });

  it('a 429 pauses it for Retry-After, then lets one call through, and lowers its figures for a while', () => {
    let now = 0;
    const b = new TokenBucket({ capacity: 10, refillPerSec: 1 }, () => now);
    b.penalise(3000);
    expect(b.take()).toBe(false);
    expect(b.msUntil()).toBe(3000);
    now = 2999;
    expect(b.take()).toBe(false);
    now = 3000;
    expect(b.take()).toBe(true);
    expect(b.learnedFactor).toBeCloseTo(0.8);
    expect(b.take()).toBe(false);
    expect(b.msUntil()).toBe(1250); // 0.8 token/s
    now = 3000 + 60_000;
    expect(b.capacity).toBeCloseTo(10 * 0.85, 5); // +5 % per quiet minute
    now = 3000 + 5 * 60_000;
    expect(b.learnedFactor).toBe(1);
    expect(b.pristine).toBe(true);
  });
});

describe('Pacer', () => {
  it('serves a burst at once and the rest at the refill rate, without any real time passing', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets });
    const r = recorder(t, pacer);
    for (let i = 0; i < 8; i++) r.ask(`u${i}`, 'chat.update', 'normal');
    await t.settle();
    expect(r.granted.map((g) => g.at)).toEqual([0, 0, 0, 0, 0]);
    await t.advance(3000);
    expect(r.granted.map((g) => g.at)).toEqual([0, 0, 0, 0, 0, 1000, 2000, 3000]);
    expect(r.names()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']);
    expect(t.pendingTimers()).toBe(0);
  });

  it('final results go first: a final asked later is served before every waiting progress edit', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets });
    const r = recorder(t, pacer);
    for (let i = 0; i < 5; i++) r.ask(`drain${i}`, 'chat.update', 'final');
    r.ask('progress-a', 'chat.update', 'progress');
    r.ask('progress-b', 'chat.update', 'progress');
    await t.advance(500);
    r.ask('final-c', 'chat.update', 'final');
    r.ask('post', 'chat.update', 'normal');
    await t.advance(4000);
    expect(r.names().slice(5)).toEqual(['final-c', 'post', 'progress-a', 'progress-b']);
    expect(r.granted.slice(5).map((g) => g.at)).toEqual([1000, 2000, 3000, 4000]);
  });

  it('progress edits only spend tokens above the reserve; finals may spend them all', async () => {
    const t = fakeClock();
    let reserve = 3;
    const pacer = new Pacer({ clock: t.clock, budgets, reserve: (key) => (key === 'chat.update' ? reserve : 0) });
    const r = recorder(t, pacer);
    for (let i = 0; i < 4; i++) r.ask(`p${i}`, 'chat.update', 'progress');
    await t.settle();
    expect(r.names()).toEqual(['p0', 'p1']); // 5 tokens, 3 kept back
    for (let i = 0; i < 3; i++) r.ask(`f${i}`, 'chat.update', 'final');
    await t.settle();
    expect(r.names()).toEqual(['p0', 'p1', 'f0', 'f1', 'f2']); // the reserve was theirs
    // Progress waits until the bucket has climbed back above the reserve (4 tokens, at 1 token/s)...
    await t.advance(3999);
    expect(r.names()).toHaveLength(5);
    await t.advance(1);
    expect(r.names()).toEqual(['p0', 'p1', 'f0', 'f1', 'f2', 'p2']);
    // ...and the reserve shrinks as the messages it was kept for get their results.
    reserve = 0;
    r.ask('nudge', 'chat.update', 'normal');
    await t.settle();
    expect(r.granted.slice(6)).toEqual(
      expect.arrayContaining([
        { name: 'nudge', at: 4000 },
        { name: 'p3', at: 4000 },
      ]),
    );
  });

  it('a reserve larger than the bucket still lets progress through when the bucket is full', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets, reserve: () => 100 });
    const r = recorder(t, pacer);
    r.ask('p', 'chat.update', 'progress');
    r.ask('q', 'chat.update', 'progress');
    await t.settle();
    expect(r.names()).toEqual(['p']); // clamped to capacity − 1 = 4
    await t.advance(1000);
    expect(r.names()).toEqual(['p', 'q']);
  });

  it('a 429 delays only its own bucket: other methods and other channels go on', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets });
    const r = recorder(t, pacer);
    pacer.rateLimited('chat.update', 3000);
    r.ask('update', 'chat.update', 'final');
    r.ask('post-C1', Pacer.key('chat.postMessage', 'C1'), 'normal');
    r.ask('post-C2', Pacer.key('chat.postMessage', 'C2'), 'normal');
    r.ask('ephemeral', 'chat.postEphemeral', 'normal');
    await t.settle();
    expect(r.names()).toEqual(['post-C1', 'post-C2', 'ephemeral']);
    await t.advance(2999);
    expect(r.names()).toHaveLength(3);
    await t.advance(1);
    expect(r.granted.at(-1)).toEqual({ name: 'update', at: 3000 });
    expect(pacer.stats.rateLimited).toBe(1);
    expect(pacer.bucket('chat.update').learnedFactor).toBeCloseTo(0.8);
    expect(pacer.bucket(Pacer.key('chat.postMessage', 'C1')).learnedFactor).toBe(1);
  });

  it('a 429 on one channel pauses that channel only', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets });
    const r = recorder(t, pacer);
    pacer.rateLimited(Pacer.key('chat.postMessage', 'C1'), 2000);
    r.ask('C1', Pacer.key('chat.postMessage', 'C1'), 'normal');
    r.ask('C2', Pacer.key('chat.postMessage', 'C2'), 'normal');
    await t.settle();
    expect(r.names()).toEqual(['C2']);
    await t.advance(2000);
    expect(r.names()).toEqual(['C2', 'C1']);
  });

  it('honours notBefore, and a promoted request moves up and forward', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets });
    const r = recorder(t, pacer);
    const a = r.ask('a', 'chat.update', 'progress', 1000);
    r.ask('b', 'chat.update', 'progress', 600);
    await t.advance(500);
    expect(r.names()).toEqual([]);
    expect(pacer.promote(a, 'final', 200)).toBe(true);
    await t.settle();
    expect(r.granted).toEqual([{ name: 'a', at: 500 }]);
    await t.advance(100);
    expect(r.names()).toEqual(['a', 'b']);
    expect(pacer.promote(a, 'final')).toBe(false); // already served
  });

  it('among progress edits, the one eligible longest goes first', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets: { 'chat.update': { capacity: 1, refillPerSec: 1 } } });
    const r = recorder(t, pacer);
    r.ask('drain', 'chat.update', 'normal');
    r.ask('late', 'chat.update', 'progress', 800);
    r.ask('early', 'chat.update', 'progress', 100);
    await t.advance(2000);
    expect(r.names()).toEqual(['drain', 'early', 'late']);
  });

  it('cancel withdraws a waiting request', async () => {
    const t = fakeClock();
    const pacer = new Pacer({ clock: t.clock, budgets: { 'chat.update': { capacity: 1, refillPerSec: 1 } } });
    const r = recorder(t, pacer);
    r.ask('a', 'chat.update', 'normal');
    const b = r.ask('b', 'chat.update', 'normal');
    r.ask('c', 'chat.update', 'normal');
    expect(pacer.cancel(b)).toBe(true);
    await t.advance(1000);
    expect(r.names()).toEqual(['a', 'b:cancelled', 'c']);
    expect(pacer.waiting()).toBe(0);
  });

  it('keeps 12 jobs × 1 edit/s under tier 3 with their 12 finals sent at once', async () => {
    // The busy-workspace shape with the default figures: every job's progress edit wants to go
    // each second; one open message per job holds a token for its final.
    const t = fakeClock();
    let open = 12;
    const pacer = new Pacer({ clock: t.clock, reserve: () => Math.min(open, 12) });
    const r = recorder(t, pacer);
    for (let s = 0; s < 4; s++) {
      for (let j = 0; j < 12; j++) r.ask(`p${j}@${s}`, 'chat.update', 'progress', s * 1000);
      await t.advance(1000);
    }
    const progressSent = r.granted.length;
    expect(progressSent).toBeLessThanOrEqual(3 + 4); // the 3 tokens above the reserve, then ~0.75/s
    for (let j = 0; j < 12; j++) r.ask(`final${j}`, 'chat.update', 'final');
    await t.settle();
    const finals = r.granted.filter((g) => g.name.startsWith('final'));
    expect(finals).toHaveLength(12);
    expect(new Set(finals.map((f) => f.at))).toEqual(new Set([4000]));
    open = 0;
    // Within any 60 s window no more than capacity + 45 edits (Slack: 50+ a minute, burst allowed).
    await t.advance(60_000);
    const inFirstMinute = r.granted.filter((g) => g.at < 60_000).length;
    expect(inFirstMinute).toBeLessThanOrEqual(15 + 45);
  });
});
