import { describe, expect, it } from 'vitest';
import { v } from '../../src/core/netcheck/version.ts';
import { envChangeFor, networkEnvNames } from '../../src/core/remediation/env-change.ts';

const names = { systemProbe: 'system-probe', securityAgent: 'security-agent' };
const spEnv = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value }));

describe('the remediation patches the env name the agent version reads (src/core/netcheck/config.ts)', () => {
  it('before 7.44 (runtime_security_config only): DD_RUNTIME_SECURITY_CONFIG_NETWORK_*, even if a DD_EVENT_MONITORING_* var is there (ignored)', () => {
    const reads = { version: v('7.43.1'), systemProbeEnv: spEnv({ DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '1' }) };
    expect(envChangeFor('set_classifier_priority', names, 2, reads)).toEqual({
      'system-probe': { DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY: '2' },
    });
  });

  it('from 7.44: the DD_EVENT_MONITORING_CONFIG_* var when the container sets it (it is read first and would shadow the other)', () => {
    const reads = { version: v('7.50.3'), systemProbeEnv: spEnv({ DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'true' }) };
    expect(envChangeFor('disable_network_detections', names, undefined, reads)).toEqual({
      'system-probe': { DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'false' },
    });
  });

  it('from 7.44 without it: DD_RUNTIME_SECURITY_CONFIG_NETWORK_*, still bound to event_monitoring_config.network.* (second name)', () => {
    expect(networkEnvNames('CLASSIFIER_PRIORITY', { version: v('7.77.0'), systemProbeEnv: [] })).toEqual([
      'DD_RUNTIME_SECURITY_CONFIG_NETWORK_CLASSIFIER_PRIORITY',
    ]);
  });

  it('version unknown with the new var set: both names', () => {
    expect(networkEnvNames('ENABLED', { systemProbeEnv: spEnv({ DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED: 'true' }) })).toEqual([
      'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED',
      'DD_EVENT_MONITORING_CONFIG_NETWORK_ENABLED',
    ]);
  });

  it('disable_cws is the same for every version', () => {
    expect(envChangeFor('disable_cws', names, undefined, { version: v('7.77.0') })).toEqual({
      'system-probe': { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' },
      'security-agent': { DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'false' },
    });
  });
});
