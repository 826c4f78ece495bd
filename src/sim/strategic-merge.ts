/**
 * Strategic merge patch (`application/strategic-merge-patch+json`) for the objects the
 * simulator serves. Like apimachinery's `strategicpatch`, lists whose Go field carries
 * `patchMergeKey` are merged element by element on that key (containers by `name`, env by
 * `name`, volumeMounts by `mountPath`, …); other lists are replaced; maps merge; `null`
 * deletes. Directives: `$patch: replace|delete|merge` (in maps and list elements),
 * `$deleteFromPrimitiveList/<field>`, `$retainKeys`, `$setElementOrder/<field>`.
 *
 * The merge keys are keyed by field name, which is exact for the core/apps types served here.
 */
import type { Json, JsonObject } from './k8s-types.ts';

/** Field name → merge key of its list elements (from the core/v1 and apps/v1 Go types). */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};
/** Lists of primitives with `patchStrategy:"merge"`: union instead of replace. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function strategicMerge(original: JsonObject, patch: JsonObject): JsonObject {
  return mergeMap(original, patch);
}

function mergeMap(original: JsonObject, patch: JsonObject): JsonObject {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(withoutKey(patch, '$patch')) as JsonObject;
  if (directive !== undefined && directive !== 'merge') throw new PatchError(`Unknown patch type: ${JSON.stringify(directive)} in map`);

  const out: JsonObject = { ...original };
  const retain = patch.$retainKeys;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(value)) throw new PatchError(`${key}: expected a list`);
      const current = out[field];
      if (Array.isArray(current)) out[field] = current.filter((x) => !value.some((d) => deepEqual(d, x)));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    if (isObject(value) && value.$patch === 'delete') {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (isObject(value)) {
      out[key] = isObject(current) ? mergeMap(current, value) : (stripDirectives(value) as JsonObject);
    } else if (Array.isArray(value)) {
      out[key] = mergeList(key, Array.isArray(current) ? current : [], value);
    } else {
      out[key] = value;
    }
  }
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) throw new PatchError('$retainKeys: expected a list of strings');
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function mergeList(field: string, original: Json[], patch: Json[]): Json[] {
  const replace = patch.some((e) => isObject(e) && e.$patch === 'replace');
  const elements = patch.filter((e) => !(isObject(e) && e.$patch === 'replace'));
  if (replace) return elements.map(stripDirectives);

  const mergeKey = MERGE_KEYS[field];
  if (mergeKey === undefined) {
    if (MERGED_PRIMITIVE_LISTS.has(field)) return [...original, ...elements.filter((e) => !original.some((o) => deepEqual(o, e)))];
    return elements.map(stripDirectives);
  }
  const out = [...original];
  for (const element of elements) {
    if (!isObject(element)) throw new PatchError(`${field}: expected a list of objects merged on "${mergeKey}"`);
    const key = element[mergeKey];
    if (key === undefined) throw new PatchError(`map: ${JSON.stringify(element)} does not contain declared merge key: ${mergeKey}`);
    const at = out.findIndex((o) => isObject(o) && deepEqual(o[mergeKey], key));
    if (element.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) out[at] = mergeMap(out[at] as JsonObject, element);
    else out.push(stripDirectives(element));
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function withoutKey(o: JsonObject, key: string): JsonObject {
  const { [key]: _, ...rest } = o;
  return rest;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
