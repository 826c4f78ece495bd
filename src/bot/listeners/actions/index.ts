import type { App } from '@slack/bolt';
import type { BotServices } from '../../commands/context.ts';
import { ACTIONS, type ActionName } from '../../../core/slack/actions.ts';
import { handleApprovalApprove, handleApprovalReject } from './approval.ts';
import { handleFlareCancel, handleFlareSend } from './flare-decision.ts';
import { handleFlarePickNode } from './flare-pick-node.ts';
import { handleNetcheckRemediate, handleRemediationRevert } from './remediation.ts';
import type { ActionHandler } from './respond.ts';
import { handleSelftestFlare } from './selftest-flare.ts';
import { handleSelftestRerunFailed } from './selftest-rerun-failed.ts';
import { handleSelftestRerun } from './selftest-rerun.ts';
import { handleSelftestRestart } from './selftest-restart.ts';
import { handleNetcheckRecheck } from './netcheck-recheck.ts';
import { handleSelftestRerunNode } from './selftest-rerun-node.ts';

/** Each kind of action the bot renders (`src/slack/actions.ts`) and the handler that answers it. */
export const ACTION_HANDLERS: Record<ActionName, ActionHandler> = {
  selftestRerun: handleSelftestRerun,
  selftestRerunFailed: handleSelftestRerunFailed,
  selftestFlare: handleSelftestFlare,
  selftestRestart: handleSelftestRestart,
  netcheckRemediate: handleNetcheckRemediate,
  netcheckRecheck: handleNetcheckRecheck,
  selftestRerunNode: handleSelftestRerunNode,
  remediationRevert: handleRemediationRevert,
  flareSend: handleFlareSend,
  flareCancel: handleFlareCancel,
  flarePickNode: handleFlarePickNode,
  approvalApprove: handleApprovalApprove,
  approvalReject: handleApprovalReject,
};

/** Binds every kind's `action_id` pattern to its handler. */
export function register(app: App, services: BotServices): void {
  for (const [name, handle] of Object.entries(ACTION_HANDLERS) as [ActionName, ActionHandler][]) {
    app.action({ action_id: ACTIONS[name].pattern }, (args) => handle(args as Parameters<ActionHandler>[0], services));
  }
}
