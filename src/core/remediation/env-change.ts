import { configLayout } from '../netcheck/config.ts';
import type { Version } from '../netcheck/version.ts';
import type { EnvSnapshot, RemediationAction } from '../results.ts';

/**
 * The env vars of a network option the agent version actually reads, for a patch of system-probe
 * (src/core/netcheck/config.ts has the sources). Before 7.44 only DD_RUNTIME_SECURITY_CONFIG_NETWORK_*
 * exists. From 7.44 both names are bound to event_monitoring_config.network.*, DD_EVENT_MONITORING_CONFIG_*
 * first: DD_RUNTIME_SECURITY_CONFIG_NETWORK_* is read unless the container already sets the
 * DD_EVENT_MONITORING_CONFIG_* one, which then wins and is the one to patch. Version unknown: the
 * name every version reads, plus the new one when it is set (it would shadow the patch on newer agents).
 */
export function networkEnvNames(option: 'ENABLED' | 'CLASSIFIER_PRIORITY', reads: AgentReads = {}): string[] {
  const legacy = `DD_RUNTIME_SECURITY_CONFIG_NETWORK_${option}`;
  const modern = `DD_EVENT_MONITORING_CONFIG_NETWORK_${option}`;
  const layout = configLayout(reads.version);
  const hasModern = (reads.systemProbeEnv ?? []).some((e) => e.name === modern && (e.value !== '' || e.valueFrom !== undefined));
  if (layout === 'legacy' || !hasModern) return [legacy];
  return layout === 'event_monitoring' ? [modern] : [legacy, modern];
}

/** What the remediation knows of the agent: its version (image tag) and system-probe's current env. */
export interface AgentReads {
  version?: Version | undefined;
  systemProbeEnv?: readonly EnvVarLike[] | undefined;
}

/** DESIGN.md "Remediation": what each action sets, on which agent containers (env names by agent version). */
export function envChangeFor(
  action: Exclude<RemediationAction, 'revert'>,
  containers: { systemProbe: string; securityAgent: string },
  priority?: number,
  reads: AgentReads = {},
): EnvSnapshot {
  const set = (option: 'ENABLED' | 'CLASSIFIER_PRIORITY', value: string) => Object.fromEntries(networkEnvNames(option, reads).map((n) => [n, value]));
  switch (action) {
    case 'set_classifier_priority':
      if (!priority) throw new Error('set_classifier_priority needs a priority');
      return { [containers.systemProbe]: set('CLASSIFIER_PRIORITY', String(priority)) };
    case 'disable_network_detections':
      return { [containers.systemProbe]: set('ENABLED', 'false') };
    case 'disable_cws':
      return {
        [containers.systemProbe]: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' },
        [containers.securityAgent]: { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' },
      };
  }
}

export interface EnvVarLike {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** The current values of the vars a change touches (null = absent; valueFrom shows as its kind). */
export function snapshot(envs: Record<string, EnvVarLike[] | undefined>, change: EnvSnapshot): EnvSnapshot {
  const out: EnvSnapshot = {};
  for (const [container, vars] of Object.entries(change)) {
    out[container] = {};
    for (const name of Object.keys(vars)) {
      const e = envs[container]?.find((x) => x.name === name);
      out[container]![name] = e ? (e.value ?? (e.valueFrom ? '(valueFrom)' : '')) : null;
    }
  }
  return out;
}

/** A container's env with the change applied: values set in place or appended, nulls removed. */
export function applyEnv(env: EnvVarLike[] | undefined, vars: Record<string, string | null>): EnvVarLike[] {
  const result = (env ?? [])
    .filter((e) => !(e.name in vars && vars[e.name] === null))
    .map((e) => (e.name in vars ? { name: e.name, value: vars[e.name]! } : e));
  for (const [name, value] of Object.entries(vars)) if (value !== null && !result.some((e) => e.name === name)) result.push({ name, value });
  return result;
}

export const sameSnapshot = (a: EnvSnapshot, b: EnvSnapshot) => JSON.stringify(a) === JSON.stringify(b);
