import { describe, expect, it } from 'vitest';
import { effectiveCwsConfig, toBool, toPriority, type CwsConfigInputs } from '../../src/core/netcheck/config.ts';
import { v } from '../../src/core/netcheck/version.ts';

/** What the Helm chart renders into <fullname>-system-probe-config (charts/datadog/templates/system-probe-configmap.yaml). */
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

const env = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value }));
const base = (over: Partial<CwsConfigInputs> = {}): CwsConfigInputs => ({ agentVersion: v('7.50.3'), systemProbeEnv: [], ...over });

describe('effectiveCwsConfig: precedence env > file > default', () => {
  it('defaults by version when nothing is set', () => {
    const c = effectiveCwsConfig(base());
    expect(c.cwsEnabled).toMatchObject({ value: false, origin: 'default(7.50.3)' });
    expect(c.networkEnabled).toMatchObject({ value: true, origin: 'default(7.50.3)' });
    expect(c.classifierPriority).toMatchObject({ value: 10, origin: 'default(7.50.3)' });
  });

  it('the file beats the default', () => {
    const c = effectiveCwsConfig(base({ systemProbeYaml: { text: HELM_YAML, origin: 'configmap' } }));
    expect(c.cwsEnabled).toEqual({ value: true, origin: 'configmap', key: 'runtime_security_config.enabled' });
    expect(c.networkEnabled).toEqual({ value: true, origin: 'configmap', key: 'runtime_security_config.network.enabled' });
    expect(c.classifierPriority).toMatchObject({ value: 10, origin: 'default(7.50.3)' });
  });

  const envAndHelmFile = (ver: string | undefined) =>
    effectiveCwsConfig(
      base({
        agentVersion: ver ? v(ver) : undefined,
        systemProbeYaml: { text: `${HELM_YAML}    classifier_priority: 7\n`, origin: 'configmap' },
        systemProbeEnv: env({
          DD_RUNTIME_SECURITY_CONFIG_ENABLED: '1',
          DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'false',
          DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '3',
        }),
      }),
    );

  it('older agents (before 7.44, runtime_security_config only): env beats the file (strings "false", "0", "3")', () => {
    const c = envAndHelmFile('7.43.1');
    expect(c.layout).toBe('legacy');
    expect(c.cwsEnabled).toEqual({ value: true, origin: 'env:system-probe', key: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', raw: '1' });
    expect(c.networkEnabled).toEqual({ value: false, origin: 'env:system-probe', key: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', raw: 'false' });
    expect(c.classifierPriority).toEqual({ value: 3, origin: 'env:system-probe', key: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY', raw: '3' });
    expect(c.conflicts).toEqual([]);
    expect(c.shadowed).toEqual([]);
  });

  it('agents from 7.44: the deprecated runtime_security_config.network.* key in the file beats every env var (IsConfigured(deprecatedKey) first)', () => {
    const c = envAndHelmFile('7.50.3');
    expect(c.layout).toBe('event_monitoring');
    // runtime_security_config.enabled is not a network option: env still wins there
    expect(c.cwsEnabled).toMatchObject({ value: true, origin: 'env:system-probe' });
    expect(c.networkEnabled).toEqual({ value: true, origin: 'configmap', key: 'runtime_security_config.network.enabled' });
    expect(c.classifierPriority).toEqual({ value: 7, origin: 'configmap', key: 'runtime_security_config.network.classifier_priority' });
    expect(c.shadowed.map((x) => x.setting)).toEqual(['network.enabled', 'network.classifier_priority']);
    expect(c.conflicts).toEqual([]);
  });

  it('agent version unknown: the two orders disagree → conflicts', () => {
    const c = envAndHelmFile(undefined);
    expect(c.layout).toBe('unknown');
    expect(c.conflicts.map((x) => x.setting)).toEqual(['network.enabled', 'network.classifier_priority']);
  });

  it('agents from 7.44: env (either family) beats the new file key event_monitoring_config.network.*', () => {
    const yaml = { text: 'event_monitoring_config:\n  network:\n    enabled: true\n    classifier_priority: 7\n', origin: 'configmap' as const };
    for (const name of ['DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY', 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY']) {
      const c = effectiveCwsConfig(base({ systemProbeYaml: yaml, systemProbeEnv: env({ [name]: '3' }) }));
      expect(c.classifierPriority).toMatchObject({ value: 3, key: name });
    }
    const none = effectiveCwsConfig(base({ systemProbeYaml: yaml }));
    expect(none.classifierPriority).toMatchObject({ value: 7, key: 'event_monitoring_config.network.classifier_priority' });
  });

  it('older agents ignore DD_EVENT_MONITORING_CONFIG_* and event_monitoring_config.* (noted)', () => {
    const c = effectiveCwsConfig(
      base({
        agentVersion: v('7.40.1'),
        systemProbeEnv: env({ DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '3' }),
        systemProbeYaml: { text: 'event_monitoring_config:\n  network:\n    enabled: false\n', origin: 'configmap' },
      }),
    );
    expect(c.classifierPriority).toMatchObject({ value: 10, origin: 'default(7.40.1)' });
    expect(c.networkEnabled).toMatchObject({ value: true, origin: 'default(7.40.1)' });
    expect(c.notes.join('\n')).toMatch(/DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY is ignored by agent 7\.40\.1/);
    expect(c.notes.join('\n')).toMatch(/event_monitoring_config\.network\.enabled is ignored/);
  });

  it('the newer network options and direct send: env and file, same precedence', () => {
    const c = effectiveCwsConfig(
      base({
        agentVersion: v('7.77.0'),
        systemProbeEnv: env({
          DD_EVENT_MONITORING_CONFIG_NETWORK_RAW_CLASSIFIER_HANDLE: '6',
          DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE: 'true',
        }),
        systemProbeYaml: {
          text: 'event_monitoring_config:\n  network:\n    classifier_handle: 5\n    raw_packet:\n      enabled: false\n',
          origin: 'configmap',
        },
      }),
    );
    expect(c.classifierHandle).toMatchObject({ value: 5, key: 'event_monitoring_config.network.classifier_handle' });
    expect(c.rawClassifierHandle).toMatchObject({ value: 6, key: 'DD_EVENT_MONITORING_CONFIG_NETWORK_RAW_CLASSIFIER_HANDLE' });
    expect(c.rawPacketEnabled).toMatchObject({ value: false, key: 'event_monitoring_config.network.raw_packet.enabled' });
    expect(c.directSend).toMatchObject({ value: true, key: 'DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE' });
    const d = effectiveCwsConfig(base());
    expect([d.classifierHandle.value, d.rawClassifierHandle.value, d.rawPacketEnabled.value, d.directSend.value]).toEqual([0, 0, true, false]);
  });

  it('"0" disables, and 0 as a priority is kept with a note', () => {
    const c = effectiveCwsConfig(
      base({ systemProbeEnv: env({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: '0', DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '0' }) }),
    );
    expect(c.networkEnabled.value).toBe(false);
    expect(c.classifierPriority).toMatchObject({ value: 0, note: expect.stringMatching(/ebpf-manager/) });
  });

  it('DD_EVENT_MONITORING_CONFIG_* is read first, like the agent binds it (both orders of the two names)', () => {
    for (const order of [
      { DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'true', DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'false' },
      { DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'false', DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'true' },
    ]) {
      const c = effectiveCwsConfig(base({ systemProbeEnv: env(order) }));
      expect(c.networkEnabled).toMatchObject({ value: false, key: 'DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED' });
      // The other name is set too, to another value: the agent ignores it, and the report says so.
      expect(c.shadowed).toEqual([
        {
          setting: 'network.enabled',
          message:
            'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED=true is not what the agent applies: DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED=false (env:system-probe) takes precedence (both env names are bound to event_monitoring_config.network.enabled, DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED first)',
        },
      ]);
    }
    // Same value under both names: nothing to say.
    expect(
      effectiveCwsConfig(
        base({ systemProbeEnv: env({ DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'false', DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: '0' }) }),
      ).shadowed,
    ).toEqual([]);
  });

  it('reads event_monitoring_config and flat dotted keys from the file; the deprecated key first', () => {
    const flat = effectiveCwsConfig(
      base({ systemProbeYaml: { text: 'runtime_security_config.enabled: true\nruntime_security_config.network.enabled: false\n', origin: 'file' } }),
    );
    expect(flat.cwsEnabled).toMatchObject({ value: true, origin: 'file' });
    expect(flat.networkEnabled).toMatchObject({ value: false, origin: 'file', key: 'runtime_security_config.network.enabled' });
    const both = effectiveCwsConfig(
      base({
        systemProbeYaml: {
          text: 'event_monitoring_config:\n  network:\n    enabled: false\n    classifier_priority: 5\nruntime_security_config:\n  network:\n    enabled: true\n',
          origin: 'configmap',
        },
      }),
    );
    expect(both.networkEnabled).toMatchObject({ value: true, key: 'runtime_security_config.network.enabled' });
    expect(both.classifierPriority).toMatchObject({ value: 5, key: 'event_monitoring_config.network.classifier_priority' });
  });

  it('valueFrom and invalid strings are unknown, never guessed', () => {
    const c = effectiveCwsConfig(
      base({
        systemProbeEnv: [
          { name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', valueFrom: { configMapKeyRef: { name: 'x', key: 'y' } } },
          { name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY', value: 'high' },
        ],
      }),
    );
    expect(c.networkEnabled).toMatchObject({ value: undefined, origin: 'env:system-probe', note: expect.stringMatching(/valueFrom/) });
    expect(c.classifierPriority).toMatchObject({ value: undefined, raw: 'high' });
  });

  it('nothing readable → unknown', () => {
    const c = effectiveCwsConfig({ agentVersion: v('7.50.3') });
    expect(c.cwsEnabled.origin).toBe('unknown');
    expect(c.networkEnabled.value).toBeUndefined();
  });
});

describe('effectiveCwsConfig: defaults by agent version', () => {
  it.each([
    ['7.35.9', false, 'default(7.35.9)', 1],
    ['7.36.0', false, 'default(7.36.0)', 1],
    ['7.37.0-rc.1', true, 'default(7.37.0-rc.1)', 1],
    ['7.39.1', true, 'default(7.39.1)', 1],
    ['7.39.2', true, 'default(7.39.2)', 10],
    ['7.40.0-rc.1', true, 'default(7.40.0-rc.1)', 10],
  ])('%s: network.enabled %s (%s), priority %i', (ver, net, origin, prio) => {
    const c = effectiveCwsConfig(base({ agentVersion: v(ver) }));
    expect(c.networkEnabled).toMatchObject({ value: net, origin });
    expect(c.classifierPriority.value).toBe(prio);
  });

  it('before 7.36 there are no network detections, whatever the config says', () => {
    const c = effectiveCwsConfig(base({ agentVersion: v('7.35.9'), systemProbeEnv: env({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'true' }) }));
    expect(c.networkEnabled).toMatchObject({ value: false, origin: 'fixed(7.35.9)' });
  });

  it('before 7.39.2 classifier_priority is ignored: always 1', () => {
    const c = effectiveCwsConfig(base({ agentVersion: v('7.38.0'), systemProbeEnv: env({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '5' }) }));
    expect(c.classifierPriority).toMatchObject({ value: 1, origin: 'fixed(7.38.0)' });
    expect(c.notes.join('\n')).toMatch(/ignored by agent 7\.38\.0/);
  });

  it('unknown version: network default and priority default are unknown; an explicit value is kept', () => {
    const c = effectiveCwsConfig(base({ agentVersion: undefined }));
    expect(c.networkEnabled).toMatchObject({ value: undefined, origin: 'unknown' });
    expect(c.classifierPriority).toMatchObject({ value: undefined, origin: 'unknown' });
    const e = effectiveCwsConfig(
      base({
        agentVersion: undefined,
        systemProbeEnv: env({ DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED: 'true', DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '4' }),
      }),
    );
    expect(e.networkEnabled.value).toBe(true);
    expect(e.classifierPriority).toMatchObject({ value: 4, note: expect.stringMatching(/7\.39\.2/) });
  });

  it('notes when security-agent and system-probe disagree on CWS', () => {
    const c = effectiveCwsConfig(
      base({ systemProbeEnv: env({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true' }), securityAgentEnv: env({ DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' }) }),
    );
    expect(c.notes.join('\n')).toMatch(/security-agent has DD_RUNTIME_SECURITY_CONFIG_ENABLED=false/);
  });
});

describe('value parsing', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['1', true],
    ['t', true],
    ['false', false],
    ['0', false],
    ['F', false],
    ['yes', undefined],
    ['', undefined],
  ])('toBool(%j) = %s', (raw, want) => {
    expect(toBool(raw)).toBe(want);
  });
  it.each([
    ['3', 3],
    ['0', 0],
    ['65535', 65535],
    ['65536', undefined],
    ['010', undefined],
    ['-1', undefined],
    ['3.5', undefined],
  ])('toPriority(%j) = %s', (raw, want) => {
    expect(toPriority(raw)).toBe(want);
  });
});
