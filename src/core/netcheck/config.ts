import { parse as parseYaml } from 'yaml';
import { compareVersions, formatVersion, releaseLine, v, type Version } from './version.ts';

/**
 * The CWS settings that decide netcheck, as the system-probe would see them (pure).
 *
 * Sources, strongest first: container env of the system-probe container (env wins over the
 * file, as in the agent's viper config), `system-probe.yaml` (the Helm chart renders it into
 * the ConfigMap `<fullname>-system-probe-config`), then the agent's default for its version.
 * Each value says where it came from: `env:system-probe`, `configmap`, `file`,
 * `default(7.50.3)`, `fixed(7.38.0)`, `unknown`.
 *
 * What the agent sources say (DataDog/datadog-agent):
 * - `runtime_security_config.enabled`: default false (pkg/config/setup/system_probe_cws.go).
 * - `network.enabled`: today `event_monitoring_config.network.enabled`, default true, bound to
 *   both DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED and DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED
 *   (pkg/config/setup/system_probe.go, eventMonitorBindEnvAndSetDefault). The CWS network
 *   feature appeared in 7.36 where it was off by default (docs: "Agent 7.36 only: to enable CWS
 *   network event collection … runtime_security_config.network.enabled: true"); from 7.37 on
 *   it defaults to true. Before 7.36 there are no CWS network classifiers at all.
 * - `network.classifier_priority`: default 10, configurable since 7.39.2 (PR #13692, backport
 *   #13762: "the default priority level is now set to 10 (instead of 1)"); before that the
 *   classifiers always took priority 1 whatever the config says. 0 lets ebpf-manager/the kernel
 *   pick, which netcheck cannot predict.
 * - In the file, the deprecated `runtime_security_config.network.*` key is read before
 *   `event_monitoring_config.network.*` (pkg/security/probe/config: getBool/getInt check
 *   IsConfigured(deprecatedKey) first). Newer agents bind the env vars only to the
 *   event_monitoring_config key, so a `runtime_security_config.network.*` line in the file —
 *   which the Helm chart always renders — may take precedence over the env var there. netcheck
 *   keeps "env wins" (DESIGN.md) and reports the disagreement in `conflicts`.
 */

export interface EnvVar {
  name: string;
  value?: string;
  /** Set when the value comes from a Secret/ConfigMap/field reference: not readable here. */
  valueFrom?: unknown;
}

export interface CwsConfigInputs {
  /** Agent version (image tag); undefined = unknown. */
  agentVersion: Version | undefined;
  /** Env of the system-probe container; undefined = not read / container not found. */
  systemProbeEnv?: readonly EnvVar[] | undefined;
  /** Env of the security-agent container, compared for `runtime_security_config.enabled` only. */
  securityAgentEnv?: readonly EnvVar[] | undefined;
  /** `system-probe.yaml` text and where it was read. */
  systemProbeYaml?: { text: string; origin: 'configmap' | 'file' } | undefined;
  /** Container name used in origins (`env:<name>`); default `system-probe`. */
  systemProbeContainer?: string;
}

export interface ConfigValue<T> {
  value: T | undefined;
  /** `env:system-probe`, `configmap`, `file`, `default(7.50.3)`, `fixed(7.38.0)`, `unknown`. */
  origin: string;
  /** The env var or YAML key the value was read from. */
  key?: string;
  /** The raw string, for env values. */
  raw?: string;
  /** Why the value is unknown, ignored or surprising. */
  note?: string;
}

export interface EffectiveCwsConfig {
  cwsEnabled: ConfigValue<boolean>;
  networkEnabled: ConfigValue<boolean>;
  classifierPriority: ConfigValue<number>;
  /** Env and file disagree where newer agents may honour the file (see the module comment). */
  conflicts: ConfigConflict[];
  notes: string[];
}

const NETWORK_SINCE = v('7.36.0');
const NETWORK_DEFAULT_ON_SINCE = v('7.37.0');
export const CLASSIFIER_PRIORITY_SINCE = v('7.39.2');
export const DEFAULT_CLASSIFIER_PRIORITY = 10;
/** Before 7.39.2 the agent's classifiers always took priority 1. */
export const LEGACY_CLASSIFIER_PRIORITY = 1;

export type Setting = 'enabled' | 'network.enabled' | 'network.classifier_priority';

export interface ConfigConflict {
  setting: Setting;
  message: string;
}

const ENV_NAMES: Record<Setting, string[]> = {
  enabled: ['DD_RUNTIME_SECURITY_CONFIG_ENABLED'],
  // viper BindEnv order in eventMonitorBindEnvAndSetDefault: the event_monitoring name first
  'network.enabled': ['DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED', 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED'],
  'network.classifier_priority': ['DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY', 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY'],
};

const FILE_KEYS: Record<Setting, string[]> = {
  enabled: ['runtime_security_config.enabled'],
  // deprecated key first, as getBool/getInt read it
  'network.enabled': ['runtime_security_config.network.enabled', 'event_monitoring_config.network.enabled'],
  'network.classifier_priority': ['runtime_security_config.network.classifier_priority', 'event_monitoring_config.network.classifier_priority'],
};

export function effectiveCwsConfig(inputs: CwsConfigInputs): EffectiveCwsConfig {
  const container = inputs.systemProbeContainer ?? 'system-probe';
  const notes: string[] = [];
  const conflicts: ConfigConflict[] = [];
  const ver = inputs.agentVersion;
  const verText = ver ? formatVersion(ver) : undefined;

  let doc: unknown;
  if (inputs.systemProbeYaml) {
    try {
      doc = parseYaml(inputs.systemProbeYaml.text);
    } catch (err) {
      notes.push(`system-probe.yaml (${inputs.systemProbeYaml.origin}) is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
      doc = undefined;
    }
  }
  const fileOrigin = inputs.systemProbeYaml?.origin ?? 'file';
  const fileRead = inputs.systemProbeYaml !== undefined && doc !== undefined;

  const resolve = <T>(setting: Setting, parse: (raw: unknown) => T | undefined, dflt: () => ConfigValue<T>): ConfigValue<T> => {
    const env = fromEnv(inputs.systemProbeEnv, ENV_NAMES[setting], container, parse);
    const file = fileRead ? fromFile(doc, FILE_KEYS[setting], fileOrigin, parse) : undefined;
    if (
      env &&
      file &&
      file.value !== undefined &&
      env.value !== undefined &&
      file.value !== env.value &&
      file.key?.startsWith('runtime_security_config.network.')
    )
      conflicts.push({
        setting,
        message: `${env.key}=${env.raw} (env) and ${file.key}: ${String(file.value)} (${fileOrigin}) disagree; netcheck applies the env value, but agents that read event_monitoring_config give the file's deprecated runtime_security_config.network.* key precedence`,
      });
    if (env) return env;
    if (file) return file;
    if (inputs.systemProbeEnv === undefined && !fileRead)
      return { value: undefined, origin: 'unknown', note: 'neither the system-probe env nor system-probe.yaml could be read' };
    return dflt();
  };

  const cwsEnabled = resolve('enabled', toBool, () => ({
    value: false,
    origin: `default(${verText ?? 'any'})`,
    note: 'runtime_security_config.enabled defaults to false',
  }));

  let networkEnabled = resolve('network.enabled', toBool, () => {
    if (!ver)
      return { value: undefined, origin: 'unknown', note: 'not set; the default depends on the agent version (off in 7.36, on from 7.37), which is unknown' };
    const line = releaseLine(ver);
    if (compareVersions(line, NETWORK_DEFAULT_ON_SINCE) >= 0) return { value: true, origin: `default(${verText})` };
    return {
      value: false,
      origin: `default(${verText})`,
      note: compareVersions(line, NETWORK_SINCE) >= 0 ? 'off by default in 7.36' : 'no CWS network detections before 7.36',
    };
  });
  if (ver && compareVersions(releaseLine(ver), NETWORK_SINCE) < 0 && networkEnabled.value !== false) {
    notes.push(`agent ${verText} predates CWS network detections (7.36): ${networkEnabled.key ?? 'network.enabled'} has no effect`);
    networkEnabled = { value: false, origin: `fixed(${verText})`, note: 'no CWS network detections before 7.36' };
  }

  let classifierPriority = resolve('network.classifier_priority', toPriority, () =>
    ver
      ? { value: DEFAULT_CLASSIFIER_PRIORITY, origin: `default(${verText})` }
      : { value: undefined, origin: 'unknown', note: 'not set; the agent version is unknown (priority 1 before 7.39.2, default 10 after)' },
  );
  if (ver && compareVersions(ver, CLASSIFIER_PRIORITY_SINCE) < 0) {
    if (classifierPriority.key) notes.push(`${classifierPriority.key} is ignored by agent ${verText}: classifier_priority exists since 7.39.2`);
    classifierPriority = { value: LEGACY_CLASSIFIER_PRIORITY, origin: `fixed(${verText})`, note: 'before 7.39.2 the CWS classifiers always take priority 1' };
  } else if (!ver && classifierPriority.key) {
    classifierPriority = { ...classifierPriority, note: 'honoured only by agents ≥ 7.39.2 (before: priority 1); the agent version is unknown' };
  }
  if (classifierPriority.value === 0) classifierPriority = { ...classifierPriority, note: '0 lets ebpf-manager/the kernel pick the priority: not predictable' };

  // security-agent must agree on runtime_security_config.enabled (DESIGN.md: disable CWS on both)
  const sa = fromEnv(inputs.securityAgentEnv, ENV_NAMES.enabled, 'security-agent', toBool);
  if (sa && cwsEnabled.value !== undefined && sa.value !== undefined && sa.value !== cwsEnabled.value)
    notes.push(
      `security-agent has ${sa.key}=${sa.raw} but system-probe resolves runtime_security_config.enabled to ${String(cwsEnabled.value)} (${cwsEnabled.origin})`,
    );
  for (const c of [networkEnabled, classifierPriority])
    if (c.key?.startsWith('DD_EVENT_MONITORING_'))
      notes.push(`${c.key} is read only by agents with the event_monitoring_config layout (2023+); older agents read DD_RUNTIME_SECURITY_CONFIG_*`);

  return { cwsEnabled, networkEnabled, classifierPriority, conflicts, notes };
}

function fromEnv<T>(
  env: readonly EnvVar[] | undefined,
  names: string[],
  container: string,
  parse: (raw: unknown) => T | undefined,
): ConfigValue<T> | undefined {
  if (!env) return undefined;
  for (const name of names) {
    // Kubernetes: the last definition of a duplicated name wins
    const entry = [...env].reverse().find((e) => e.name === name);
    if (!entry) continue;
    if (entry.value === undefined && entry.valueFrom !== undefined)
      return { value: undefined, origin: `env:${container}`, key: name, note: `${name} comes from a reference (valueFrom): not readable here` };
    const raw = entry.value ?? '';
    if (raw === '') continue; // viper ignores empty env vars
    const value = parse(raw);
    const out: ConfigValue<T> = { value, origin: `env:${container}`, key: name, raw };
    if (value === undefined) out.note = `${name}="${raw}" is not a valid value`;
    return out;
  }
  return undefined;
}

function fromFile<T>(doc: unknown, keys: string[], origin: string, parse: (raw: unknown) => T | undefined): ConfigValue<T> | undefined {
  for (const key of keys) {
    const found = lookup(doc, key.split('.'));
    if (!found.present || found.value === null) continue;
    const value = parse(found.value);
    const out: ConfigValue<T> = { value, origin, key };
    if (value === undefined) out.note = `${key}: ${JSON.stringify(found.value)} is not a valid value`;
    return out;
  }
  return undefined;
}

/** Viper-style lookup: nested maps, flat dotted keys (`runtime_security_config.network.enabled: false`) or a mix. */
function lookup(node: unknown, path: string[]): { present: boolean; value?: unknown } {
  if (path.length === 0) return { present: true, value: node };
  if (!node || typeof node !== 'object' || Array.isArray(node)) return { present: false };
  const obj = node as Record<string, unknown>;
  for (let n = path.length; n >= 1; n--) {
    const k = path.slice(0, n).join('.');
    if (Object.prototype.hasOwnProperty.call(obj, k)) {
      const r = lookup(obj[k], path.slice(n));
      if (r.present) return r;
    }
  }
  return { present: false };
}

/** Go strconv.ParseBool, as viper/cast use it: 1 t T TRUE true True / 0 f F FALSE false False. */
export function toBool(raw: unknown): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') return raw === 1 ? true : raw === 0 ? false : undefined;
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim();
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** A tc priority (0–65535). Leading zeros are refused: cast parses "010" as octal 8. */
export function toPriority(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 && raw <= 0xffff ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim();
  if (!/^(0|[1-9]\d*)$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff ? n : undefined;
}
