import type { JobRecord } from '../state/records.ts';
import { flareKind } from './flare.ts';
import type { JobKind } from './kind.ts';
import { listAgentsKind } from './list-agents.ts';
import { netcheckKind } from './netcheck.ts';
import { remediateKind } from './remediate.ts';
import { restartAgentKind } from './restart-agent.ts';
import { selftestKind } from './selftest.ts';

/** Every kind of job, by the name in its record: what the bot shows while it runs and when it ends. */
export const JOB_KINDS: Record<JobRecord['kind'], JobKind> = {
  selftest: selftestKind,
  netcheck: netcheckKind,
  flare: flareKind,
  remediate: remediateKind,
  'restart-agent': restartAgentKind,
  'list-agents': listAgentsKind,
};

export type { FinalRendering, JobKind, KindDeps, Outcome } from './kind.ts';
