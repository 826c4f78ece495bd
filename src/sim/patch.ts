/**
 * The three patch formats the API server accepts on PATCH, chosen by Content-Type:
 * RFC 6902 JSON patch, RFC 7386 JSON merge patch, and strategic merge patch.
 * Pure: original object + body text in, patched object out (or a PatchError).
 */
import jsonpatch from 'fast-json-patch';
import type { Json, JsonObject } from './k8s-types.ts';
import { PatchError, strategicMerge } from './strategic-merge.ts';

export { PatchError } from './strategic-merge.ts';

export const PATCH_CONTENT_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'] as const;
export type PatchContentType = (typeof PATCH_CONTENT_TYPES)[number];

/** The patch format named by a Content-Type header (parameters such as charset ignored). */
export function patchContentType(header: string | undefined): PatchContentType | undefined {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase();
  return PATCH_CONTENT_TYPES.find((t) => t === mediaType);
}

/** A body that is not a patch of the declared type at all (400), as opposed to one that does not apply (422). */
export class PatchDecodeError extends PatchError {
  override name = 'PatchDecodeError';
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function applyPatch(original: JsonObject, type: PatchContentType, body: string): JsonObject {
  let patch: Json;
  try {
    patch = JSON.parse(body) as Json;
  } catch (err) {
    throw new PatchDecodeError(`error decoding patch: ${(err as Error).message}`);
  }
  switch (type) {
    case 'application/merge-patch+json':
      if (!isObject(patch)) throw new PatchDecodeError(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
      return mergePatch(original, patch) as JsonObject;
    case 'application/strategic-merge-patch+json':
      if (!isObject(patch)) throw new PatchDecodeError(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
      return strategicMerge(original, patch);
    case 'application/json-patch+json':
      if (!Array.isArray(patch)) throw new PatchDecodeError(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type []handlers.jsonPatchOp`);
      return applyJsonPatch(original, patch);
  }
}

/** RFC 7386: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key] ?? null, value);
  }
  return out;
}

function applyJsonPatch(original: JsonObject, ops: Json[]): JsonObject {
  for (const [i, op] of ops.entries()) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchDecodeError(`json patch operation ${i} must be an object with "op" and "path"`);
    }
  }
  try {
    const result = jsonpatch.applyPatch(structuredClone(original), ops as unknown as jsonpatch.Operation[], true, true);
    const doc = result.newDocument as Json;
    if (!isObject(doc)) throw new PatchError('the patched document is not an object');
    return doc;
  } catch (err) {
    if (err instanceof PatchError) throw err;
    const e = err as { name?: string; message?: string; operation?: { op?: string; path?: string } };
    const op = e.operation?.op ?? 'patch';
    const path = e.operation?.path ?? '';
    switch (e.name) {
      case 'TEST_OPERATION_FAILED':
        throw new PatchError(`testing value ${path} failed: test failed`);
      case 'OPERATION_PATH_UNRESOLVABLE':
      case 'OPERATION_PATH_CANNOT_ADD':
      case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
      case 'OPERATION_FROM_UNRESOLVABLE':
        throw new PatchError(`jsonpatch ${op} operation does not apply: doc is missing path: ${path}`);
      default:
        throw new PatchDecodeError(`invalid JSON patch: ${(e.message ?? String(err)).split('\n')[0]}`);
    }
  }
}

function jsonKind(v: Json): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}
