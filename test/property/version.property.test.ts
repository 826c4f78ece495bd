/**
 * Property-based fuzz of the version readers (issue 15 point 7): image references, bare tags and
 * `agent version` output never throw; what they read formats back to itself; compareVersions is a
 * total order on the versions they produce; the version ranges netcheck applies (CWS network
 * defaults, classifier_priority since 7.39.2) are intervals of that order.
 */
import { describe, expect, it } from 'vitest';
import { effectiveCwsConfig } from '../../src/core/netcheck/config.ts';
import {
  compareVersions,
  formatVersion,
  parseAgentImage,
  parseAgentVersionOutput,
  parseCniImage,
  parseVersion,
  releaseLine,
  splitImageRef,
  v,
  type Version,
  type VersionReading,
} from '../../src/core/netcheck/version.ts';
import { anyText, check, fc } from './fc.ts';

const num = fc.oneof(
  { weight: 5, arbitrary: fc.nat({ max: 60 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '00', '01', '007', '10', '9007199254740993', '99999999999999999999') },
);
const ident = fc.oneof(
  num,
  fc.constantFrom(
    'rc',
    'beta',
    'alpha',
    'pre',
    'devel',
    'dev',
    'nightly',
    'git',
    'jmx',
    'fips',
    'full',
    'servercore',
    'linux',
    'gke',
    'eksbuild',
    'x',
    'RC',
    'a1',
    '1a',
    '',
  ),
);
/** A pre-release/suffix: identifiers joined by "." and "-", as tags spell them. */
const suffix = fc
  .array(fc.tuple(ident, fc.constantFrom('.', '-')), { minLength: 1, maxLength: 5 })
  .map((xs) => xs.map(([i, s], k) => (k ? s : '') + i).join(''));
const tag = fc.tuple(fc.constantFrom('', 'v'), num, num, num, fc.option(suffix)).map(([p, a, b, c, s]) => `${p}${a}.${b}.${c}${s ? `-${s}` : ''}`);
const read = ([t, kind]: [string, 'agent' | 'cni']) => parseVersion(t, kind);
const kind = fc.constantFrom('agent', 'cni') as fc.Arbitrary<'agent' | 'cni'>;
/** Tags from a small alphabet, so that two draws often differ in one identifier only (ties, leading zeros). */
const narrowTag = fc
  .tuple(
    fc.constantFrom('0', '1'),
    fc.constantFrom('0', '1'),
    fc.array(fc.tuple(fc.constantFrom('1', '01', '0', '00', '2', 'rc', 'a', '99999999999999999999', '99999999999999999998'), fc.constantFrom('.', '-')), {
      maxLength: 3,
    }),
  )
  .map(([a, b, ids]) => `1.${a}.${b}${ids.length ? `-${ids.map(([i, sep], k) => (k ? sep : '') + i).join('')}` : ''}`);
const version: fc.Arbitrary<Version> = fc
  .oneof(fc.tuple(tag, kind), fc.tuple(narrowTag, kind))
  .map(read)
  .filter((x): x is Version => x !== undefined);

const IMAGE_PARTS = [
  'gcr.io/datadoghq/agent',
  'datadog/agent',
  'localhost:5000/agent',
  'registry.example.com:5000/dd/agent',
  'quay.io/cilium/cilium',
  'agent',
  '',
  ':',
  '@',
  '/',
  '@sha256:0123456789abcdef0123456789abcdef',
  ':latest',
  ':7',
  ':7.50',
  ':main',
];
const image = fc.oneof(
  anyText(120),
  fc
    .tuple(fc.constantFrom(...IMAGE_PARTS), fc.option(tag.map((t) => `:${t}`)), fc.option(fc.constantFrom('@sha256:abc', '@', '@sha256:' + 'f'.repeat(64))))
    .map(([r, t, d]) => `${r}${t ?? ''}${d ?? ''}`),
  fc.array(fc.constantFrom(...IMAGE_PARTS, ...'v7.-:@/ '.split('')), { maxLength: 12 }).map((p) => p.join('')),
);

function assertReading(r: VersionReading): void {
  expect(typeof r.how).toBe('string');
  expect(Array.isArray(r.flavours)).toBe(true);
  if (r.version) {
    for (const k of ['major', 'minor', 'patch'] as const) expect(r.version[k]).toBeGreaterThanOrEqual(0);
    expect(compareVersions(r.version, r.version)).toBe(0);
  }
}

describe('readers never throw', () => {
  it('parseAgentImage, parseCniImage, splitImageRef on any image reference', () => {
    check(
      fc.property(image, (img) => {
        assertReading(parseAgentImage(img));
        assertReading(parseCniImage(img));
        const ref = splitImageRef(img);
        expect(typeof ref.repository).toBe('string');
        // nothing is lost but the separators: repository, tag and digest spell the trimmed reference
        expect(`${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`.length).toBeLessThanOrEqual(
          img.trim().length,
        );
      }),
      4000,
    );
  });

  it('parseVersion and parseAgentVersionOutput on any text', () => {
    check(
      fc.property(
        fc.oneof(
          anyText(200),
          tag,
          tag.map((t) => `Agent ${t} - Commit: 1a2b3c4 - Serialization version: v5.0.22`),
          fc.tuple(anyText(40), tag, anyText(40)).map(([a, t, b]) => `${a} Agent (v7) ${t} ${b}`),
        ),
        (text) => {
          for (const kind of ['agent', 'cni'] as const) {
            const ver = parseVersion(text, kind);
            if (ver) expect(parseVersion(formatVersion(ver), kind === 'agent' ? 'cni' : kind)).toBeDefined();
          }
          const out = parseAgentVersionOutput(text);
          if (out) expect(compareVersions(out, out)).toBe(0);
        },
      ),
      4000,
    );
  });

  it('a version read from a tag formats back to a tag that reads the same', () => {
    check(
      fc.property(tag, (t) => {
        const ver = parseVersion(t, 'cni');
        if (!ver) return;
        expect(compareVersions(parseVersion(formatVersion(ver), 'cni')!, ver)).toBe(0);
        expect(releaseLine(ver)).toEqual({ major: ver.major, minor: ver.minor, patch: ver.patch });
      }),
      3000,
    );
  });
});

describe('compareVersions is a total order', () => {
  it('antisymmetric and reflexive', () => {
    check(
      fc.property(version, version, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(compareVersions(b, a)).toBe(-compareVersions(a, b) || 0);
      }),
      5000,
    );
  });

  it('transitive (≤ and =), and consistent with sorting', () => {
    check(
      fc.property(fc.array(version, { minLength: 3, maxLength: 8 }), (vs) => {
        const [a, b, c] = vs as [Version, Version, Version];
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
        if (compareVersions(a, b) === 0 && compareVersions(b, c) === 0) expect(compareVersions(a, c)).toBe(0);
        const sorted = [...vs].sort(compareVersions);
        for (let i = 1; i < sorted.length; i++) expect(compareVersions(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0);
      }),
      5000,
    );
  });

  it('a pre-release sorts before its release line, a release equals it', () => {
    check(
      fc.property(version, (x) => {
        const line = releaseLine(x);
        expect(compareVersions(x, line)).toBe(x.pre ? -1 : 0);
      }),
      2000,
    );
  });
});

describe('the version ranges netcheck applies are intervals', () => {
  const config = (ver: Version) => effectiveCwsConfig({ agentVersion: ver, systemProbeEnv: [] });
  const around = fc.oneof(
    version,
    fc.constantFrom('7.35.9', '7.36.0-rc.1', '7.36.0', '7.36.1', '7.37.0-rc.2', '7.37.0', '7.39.1', '7.39.2-rc.1', '7.39.2', '7.40.0-rc.1', '7.50.3').map(v),
  );

  it('network detections default on from 7.37, off in 7.36, absent before; classifier_priority honoured from 7.39.2', () => {
    check(
      fc.property(around, around, (a, b) => {
        const [lo, hi] = compareVersions(a, b) <= 0 ? [a, b] : [b, a];
        const cl = config(lo);
        const ch = config(hi);
        // once a default is on for a version it is on for every later one
        if (cl.networkEnabled.value === true) expect(ch.networkEnabled.value).toBe(true);
        if (ch.networkEnabled.origin.startsWith('fixed(')) expect(cl.networkEnabled.origin).toMatch(/^fixed\(/);
        // the legacy priority 1 ends at 7.39.2 and never comes back
        if (ch.classifierPriority.origin.startsWith('fixed(')) expect(cl.classifierPriority.origin).toMatch(/^fixed\(/);
        expect(ch.classifierPriority.origin.startsWith('fixed(')).toBe(compareVersions(hi, v('7.39.2')) < 0);
      }),
      3000,
    );
  });
});
