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
 * - Precedence of the network keys, as the agent applies it (agents with the event_monitoring_config
 *   layout, from EVENT_MONITORING_SINCE): pkg/security/probe/config/config.go (DataDog/datadog-agent,
 *   commit 006787fa0c058aa379c859f6cd096131daecec84) reads every `network.*` option with
 *   getBool/getInt(key): `if IsConfigured("runtime_security_config." + key) { log.Warnf("%s has been
 *   deprecated: please set %s instead"); return Get(deprecatedKey) }; return Get("event_monitoring_config." + key)`.
 *   The env names are bound to the new key only, both of them, DD_EVENT_MONITORING_CONFIG_* first
 *   (pkg/config/setup/system_probe_cws.go, commit fde1ec2736ae4fdc6b7e38595f9977cde2513e83, and
 *   system_probe.go: eventMonitorBindEnvAndSetDefault → BindEnvAndSetDefault(key, val, emConfigKey,
 *   runtimeSecKey)). So: the deprecated key in system-probe.yaml > DD_EVENT_MONITORING_CONFIG_NETWORK_* >
 *   DD_RUNTIME_SECURITY_CONFIG_NETWORK_* > event_monitoring_config.network.* in the file > default.
 *   A `runtime_security_config.network.*` line in the file (the Helm chart renders network.enabled)
 *   therefore beats any env var. Older agents (runtime_security_config only): env
 *   DD_RUNTIME_SECURITY_CONFIG_NETWORK_* > the file's runtime_security_config.network.* > default;
 *   they ignore DD_EVENT_MONITORING_* and event_monitoring_config.*.
 * - event_monitoring_config appeared with the event monitor module (DataDog/datadog-agent PR #16108,
 *   "The `runtime-security` system-probe module has been deprecated & replaced with the new
 *   `event-monitoring` module … configuration settings have now been split", reviewed 2023-03-15/16);
 *   7.43.0 was released 2023-02-23, so 7.44.0 is the first release taken to have it (inferred from the
 *   dates, not read from a tag). With the version unknown, the two orders are compared and a
 *   disagreement is a conflict (the verdict is then conditional).
 * - `network.classifier_handle`, `network.raw_classifier_handle` (default 0) and
 *   `network.raw_packet.enabled` (default true in the sources read): Config.sanitize() in
 *   pkg/security/probe/config/config.go refuses, when raw packets are enabled, handles that are equal and
 *   not 0 ("network.classifier_handle and network.raw_classifier_handle can't be equal and not null") or
 *   only one of them set ("none or both of network.classifier_handle and network.raw_classifier_handle must
 *   be provided"): NewConfig returns the error and CWS does not start.
 * - `runtime_security_config.direct_send_from_system_probe` (env
 *   DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE, default false; test/fixtures/selftest/SOURCES.md §4.3):
 *   system-probe sends the CWS events itself, no security-agent needed.
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
  classifierHandle: ConfigValue<number>;
  rawClassifierHandle: ConfigValue<number>;
  rawPacketEnabled: ConfigValue<boolean>;
  directSend: ConfigValue<boolean>;
  /** Which key family the agent reads (from its version): decides precedence and the env names to patch. */
  layout: ConfigLayout;
  /** Agent version unknown and the two precedence orders give different values (see the module comment). */
  conflicts: ConfigConflict[];
  /** A setting whose env var the agent ignores because another source wins (a remediation by env would not take). */
  shadowed: ConfigConflict[];
  notes: string[];
}

/** `event_monitoring`: 7.44+ (both families, deprecated file key first); `legacy`: runtime_security_config only. */
export type ConfigLayout = 'event_monitoring' | 'legacy' | 'unknown';

const NETWORK_SINCE = v('7.36.0');
const NETWORK_DEFAULT_ON_SINCE = v('7.37.0');
export const CLASSIFIER_PRIORITY_SINCE = v('7.39.2');
export const DEFAULT_CLASSIFIER_PRIORITY = 10;
/** First release with the event_monitoring_config keys (see the module comment: inferred, PR #16108). */
export const EVENT_MONITORING_SINCE = v('7.44.0');

export function configLayout(ver: Version | undefined): ConfigLayout {
  if (!ver) return 'unknown';
  return compareVersions(releaseLine(ver), EVENT_MONITORING_SINCE) >= 0 ? 'event_monitoring' : 'legacy';
}

/** The env var of a network option the agent reads first: by layout (unknown: the name every version reads). */
export function networkEnvName(option: 'enabled' | 'classifier_priority', layout: ConfigLayout): string {
  const suffix = option.toUpperCase();
  return layout === 'event_monitoring' ? `DD_EVENT_MONITORING_CONFIG_NETWORK_${suffix}` : `DD_RUNTIME_SECURITY_CONFIG_NETWORK_${suffix}`;
}
/** Before 7.39.2 the agent's classifiers always took priority 1. */
export const LEGACY_CLASSIFIER_PRIORITY = 1;

export type Setting =
  | 'enabled'
  | 'direct_send_from_system_probe'
  | 'network.enabled'
  | 'network.classifier_priority'
  | 'network.classifier_handle'
  | 'network.raw_classifier_handle'
  | 'network.raw_packet.enabled';
type NetworkSetting = Extract<Setting, `network.${string}`>;
const isNetwork = (s: Setting): s is NetworkSetting => s.startsWith('network.');

export interface ConfigConflict {
  setting: Setting;
  message: string;
}

/** Env names of the non-network settings (bound to their runtime_security_config key). */
const ENV_NAMES: Record<'enabled' | 'direct_send_from_system_probe', string[]> = {
  enabled: ['DD_RUNTIME_SECURITY_CONFIG_ENABLED'],
  direct_send_from_system_probe: ['DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE'],
};
const envOfNetwork = (s: NetworkSetting) => s.slice('network.'.length).replace(/\./g, '_').toUpperCase();
/** viper BindEnv order in eventMonitorBindEnvAndSetDefault: the event_monitoring name first. */
const networkEnvNew = (s: NetworkSetting) => [`DD_EVENT_MONITORING_CONFIG_NETWORK_${envOfNetwork(s)}`, `DD_RUNTIME_SECURITY_CONFIG_NETWORK_${envOfNetwork(s)}`];
const networkEnvLegacy = (s: NetworkSetting) => [`DD_RUNTIME_SECURITY_CONFIG_NETWORK_${envOfNetwork(s)}`];
const deprecatedKey = (s: NetworkSetting) => `runtime_security_config.${s}`;
const newKey = (s: NetworkSetting) => `event_monitoring_config.${s}`;

export function effectiveCwsConfig(inputs: CwsConfigInputs): EffectiveCwsConfig {
  const container = inputs.systemProbeContainer ?? 'system-probe';
  const notes: string[] = [];
  const conflicts: ConfigConflict[] = [];
  const shadowed: ConfigConflict[] = [];
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

  const layout = configLayout(ver);
  const spEnvRead = inputs.systemProbeEnv !== undefined;
  const nothingRead = <T>(): ConfigValue<T> | undefined =>
    !spEnvRead && !fileRead ? { value: undefined, origin: 'unknown', note: 'neither the system-probe env nor system-probe.yaml could be read' } : undefined;
  const env = <T>(names: string[], parse: (raw: unknown) => T | undefined) => fromEnv(inputs.systemProbeEnv, names, container, parse);
  const file = <T>(keys: string[], parse: (raw: unknown) => T | undefined) => (fileRead ? fromFile(doc, keys, fileOrigin, parse) : undefined);

  /** The agent's order for a network option, for one layout: the first source that has it. */
  const networkOrder = <T>(setting: NetworkSetting, l: 'event_monitoring' | 'legacy', parse: (raw: unknown) => T | undefined) =>
    l === 'event_monitoring'
      ? [file([deprecatedKey(setting)], parse), env(networkEnvNew(setting), parse), file([newKey(setting)], parse)]
      : [env(networkEnvLegacy(setting), parse), file([deprecatedKey(setting)], parse)];

  const resolve = <T>(setting: Setting, parse: (raw: unknown) => T | undefined, dflt: () => ConfigValue<T>): ConfigValue<T> => {
    if (!isNetwork(setting)) return env(ENV_NAMES[setting], parse) ?? file([`runtime_security_config.${setting}`], parse) ?? nothingRead<T>() ?? dflt();
    const pick = (l: 'event_monitoring' | 'legacy') => networkOrder(setting, l, parse);
    const chosen = layout === 'legacy' ? pick('legacy') : pick('event_monitoring');
    const winner = chosen.find((x) => x !== undefined);
    // An env var of this setting that the agent does not read because another source wins.
    const envs = layout === 'legacy' ? networkEnvLegacy(setting) : networkEnvNew(setting);
    // Each env name on its own: with both names set, the one bound second is ignored too (eventMonitorBindEnvAndSetDefault).
    for (const name of envs) {
      const envHit = env([name], parse);
      if (!envHit || !winner || winner.key === envHit.key || winner.value === envHit.value) continue;
      const why =
        winner.key === deprecatedKey(setting)
          ? ' (the deprecated runtime_security_config.network.* key in the file beats every env var since 7.44)'
          : winner.origin === envHit.origin
            ? ` (both env names are bound to event_monitoring_config.${setting}, ${winner.key} first)`
            : '';
      (layout === 'unknown' ? conflicts : shadowed).push({
        setting,
        message: `${envHit.key}=${envHit.raw} is not what the agent applies: ${winner.key}${winner.origin.startsWith('env:') ? '=' : ': '}${String(winner.value)} (${winner.origin}) takes precedence${why}`,
      });
    }
    if (layout === 'unknown') {
      const legacy = pick('legacy').find((x) => x !== undefined);
      if (legacy && winner && legacy.value !== winner.value && !conflicts.some((c) => c.setting === setting))
        conflicts.push({
          setting,
          message: `agents from 7.44 apply ${winner.key}: ${String(winner.value)} (${winner.origin}), older agents ${legacy.key}: ${String(legacy.value)} (${legacy.origin}); the agent version is unknown`,
        });
    }
    if (layout === 'legacy') {
      const ignored = [env([networkEnvNew(setting)[0]!], parse), file([newKey(setting)], parse)].filter((x) => x !== undefined);
      for (const x of ignored) notes.push(`${x.key} is ignored by agent ${verText}: event_monitoring_config keys exist from 7.44`);
    }
    return winner ?? nothingRead<T>() ?? dflt();
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
  const handleDefault = (): ConfigValue<number> => ({ value: 0, origin: `default(${verText ?? 'any'})` });
  const classifierHandle = resolve('network.classifier_handle', toPriority, handleDefault);
  const rawClassifierHandle = resolve('network.raw_classifier_handle', toPriority, handleDefault);
  const rawPacketEnabled = resolve('network.raw_packet.enabled', toBool, () => ({
    value: true,
    origin: `default(${verText ?? 'any'})`,
    note: 'default true in the agent sources read (pkg/config/setup/system_probe_cws.go)',
  }));
  const directSend = resolve('direct_send_from_system_probe', toBool, () => ({ value: false, origin: `default(${verText ?? 'any'})` }));
  if (layout === 'legacy')
    for (const c of [classifierHandle, rawClassifierHandle])
      if (c.key) notes.push(`${c.key} is not read by agent ${verText} (event_monitoring_config layout from 7.44)`);

  return {
    cwsEnabled,
    networkEnabled,
    classifierPriority,
    classifierHandle,
    rawClassifierHandle,
    rawPacketEnabled,
    directSend,
    layout,
    conflicts,
    shadowed,
    notes,
  };
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
