import type { EnvSnapshot, RemediationAction } from '../results.ts';

/** DESIGN.md "Remediation": what each action sets, on which agent containers. */
export function envChangeFor(
  action: Exclude<RemediationAction, 'revert'>,
  containers: { systemProbe: string; securityAgent: string },
  priority?: number,
): EnvSnapshot {
  switch (action) {
    case 'set_classifier_priority':
      if (!priority) throw new Error('set_classifier_priority needs a priority');
      return { [containers.systemProbe]: { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: String(priority) } };
    case 'disable_network_detections':
      return { [containers.systemProbe]: { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'false' } };
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
