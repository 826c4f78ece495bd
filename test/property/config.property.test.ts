/**
 * Property-based fuzz of the system-probe configuration reader (issue 15 point 7):
 * `effectiveCwsConfig` over system-probe.yaml text and container env never throws, gives values
 * of the right type with an origin, and reads the Helm chart's real file the same with comments,
 * unrelated keys and env vars around it, CRLF, and env precedence as the agent applies it.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { effectiveCwsConfig, toBool, toPriority, type ConfigValue, type EffectiveCwsConfig, type EnvVar } from '../../src/core/netcheck/config.ts';
import { v, type Version } from '../../src/core/netcheck/version.ts';
import { anyText, check, fc, newline } from './fc.ts';

/** What the Helm chart renders into <fullname>-system-probe-config (as in test/unit/netcheck-config.test.ts). */
const HELM_YAML = `system_probe_config:
  enabled: true
event_monitoring_config:
  socket: /var/run/sysprobe/event-monitor.sock
runtime_security_config:
  enabled: true
  socket: /var/run/sysprobe/runtime-security.sock
  network:
    enabled: true
`;

const ENV_NAMES = [
  'DD_RUNTIME_SECURITY_CONFIG_ENABLED',
  'DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED',
  'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED',
  'DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY',
  'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY',
];
const KEYS = [
  'runtime_security_config',
  'event_monitoring_config',
  'network',
  'enabled',
  'classifier_priority',
  'runtime_security_config.network.enabled',
  'runtime_security_config.enabled',
  'event_monitoring_config.network',
  '__proto__',
  'constructor',
  'system_probe_config',
];
const RAW = [
  'true',
  'false',
  '1',
  '0',
  'True',
  'FALSE',
  't',
  'f',
  'yes',
  'on',
  '',
  ' 3 ',
  '10',
  '010',
  '0x10',
  '65535',
  '65536',
  '-1',
  '1e3',
  'high',
  'null',
  '~',
];

const rawValue = fc.oneof(fc.constantFrom(...RAW), anyText(20));
const envVar: fc.Arbitrary<EnvVar> = fc.oneof(
  fc.record({ name: fc.oneof(fc.constantFrom(...ENV_NAMES), anyText(20)), value: rawValue }),
  fc.record({ name: fc.constantFrom(...ENV_NAMES), valueFrom: fc.constant({ secretKeyRef: { name: 's', key: 'k' } }) }),
  fc.record({ name: fc.constantFrom(...ENV_NAMES) }),
);
const version: fc.Arbitrary<Version | undefined> = fc.option(
  fc.constantFrom('7.35.0', '7.36.0', '7.37.0-rc.1', '7.39.1', '7.39.2', '7.50.3', '7.60.0').map(v),
  { nil: undefined },
);

/** Any YAML document, with the keys netcheck reads at any depth and any values. */
const yamlValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(true, false, 0, 1, 7, 65536, -1, 1.5, null, 'true', '3', ''),
    anyText(10),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), anyText(8)), tie('node'), { maxKeys: 4 }),
    fc.array(tie('node'), { maxLength: 3 }),
  ),
})).node;
const yamlText = fc.oneof(
  anyText(400),
  yamlValue.map((x) => stringify(x)),
  fc
    .array(
      fc.tuple(fc.constantFrom(...KEYS), fc.nat({ max: 3 }), fc.constantFrom(...RAW, '', '[1, 2]', '{a: 1}', '&a x', '*a', '!!binary aGk=', '"\\0"', "'x'")),
      { maxLength: 8 },
    )
    .map((ls) => ls.map(([k, d, val]) => `${'  '.repeat(d)}${k}: ${val}`).join('\n')),
  fc.constantFrom('a: &a [*a]', `a: &a x\nb: ${'[*a, '.repeat(50)}${']'.repeat(50)}`, '\0', '---\n---\n', 'a:\n\t- b', `x: ${'['.repeat(2000)}`),
);

function assertValue<T>(c: ConfigValue<T>, type: 'boolean' | 'number'): void {
  if (c.value !== undefined) expect(typeof c.value).toBe(type);
  if (type === 'number' && c.value !== undefined) expect(Number.isInteger(c.value) && (c.value as number) >= 0 && (c.value as number) <= 0xffff).toBe(true);
  expect(c.origin).toMatch(/^(env:.+|configmap|file|default\(.+\)|fixed\(.+\)|unknown)$/);
  if (c.note !== undefined) expect(typeof c.note).toBe('string');
}
function assertConfig(c: EffectiveCwsConfig): void {
  assertValue(c.cwsEnabled, 'boolean');
  assertValue(c.networkEnabled, 'boolean');
  assertValue(c.classifierPriority, 'number');
  for (const n of c.notes) expect(typeof n).toBe('string');
  for (const x of c.conflicts) expect(typeof x.message).toBe('string');
}

describe('effectiveCwsConfig', () => {
  it('never throws on any system-probe.yaml, any env, any version; values have their type and an origin', () => {
    check(
      fc.property(
        version,
        fc.option(fc.array(envVar, { maxLength: 6 }), { nil: undefined }),
        fc.option(fc.array(envVar, { maxLength: 3 }), { nil: undefined }),
        fc.option(yamlText, { nil: undefined }),
        fc.constantFrom('configmap', 'file') as fc.Arbitrary<'configmap' | 'file'>,
        (agentVersion, sp, sa, text, origin) => {
          assertConfig(
            effectiveCwsConfig({
              agentVersion,
              systemProbeEnv: sp,
              securityAgentEnv: sa,
              ...(text !== undefined ? { systemProbeYaml: { text, origin } } : {}),
            }),
          );
        },
      ),
      1500,
    );
  });

  it('the Helm chart’s file reads the same with comments, unrelated keys, blank lines and CRLF', () => {
    const comment = fc.tuple(fc.constantFrom('', '  ', '    '), anyText(40)).map(([i, t]) => `${i}# ${t.replace(/[\r\n\u2028\u2029\u0085]/g, ' ')}`);
    const unrelated = fc.constantFrom(
      'logs_config:\n  enabled: false',
      'compliance_config:\n  enabled: true',
      'system_probe_config.debug_port: 0',
      'network_config:\n  enabled: true',
      'service_monitoring_config:\n  enabled: false',
    );
    check(
      fc.property(
        version,
        fc.array(comment, { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.uniqueArray(unrelated, { maxLength: 2 }),
        newline,
        (agentVersion, comments, picks, extra, nl) => {
          const want = effectiveCwsConfig({ agentVersion, systemProbeEnv: [], systemProbeYaml: { text: HELM_YAML, origin: 'configmap' } });
          const lines = HELM_YAML.trimEnd().split('\n');
          comments.forEach((c, i) => lines.splice((picks[i] ?? 0) % (lines.length + 1), 0, c));
          const text = [...lines, '', ...extra].join('\n').split('\n').join(nl);
          expect(effectiveCwsConfig({ agentVersion, systemProbeEnv: [], systemProbeYaml: { text, origin: 'configmap' } })).toEqual(want);
        },
      ),
      1500,
    );
  });

  it('env wins over the file (agents before 7.44; from 7.44 the deprecated file key wins), the last of a repeated name wins, unrelated vars are ignored, a last empty value unsets it', () => {
    const unrelated = fc.record({ name: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,30}$/).filter((n) => !ENV_NAMES.includes(n)), value: rawValue });
    check(
      fc.property(
        fc.constantFrom('true', 'false', '1', '0', 'T', 'F'),
        fc.array(fc.constantFrom('true', 'false', '0', '1')),
        fc.array(unrelated, { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (last, earlier, noise, picks) => {
          const name = 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED';
          const env: EnvVar[] = [...earlier.map((value) => ({ name, value })), { name, value: last }];
          noise.forEach((n, i) => env.splice((picks[i] ?? 0) % env.length, 0, n)); // never after the last definition
          const c = effectiveCwsConfig({ agentVersion: v('7.43.1'), systemProbeEnv: env, systemProbeYaml: { text: HELM_YAML, origin: 'configmap' } });
          expect(c.networkEnabled).toMatchObject({ value: toBool(last), origin: 'env:system-probe', key: name, raw: last });
          // From 7.44 the deprecated runtime_security_config.network.enabled in the file is read before any env var
          const newer = effectiveCwsConfig({ agentVersion: v('7.50.3'), systemProbeEnv: env, systemProbeYaml: { text: HELM_YAML, origin: 'configmap' } });
          expect(newer.networkEnabled).toMatchObject({ value: true, origin: 'configmap', key: 'runtime_security_config.network.enabled' });
          // Kubernetes keeps the last definition; viper takes an empty variable as unset: the file decides
          const unset = effectiveCwsConfig({
            agentVersion: v('7.43.1'),
            systemProbeEnv: [...env, { name, value: '' }],
            systemProbeYaml: { text: HELM_YAML, origin: 'configmap' },
          });
          expect(unset.networkEnabled).toMatchObject({ value: true, origin: 'configmap', key: 'runtime_security_config.network.enabled' });
        },
      ),
      1500,
    );
  });
});

describe('toBool and toPriority', () => {
  it('never throw on any value; read only what Go’s ParseBool and a u16 read', () => {
    const any = fc.oneof(fc.anything(), fc.constantFrom(...RAW), anyText(20), fc.double(), fc.bigInt());
    check(
      fc.property(any, (raw) => {
        const b = toBool(raw);
        if (b !== undefined) expect(typeof b).toBe('boolean');
        const p = toPriority(raw);
        if (p !== undefined) expect(Number.isInteger(p) && p >= 0 && p <= 0xffff).toBe(true);
        if (typeof raw === 'string' && p !== undefined) expect(String(p)).toBe(raw.trim()); // no octal, no hex, no sign
      }),
      3000,
    );
  });
});
