/**
 * Every kind of interactive element the bot renders, in one place: the block builders take an
 * element's `action_id` from here, and `listeners/actions/index.ts` binds each kind's pattern to
 * its handler, so a builder and its handler cannot drift apart.
 *
 * Slack refuses a message whose actions block repeats an `action_id` (`invalid_blocks`,
 * "`action_id` "x" already exists"), so elements of one kind that share a block get
 * `<kind>:<n>`, n counting 0, 1, 2… within the message. The number only makes the id unique:
 * a handler takes what it acts on from the clicked element's `value`, re-checked against the
 * stored job record, never from n, a position or another element.
 */

export interface ActionKind {
  /** e.g. `selftest.restart` */
  readonly kind: string;
  /** The `action_id` of the n-th element of this kind in a message (just the kind when alone). */
  id(n?: number): string;
  /** Matches every `action_id` this kind renders, and nothing of another kind. */
  readonly pattern: RegExp;
}

function actionKind(kind: string): ActionKind {
  const pattern = new RegExp(`^${kind.replace(/\./g, '\\.')}(?::(?:0|[1-9][0-9]{0,2}))?$`);
  return {
    kind,
    id: (n) => (n === undefined ? kind : `${kind}:${n}`),
    pattern,
  };
}

export const ACTIONS = {
  selftestRerun: actionKind('selftest.rerun'),
  selftestRerunFailed: actionKind('selftest.rerun_failed'),
  selftestFlare: actionKind('selftest.flare'),
  selftestRestart: actionKind('selftest.restart'),
  netcheckRemediate: actionKind('netcheck.remediate'),
  netcheckRecheck: actionKind('netcheck.recheck'),
  selftestRerunNode: actionKind('selftest.rerun_node'),
  remediationRevert: actionKind('remediation.revert'),
  flareSend: actionKind('flare.send'),
  flareCancel: actionKind('flare.cancel'),
  flarePickNode: actionKind('flare.pick_node'),
  approvalApprove: actionKind('approval.approve'),
  approvalReject: actionKind('approval.reject'),
} as const satisfies Record<string, ActionKind>;

export type ActionName = keyof typeof ACTIONS;

/** The kind an `action_id` belongs to, if the bot renders it. */
export function actionKindOf(actionId: string): ActionName | undefined {
  for (const [name, k] of Object.entries(ACTIONS)) if (k.pattern.test(actionId)) return name as ActionName;
  return undefined;
}
