import type { ClusterConfig } from '../config/clusters.ts';

export type Permission = 'run' | 'remediate' | 'approve';
export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Per-cluster access. An absent list means everyone in the workspace (an explicit choice in the
 * config); an empty list means nobody. `remediate` implies `run`.
 */
export function authorise(cluster: { name: string; config: ClusterConfig }, userId: string, permission: Permission): AccessDecision {
  const access = cluster.config.access;
  const lists = permission === 'run' ? [access.run, access.remediate] : [access[permission]];
  const primary = lists[0];
  if (primary === undefined) return { allowed: true };
  if (lists.some((l) => l?.includes(userId))) return { allowed: true };
  const who = primary.length === 0 ? 'nobody is' : 'you are not';
  return {
    allowed: false,
    reason: `${who} allowed to ${verb(permission)} on cluster \`${cluster.name}\` (\`access.${permission}\` in the cws config). Ask an admin of the bot to add your Slack user ID (${userId}).`,
  };
}

const verb = (p: Permission) => (p === 'run' ? 'run commands' : p === 'remediate' ? 'change agents' : 'approve changes');
