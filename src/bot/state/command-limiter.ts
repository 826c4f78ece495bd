import { keys } from '../../contract/keys.ts';
import type { Redis } from 'ioredis';
import type { CommandLimits } from '../../config/clusters.ts';

export type LimitDecision = { ok: true } | { ok: false; scope: 'user' | 'cluster'; limit: number; windowSec: number; retryAfterSec: number };

/** Bounds how many cluster commands one user, and one cluster, start per window. */
export interface CommandLimiter {
  take(userId: string, cluster: string): Promise<LimitDecision>;
}

export const DEFAULT_LIMITS: CommandLimits = { perUser: { commands: 20, windowSec: 60 }, perCluster: { commands: 60, windowSec: 60 } };

// Counts one command in both windows at once, but only when both have room (a refused command
// spends nothing). KEYS: user, cluster. ARGV: user limit, user window, cluster limit, cluster window.
// Returns {0, 0} when taken, else {1 (user) | 2 (cluster), ms until that window ends}.
const TAKE = `
local u = tonumber(redis.call('GET', KEYS[1]) or '0')
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
if u >= tonumber(ARGV[1]) then return {1, redis.call('PTTL', KEYS[1])} end
if c >= tonumber(ARGV[3]) then return {2, redis.call('PTTL', KEYS[2])} end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return {0, 0}
`;

/**
 * Fixed windows in Redis, shared by bot replicas. When Redis does not answer, commands are let
 * through (the enqueue that follows reports the outage).
 */
export class RedisCommandLimiter implements CommandLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limits: CommandLimits = DEFAULT_LIMITS,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async take(userId: string, cluster: string): Promise<LimitDecision> {
    const { perUser, perCluster } = this.limits;
    // One hash tag: both keys live in one Redis Cluster slot, so the script may touch both.
    const names = [keys.limitUser(userId), keys.limitCluster(cluster)];
    let r: [number, number];
    try {
      r = (await this.redis.eval(TAKE, 2, ...names, perUser.commands, perUser.windowSec * 1000, perCluster.commands, perCluster.windowSec * 1000)) as [
        number,
        number,
      ];
    } catch (err) {
      this.onError(err);
      return { ok: true };
    }
    if (r[0] === 0) return { ok: true };
    const w = r[0] === 1 ? perUser : perCluster;
    return {
      ok: false,
      scope: r[0] === 1 ? 'user' : 'cluster',
      limit: w.commands,
      windowSec: w.windowSec,
      retryAfterSec: Math.max(1, Math.ceil(Number(r[1]) / 1000)),
    };
  }
}
