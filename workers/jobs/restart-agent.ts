import type { Job } from 'bullmq';
import { RestartAgentJobData, type RestartAgentResult } from '../../src/contract/jobs.ts';
import { ExecFailedError } from '../targets/errors.ts';
import type { AgentTarget } from '../targets/types.ts';

/** Deletes the agent pod on one node; reports the pod that replaced it when it shows up. */
export async function processRestartAgent(job: Job, target: AgentTarget, waitForReplacementMs = 30_000): Promise<RestartAgentResult> {
  const data = RestartAgentJobData.parse(job.data);
  if (!target.restartAgent)
    throw new ExecFailedError(`restarting agents is not supported on ${target.kind} clusters`, 'Restart the agent service on that machine.');
  const { deleted } = await target.restartAgent(data.node);
  const base = { kind: 'restart-agent' as const, cluster: data.cluster, node: data.node, before: { pod: deleted } };
  if (!deleted) return { ...base, after: { pod: null }, status: 'no_agent' };
  const deadline = Date.now() + waitForReplacementMs;
  let replacement: string | null = null;
  // The DaemonSet controller creates the new pod asynchronously; poll the list with a deadline.
  while (!replacement && Date.now() < deadline) {
    const agents = await target.listAgents({ node: data.node });
    replacement = agents.find((a) => a.pod !== deleted)?.pod ?? null;
    if (!replacement) await new Promise((r) => setTimeout(r, 500));
  }
  return { ...base, after: { pod: replacement }, status: 'restarted' };
}
