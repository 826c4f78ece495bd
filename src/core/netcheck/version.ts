/**
 * Versions read from container image references (pure).
 *
 * Agent images: `gcr.io/datadoghq/agent:7.50.3`, `datadog/agent:7.40.0-rc.1`, flavours
 * `-jmx`, `-fips`, `-full`, `-servercore`, `-linux` (and combinations), floating tags `7`,
 * `7.50`, `latest` (→ unknown), digests `@sha256:…` (→ unknown unless a tag is present too),
 * registries with a port `localhost:5000/agent:7.50.3`.
 * CNI images: `quay.io/cilium/cilium:v1.9.5`, `gke.gcr.io/cilium/cilium:v1.9.4-gke.17`,
 * `calico/node:v3.26.1`, `…/amazon-k8s-cni:v1.15.0-eksbuild.1`.
 *
 * Ordering follows SemVer 2.0 precedence: a pre-release sorts before its release
 * (`7.40.0-rc.1` < `7.40.0`), build metadata and distribution suffixes are ignored.
 */

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** SemVer pre-release (`rc.1`, `beta.2`); sorts before the release. */
  pre?: string;
  /** Distribution build suffix that does not change precedence (`gke.17`, `eksbuild.1`). */
  build?: string;
}

export interface VersionReading {
  version: Version | undefined;
  /** How the version was (or could not be) read, for the report: `tag "7.50.3-jmx" (flavour jmx)`. */
  how: string;
  tag?: string;
  digest?: string;
  /** Agent image flavours found in the tag (`jmx`, `fips`, …). */
  flavours: string[];
}

/** Agent image flavours: tag suffixes that select a build variant, not a pre-release. */
const AGENT_FLAVOURS = /^(jmx|fips|full|servercore|linux|windows|amd64|arm64|ltsc\d{4}|win\w*|nanoserver)$/i;
/** Suffix words that mark a pre-release build. */
const PRE_RELEASE = /^(rc|beta|alpha|pre|devel|dev|nightly|snapshot)\b/i;
/** Distribution rebuilds of an upstream CNI release (same code line, not a pre-release). */
const CNI_BUILD = /^(gke|eksbuild|aks|cce|ack|k3s|rke2|tkg|vmware|build|hotfix)\b/i;

const CORE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-(.+))?$/;

export interface ImageRef {
  /** Everything before the tag/digest: `gcr.io/datadoghq/agent`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry[:port]/path[:tag][@digest]`; a `:` counts as a tag only after the last `/`. */
export function splitImageRef(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const ref: ImageRef = { repository: rest };
  if (tag) ref.tag = tag;
  if (digest) ref.digest = digest;
  return ref;
}

/** Parses a bare version (`7.40.0-rc.1`, `v1.9.4-gke.17`); undefined unless major.minor.patch are all present. */
export function parseVersion(text: string, kind: 'agent' | 'cni' = 'agent'): Version | undefined {
  return readTag(text.trim(), kind).version;
}

/** Reads the agent version from an image reference. */
export function parseAgentImage(image: string): VersionReading {
  return readImage(image, 'agent');
}

/** Reads a CNI plugin version from an image reference. */
export function parseCniImage(image: string): VersionReading {
  return readImage(image, 'cni');
}

/** Reads `agent version` output: `Agent 7.40.0-rc.1 - Commit: 1a2b3c - Serialization version: …`. */
export function parseAgentVersionOutput(text: string): Version | undefined {
  const m = /\bAgent\s+(?:\(v7\)\s+)?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)/.exec(text);
  return m ? parseVersion(m[1]!, 'agent') : undefined;
}

function readImage(image: string, kind: 'agent' | 'cni'): VersionReading {
  const ref = splitImageRef(image);
  const base: Pick<VersionReading, 'tag' | 'digest'> = {};
  if (ref.tag) base.tag = ref.tag;
  if (ref.digest) base.digest = ref.digest;
  if (!ref.tag) {
    const how = ref.digest ? `digest only (${short(ref.digest)}): no tag to read a version from` : 'no tag (defaults to "latest"): version unknown';
    return { version: undefined, how, flavours: [], ...base };
  }
  const r = readTag(ref.tag, kind);
  const digestNote = ref.digest ? `, pinned by digest ${short(ref.digest)}` : '';
  return { ...r, how: `${r.how}${digestNote}`, ...base };
}

function readTag(tag: string, kind: 'agent' | 'cni'): VersionReading {
  if (/^latest$/i.test(tag) || /^(main|master|nightly|edge|stable)$/i.test(tag))
    return { version: undefined, how: `floating tag "${tag}": version unknown`, flavours: [] };
  const m = CORE.exec(tag);
  if (!m) return { version: undefined, how: `tag "${tag}" is not a version`, flavours: [] };
  const [, maj, min, pat, suffix] = m;
  const flavours: string[] = [];
  const pre: string[] = [];
  const build: string[] = [];
  const unknown: string[] = [];
  /** Pre-release and unrecognised parts in the tag's order: precedence follows the tag as written. */
  const preAll: string[] = [];
  if (suffix) {
    // `rc.1-jmx` → ["rc.1", "jmx"]; `gke.17` → ["gke.17"]
    for (const part of suffix.split('-')) {
      if (!part) continue;
      if (kind === 'agent' && AGENT_FLAVOURS.test(part)) flavours.push(part.toLowerCase());
      else if (kind === 'cni' && !PRE_RELEASE.test(part) && CNI_BUILD.test(part)) build.push(part);
      else {
        // `rc-1` style: a number after a pre-release word belongs to it
        (PRE_RELEASE.test(part) || (/^\d+$/.test(part) && pre.length > 0) ? pre : unknown).push(part);
        preAll.push(part);
      }
    }
  }
  if (min === undefined || pat === undefined)
    return { version: undefined, how: `floating tag "${tag}" (any ${min === undefined ? `${maj}.x` : `${maj}.${min}.x`}): exact version unknown`, flavours };
  // An unrecognised suffix may be a pre-release marker: treat it as one (it then sorts before
  // the release, which is the conservative side for the "7.39.2 excluded" boundary).
  const version: Version = { major: Number(maj), minor: Number(min), patch: Number(pat) };
  if (preAll.length) version.pre = preAll.join('-');
  if (build.length) version.build = build.join('-');
  const notes: string[] = [];
  if (flavours.length) notes.push(`flavour ${flavours.join('+')}`);
  if (pre.length) notes.push(`pre-release ${pre.join('-')}`);
  if (build.length) notes.push(`distribution build ${build.join('-')}`);
  if (unknown.length) notes.push(`unrecognised suffix "${unknown.join('-')}" read as a pre-release`);
  return { version, how: `tag "${tag}"${notes.length ? ` (${notes.join(', ')})` : ''}`, flavours };
}

/** SemVer precedence: -1 if a < b, 0 if equal, 1 if a > b. `build` is ignored. */
export function compareVersions(a: Version, b: Version): -1 | 0 | 1 {
  for (const k of ['major', 'minor', 'patch'] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === undefined) return 1; // release > its pre-releases
  if (b.pre === undefined) return -1;
  const pa = a.pre.split(/[.-]/);
  const pb = b.pre.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      // exact for any length; "01" and "1" are the same number (SemVer forbids the leading zero)
      const bx = BigInt(x);
      const by = BigInt(y);
      if (bx === by) continue;
      return bx < by ? -1 : 1;
    }
    if (nx !== ny) return nx ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    return x < y ? -1 : 1;
  }
  return 0;
}

/** `v` without its pre-release: the release line a build belongs to (`7.37.0-rc.1` → `7.37.0`). */
export function releaseLine(v: Version): Version {
  return { major: v.major, minor: v.minor, patch: v.patch };
}

export function v(text: string): Version {
  const parsed = parseVersion(text, 'cni');
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
}

export function formatVersion(ver: Version): string {
  return `${ver.major}.${ver.minor}.${ver.patch}${ver.pre ? `-${ver.pre}` : ''}${ver.build ? `-${ver.build}` : ''}`;
}

const short = (digest: string) => (digest.length > 19 ? `${digest.slice(0, 19)}…` : digest);
