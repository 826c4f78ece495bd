import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  formatVersion,
  parseAgentImage,
  parseAgentVersionOutput,
  parseCniImage,
  parseVersion,
  splitImageRef,
  v,
} from '../../src/core/netcheck/version.ts';

describe('parseAgentImage', () => {
  it.each([
    ['gcr.io/datadoghq/agent:7.50.3', { major: 7, minor: 50, patch: 3 }, []],
    ['datadog/agent:7.40.0-rc.1', { major: 7, minor: 40, patch: 0, pre: 'rc.1' }, []],
    ['gcr.io/datadoghq/agent:7.50.3-jmx', { major: 7, minor: 50, patch: 3 }, ['jmx']],
    ['gcr.io/datadoghq/agent:7.50.3-fips', { major: 7, minor: 50, patch: 3 }, ['fips']],
    ['gcr.io/datadoghq/agent:7.50.3-full', { major: 7, minor: 50, patch: 3 }, ['full']],
    ['datadog/agent:7.50.3-servercore', { major: 7, minor: 50, patch: 3 }, ['servercore']],
    ['datadog/agent:7.50.3-linux', { major: 7, minor: 50, patch: 3 }, ['linux']],
    ['datadog/agent:7.50.3-servercore-jmx', { major: 7, minor: 50, patch: 3 }, ['servercore', 'jmx']],
    ['datadog/agent:7.40.0-rc.1-jmx', { major: 7, minor: 40, patch: 0, pre: 'rc.1' }, ['jmx']],
    ['localhost:5000/agent:7.50.3', { major: 7, minor: 50, patch: 3 }, []],
    ['registry.example.com:5000/dd/agent:7.39.2@sha256:0123456789abcdef0123456789abcdef', { major: 7, minor: 39, patch: 2 }, []],
  ])('%s', (image, version, flavours) => {
    const r = parseAgentImage(image);
    expect(r.version).toEqual(version);
    expect(r.flavours).toEqual(flavours);
    expect(r.how).toMatch(/^tag "/);
  });

  it.each([
    ['gcr.io/datadoghq/agent:7', /floating tag "7"/],
    ['gcr.io/datadoghq/agent:7.50', /floating tag "7.50"/],
    ['gcr.io/datadoghq/agent:latest', /floating tag "latest"/],
    ['gcr.io/datadoghq/agent', /no tag/],
    ['gcr.io/datadoghq/agent@sha256:0123456789abcdef0123456789abcdef', /digest only/],
    ['localhost:5000/agent', /no tag/],
    ['datadog/agent:custom-build', /not a version/],
  ])('%s is unknown', (image, how) => {
    const r = parseAgentImage(image);
    expect(r.version).toBeUndefined();
    expect(r.how).toMatch(how);
  });

  it('keeps tag and digest, and says the tag was pinned', () => {
    const r = parseAgentImage('datadog/agent:7.50.3@sha256:abc');
    expect(r).toMatchObject({ tag: '7.50.3', digest: 'sha256:abc' });
    expect(r.how).toContain('pinned by digest');
  });

  it('reads an unrecognised suffix as a pre-release (conservative)', () => {
    const r = parseAgentImage('datadog/agent:7.39.2-devel.git.12');
    expect(r.version?.pre).toBe('devel.git.12');
    expect(compareVersions(r.version!, v('7.39.2'))).toBe(-1);
  });
});

describe('parseCniImage', () => {
  it.each([
    ['quay.io/cilium/cilium:v1.9.5', { major: 1, minor: 9, patch: 5 }],
    ['gke.gcr.io/cilium/cilium:v1.9.4-gke.17', { major: 1, minor: 9, patch: 4, build: 'gke.17' }],
    ['calico/node:v3.26.1', { major: 3, minor: 26, patch: 1 }],
    ['quay.io/cilium/cilium:v1.14.5@sha256:d3b287029755b6a47dee01420e2ea469469f1b174a2089c10af7e5e9289ef05b', { major: 1, minor: 14, patch: 5 }],
    ['602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.15.0-eksbuild.1', { major: 1, minor: 15, patch: 0, build: 'eksbuild.1' }],
    ['quay.io/cilium/cilium:v1.15.0-pre.3', { major: 1, minor: 15, patch: 0, pre: 'pre.3' }],
  ])('%s', (image, version) => {
    expect(parseCniImage(image).version).toEqual(version);
  });
  it('a distribution build does not change precedence', () => {
    expect(compareVersions(parseCniImage('gke.gcr.io/cilium/cilium:v1.9.4-gke.17').version!, v('1.9.4'))).toBe(0);
  });
});

describe('compareVersions', () => {
  it.each([
    ['7.39.1', '7.39.2', -1],
    ['7.39.2', '7.39.2', 0],
    ['7.40.0-rc.1', '7.40.0', -1],
    ['7.40.0-rc.1', '7.39.2', 1],
    ['7.40.0-rc.2', '7.40.0-rc.10', -1],
    ['7.40.0-rc.1', '7.40.0-beta.1', 1],
    ['7.40.0-rc', '7.40.0-rc.1', -1],
    ['7.35.9', '7.36.0', -1],
    ['1.10.0', '1.9.5', 1],
  ])('%s vs %s → %i', (a, b, want) => {
    expect(compareVersions(v(a), v(b))).toBe(want);
    expect(compareVersions(v(b), v(a))).toBe(-want || 0);
  });
});

describe('other readers', () => {
  it('splits image references', () => {
    expect(splitImageRef('localhost:5000/agent')).toEqual({ repository: 'localhost:5000/agent' });
    expect(splitImageRef('localhost:5000/agent:7.50.3@sha256:x')).toEqual({ repository: 'localhost:5000/agent', tag: '7.50.3', digest: 'sha256:x' });
  });
  it('parses `agent version` output', () => {
    expect(parseAgentVersionOutput('Agent 7.40.0-rc.1 - Commit: 1a2b3c4 - Serialization version: v5.0.22 - Go version: go1.18.6')).toEqual({
      major: 7,
      minor: 40,
      patch: 0,
      pre: 'rc.1',
    });
    expect(parseAgentVersionOutput('garbage')).toBeUndefined();
  });
  it('formats', () => {
    expect(formatVersion(v('7.40.0-rc.1'))).toBe('7.40.0-rc.1');
    expect(parseVersion('7.50')).toBeUndefined();
  });
});

describe('compareVersions is a total order (found by test/property)', () => {
  it('numeric identifiers compare exactly, whatever their length or leading zeros', () => {
    // Both directions used to answer 1: "rc.01" > "rc.1" and "rc.1" > "rc.01".
    expect(compareVersions(v('1.0.0-rc.01'), v('1.0.0-rc.1'))).toBe(0);
    expect(compareVersions(v('1.0.0-rc.1'), v('1.0.0-rc.01'))).toBe(0);
    expect(compareVersions(v('1.0.0-rc.00'), v('1.0.0-rc.0'))).toBe(0);
    // beyond 2^53, Number() made these equal, and both directions answered 1
    expect(compareVersions(v('1.1.1-99999999999999999998'), v('1.1.1-99999999999999999999'))).toBe(-1);
    expect(compareVersions(v('1.1.1-99999999999999999999'), v('1.1.1-99999999999999999998'))).toBe(1);
    expect(compareVersions(v('7.40.0-rc.2'), v('7.40.0-rc.10'))).toBe(-1);
  });
  it('a pre-release keeps its identifiers in the order of the tag', () => {
    // "x-0-rc" used to be read as "rc-x-0": shown and compared in another order than the tag's
    expect(v('1.0.0-x-0-rc').pre).toBe('x-0-rc');
    expect(formatVersion(v('7.50.0-git.1-rc.2'))).toBe('7.50.0-git.1-rc.2');
    expect(parseAgentImage('datadog/agent:7.40.0-rc.1-jmx').version).toEqual({ major: 7, minor: 40, patch: 0, pre: 'rc.1' });
    expect(parseCniImage('quay.io/cilium/cilium:v1.9.4-rc.1-gke.17').version).toEqual({ major: 1, minor: 9, patch: 4, pre: 'rc.1', build: 'gke.17' });
  });
});
