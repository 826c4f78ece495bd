/**
 * Discovery: /version, /api, /api/v1, /apis, /apis/apps, /apis/apps/v1. Served in the plain
 * (unaggregated) form only: kubectl 1.27–1.33 ask for aggregated discovery first
 * (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…,application/json`)
 * and fall back to these documents when the reply's Content-Type is plain application/json.
 */
import { KUBERNETES_VERSION } from '../build-cluster.ts';
import { groupVersion, RESOURCES, SUBRESOURCES } from '../resources.ts';

export function versionInfo() {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: 'a78aa47129b8539636eb86a9d00e31b2720fe06b',
    gitTreeState: 'clean',
    buildDate: '2024-12-10T11:37:23Z',
    goVersion: 'go1.22.9',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

const GROUPS = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];

function apiGroup(name: string) {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [gv], preferredVersion: gv };
}

export function groupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map(apiGroup) };
}

export function group(name: string) {
  return GROUPS.includes(name as never) ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(name) } : undefined;
}

export function resourceList(groupName: string, version: string) {
  const defs = RESOURCES.filter((r) => r.group === groupName && r.version === version);
  if (defs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = defs.map((r) => ({
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories ? { categories: r.categories } : {}),
  }));
  for (const s of SUBRESOURCES.filter((x) => x.group === groupName)) {
    resources.push({ name: s.name, singularName: '', namespaced: s.namespaced, kind: s.kind, verbs: s.verbs });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group: groupName, version }), resources };
}
