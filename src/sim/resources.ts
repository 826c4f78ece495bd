/**
 * The resources the simulator serves, in one table that both discovery and the REST routes
 * read: what kubectl's RESTMapper learns (short names, verbs, kinds) is exactly what answers.
 */
import type { FieldSelector } from './field-selector.ts';
import type { KObject } from './k8s-types.ts';
import type { LabelSelector } from './label-selector.ts';
import type { PatchContentType } from './patch.ts';
import { META_FIELDS, NODE_FIELDS, POD_FIELDS } from './resource-fields.ts';
import type { ClusterState } from './state.ts';
import { configMapTable, daemonSetTable, namespaceTable, nodeTable, podTable, type TableConverter } from './tables.ts';

export interface ResourceDef {
  group: '' | 'apps';
  version: 'v1';
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  categories?: string[];
  fieldLabels: readonly string[];
  table: TableConverter<never>;
  list(state: ClusterState, namespace: string | undefined, labels: LabelSelector, fields: FieldSelector): KObject[];
  get(state: ClusterState, namespace: string | undefined, name: string): KObject | undefined;
  delete?(state: ClusterState, namespace: string, name: string): KObject;
  patch?(state: ClusterState, namespace: string, name: string, type: PatchContentType, body: string): KObject;
}

const ns = (n: string | undefined) => n ?? '';

export const RESOURCES: readonly ResourceDef[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['get', 'list'],
    fieldLabels: ['metadata.name', 'status.phase'],
    table: namespaceTable as TableConverter<never>,
    list: (s, _n, l, f) => s.listNamespaces(l, f),
    get: (s, _n, name) => s.getNamespace(name),
  },
  {
    group: '',
    version: 'v1',
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    verbs: ['get', 'list'],
    fieldLabels: NODE_FIELDS,
    table: nodeTable as TableConverter<never>,
    list: (s, _n, l, f) => s.listNodes(l, f),
    get: (s, _n, name) => s.getNode(name),
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    verbs: ['delete', 'get', 'list'],
    categories: ['all'],
    fieldLabels: POD_FIELDS,
    table: podTable as TableConverter<never>,
    list: (s, n, l, f) => s.listPods(n, l, f),
    get: (s, n, name) => s.getPod(ns(n), name),
    delete: (s, n, name) => s.deletePod(n, name),
  },
  {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    verbs: ['get', 'list'],
    fieldLabels: META_FIELDS,
    table: configMapTable as TableConverter<never>,
    list: (s, n, l, f) => s.listConfigMaps(n, l, f),
    get: (s, n, name) => s.getConfigMap(ns(n), name),
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'daemonsets',
    singular: 'daemonset',
    kind: 'DaemonSet',
    namespaced: true,
    shortNames: ['ds'],
    verbs: ['get', 'list', 'patch'],
    categories: ['all'],
    fieldLabels: META_FIELDS,
    table: daemonSetTable as TableConverter<never>,
    list: (s, n, l, f) => s.listDaemonSets(n, l, f),
    get: (s, n, name) => s.getDaemonSet(ns(n), name),
    patch: (s, n, name, type, body) => s.patchDaemonSet(n, name, type, body),
  },
];

/** Subresources advertised in discovery (kubectl does not need them listed to exec, but a cluster lists them). */
export const SUBRESOURCES = [{ group: '', name: 'pods/exec', kind: 'PodExecOptions', namespaced: true, verbs: ['create', 'get'] }] as const;

export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function findResource(group: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural);
}
