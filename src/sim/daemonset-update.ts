/**
 * Turning a patched DaemonSet document into the stored object, as the API server's update
 * strategy does: system fields and status are kept from the old object, immutable fields are
 * checked, the result is validated (422 naming the field), and `metadata.generation` moves
 * only when the spec changed. Pure.
 */
import { badRequest, conflict, invalid } from './errors.ts';
import type { DaemonSet, JsonObject } from './k8s-types.ts';
import { fromLabelSelectorSpec, matchesLabels } from './label-selector.ts';
import { deepEqual } from './strategic-merge.ts';

const GR = { group: 'apps', resource: 'daemonsets' };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface DaemonSetUpdate {
  next: DaemonSet;
  specChanged: boolean;
  templateChanged: boolean;
}

export function prepareDaemonSetUpdate(old: DaemonSet, patched: JsonObject): DaemonSetUpdate {
  const name = old.metadata.name;
  const meta = (patched.metadata ?? {}) as Record<string, unknown>;
  if (meta.name !== undefined && meta.name !== name) {
    throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
  }
  if (meta.namespace !== undefined && meta.namespace !== old.metadata.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' && meta.resourceVersion !== old.metadata.resourceVersion) {
    throw conflict(GR, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  const next = structuredClone(patched) as unknown as DaemonSet;
  next.apiVersion = old.apiVersion;
  next.kind = old.kind;
  next.metadata = {
    ...(next.metadata ?? {}),
    name,
    namespace: old.metadata.namespace,
    uid: old.metadata.uid,
    resourceVersion: old.metadata.resourceVersion,
    creationTimestamp: old.metadata.creationTimestamp,
    generation: old.metadata.generation ?? 1,
  };
  next.status = structuredClone(old.status);
  validate(next, old);

  const specChanged = !deepEqual(next.spec, old.spec);
  const templateChanged = !deepEqual(next.spec.template, old.spec.template);
  if (specChanged) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
  if (templateChanged) {
    next.metadata.annotations = { ...next.metadata.annotations, 'deprecated.daemonset.template.generation': String(next.metadata.generation) };
  }
  return { next, specChanged, templateChanged };
}

function validate(ds: DaemonSet, old: DaemonSet): void {
  const problems: { field: string; message: string }[] = [];
  const bad = (field: string, message: string) => problems.push({ field, message });
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

  const spec = ds.spec as unknown;
  if (!isObj(spec)) throw invalid('DaemonSet', 'apps', ds.metadata.name, [{ field: 'spec', message: 'Required value' }]);
  if (!deepEqual(ds.spec.selector, old.spec.selector)) {
    bad('spec.selector', `Invalid value: ${JSON.stringify(ds.spec.selector)}: field is immutable`);
  }
  const template = ds.spec.template as unknown;
  if (!isObj(template) || !isObj(template.spec)) {
    bad('spec.template', 'Required value');
  } else {
    const labels = isObj(template.metadata) ? template.metadata.labels : undefined;
    if (labels !== undefined && (!isObj(labels) || !Object.values(labels).every((v) => typeof v === 'string'))) {
      bad('spec.template.metadata.labels', 'Invalid value: label values must be strings');
    } else if (isObj(ds.spec.selector) && !matchesLabels(fromLabelSelectorSpec(ds.spec.selector), labels as Record<string, string> | undefined)) {
      bad('spec.template.metadata.labels', `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\``);
    }
    const containers = template.spec.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      bad('spec.template.spec.containers', 'Required value');
    } else {
      const seen = new Set<string>();
      containers.forEach((c: unknown, i) => {
        const at = `spec.template.spec.containers[${i}]`;
        if (!isObj(c)) return bad(at, 'Invalid value: must be an object');
        if (typeof c.name !== 'string' || c.name === '') bad(`${at}.name`, 'Required value');
        else if (!DNS_LABEL.test(c.name))
          bad(`${at}.name`, `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`);
        else if (seen.has(c.name)) bad(`${at}.name`, `Duplicate value: "${c.name}"`);
        else seen.add(c.name);
        if (typeof c.image !== 'string' || c.image.trim() === '') bad(`${at}.image`, 'Required value');
        if (c.env !== undefined) {
          if (!Array.isArray(c.env)) bad(`${at}.env`, 'Invalid value: must be a list');
          else
            c.env.forEach((e: unknown, j) => {
              if (!isObj(e) || typeof e.name !== 'string' || e.name === '') bad(`${at}.env[${j}].name`, 'Required value');
              else if (e.value !== undefined && typeof e.value !== 'string') bad(`${at}.env[${j}].value`, 'Invalid value: must be a string');
            });
        }
      });
    }
  }
  if (problems.length > 0) throw invalid('DaemonSet', 'apps', ds.metadata.name, problems);
}
