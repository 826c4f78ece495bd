/**
 * The fields each resource supports in `fieldSelector` (apiserver `GetAttrs` /
 * `AddFieldLabelConversionFunc`), and their values for one object.
 */
import type { KObject, Node, Pod } from './k8s-types.ts';

export const POD_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
] as const;
export const NODE_FIELDS = ['metadata.name', 'spec.unschedulable'] as const;
export const META_FIELDS = ['metadata.name', 'metadata.namespace'] as const;

export function metaFields(o: KObject): Record<string, string> {
  return { 'metadata.name': o.metadata.name, 'metadata.namespace': o.metadata.namespace ?? '' };
}

export function podFields(p: Pod): Record<string, string> {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    ...metaFields(p),
    'spec.nodeName': p.spec.nodeName ?? '',
    'spec.restartPolicy': str(p.spec.restartPolicy),
    'spec.schedulerName': str(p.spec.schedulerName),
    'spec.serviceAccountName': str(p.spec.serviceAccountName),
    'spec.hostNetwork': String(p.spec.hostNetwork === true),
    'status.phase': p.status.phase,
    'status.podIP': p.status.podIP ?? '',
    'status.nominatedNodeName': str(p.status.nominatedNodeName),
  };
}

export function nodeFields(n: Node): Record<string, string> {
  return { 'metadata.name': n.metadata.name, 'spec.unschedulable': String(n.spec.unschedulable === true) };
}
