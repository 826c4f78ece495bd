/** The access lists of a cluster's configuration (Slack user IDs U…/W… and user group IDs S…). */
export interface AccessLists {
  run?: string[] | undefined;
  remediate?: string[] | undefined;
  approve?: string[] | undefined;
}

/** What access decisions read of a configured cluster. */
export interface AccessScope {
  name: string;
  config: { access: AccessLists };
}

export type Permission = 'run' | 'remediate' | 'approve';
export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Per-cluster access. An absent list means everyone in the workspace (an explicit choice in the
 * config); an empty list means nobody. `remediate` implies `run`.
 */
export function authorise(
  cluster: AccessScope,
  userId: string,
  permission: Permission,
  /** The user groups (S…) of the lists that the user belongs to, resolved by the caller. */
  userGroups: ReadonlySet<string> = new Set(),
): AccessDecision {
  const access = cluster.config.access;
  const lists = permission === 'run' ? [access.run, access.remediate] : [access[permission]];
  const primary = lists[0];
  if (primary === undefined) return { allowed: true };
  if (lists.some((l) => l?.some((id) => id === userId || userGroups.has(id)))) return { allowed: true };
  const who = primary.length === 0 ? 'nobody is' : 'you are not';
  return {
    allowed: false,
    reason: `${who} allowed to ${verb(permission)} on cluster \`${cluster.name}\` (\`access.${permission}\` in the cws config). Ask an admin of the bot to add your Slack user ID (${userId}).`,
  };
}

const verb = (p: Permission) => (p === 'run' ? 'run commands' : p === 'remediate' ? 'change agents' : 'approve changes');

/** The user group IDs named in a cluster's access lists (to resolve before `authorise`). */
export function groupsIn(config: { access: AccessLists }): string[] {
  const a = config.access;
  return [...new Set([...(a.run ?? []), ...(a.remediate ?? []), ...(a.approve ?? [])].filter((id) => id.startsWith('S')))];
}
