/**
 * The REST verbs on the resources of resources.ts: list (namespaced and across namespaces,
 * labelSelector, fieldSelector, limit/continue), get, delete, patch; Tables when asked for.
 */
import { ApiError, badRequest, methodNotAllowed, notFound, pathNotFound, unsupportedMediaType } from '../errors.ts';
import { type FieldSelector, parseFieldSelector, unsupportedField } from '../field-selector.ts';
import type { KObject } from '../k8s-types.ts';
import { type LabelSelector, parseLabelSelector, SelectorParseError } from '../label-selector.ts';
import { PATCH_CONTENT_TYPES, patchContentType } from '../patch.ts';
import { findResource, type ResourceDef } from '../resources.ts';
import type { ClusterState } from '../state.ts';
import { toTable } from '../tables.ts';

export interface RestRequest {
  method: string;
  /** Path segments after `/api/v1` or `/apis/<group>/<version>`. */
  segments: string[];
  group: string;
  query: URLSearchParams;
  table: boolean;
  contentType: string | undefined;
  body(): Promise<string>;
}

export interface Reply {
  code: number;
  body: unknown;
}

interface Target {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
}

function resolve(group: string, segments: string[]): Target {
  const [a, b, c, d, ...rest] = segments;
  if (a === undefined) throw pathNotFound();
  if (a === 'namespaces' && b !== undefined && c !== undefined) {
    const def = findResource(group, c);
    if (!def || !def.namespaced || rest.length > 0) throw pathNotFound();
    return { def, namespace: b, name: d };
  }
  const def = findResource(group, a);
  if (!def || c !== undefined) throw pathNotFound();
  if (b !== undefined && def.namespaced) throw pathNotFound();
  return { def, namespace: undefined, name: b };
}

export async function handleRest(state: ClusterState, req: RestRequest): Promise<Reply> {
  const { def, namespace, name } = resolve(req.group, req.segments);
  const gr = { group: def.group, resource: def.plural };
  const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;

  if (req.method === 'GET' && req.query.get('watch') && ['true', '1'].includes(req.query.get('watch')!)) {
    throw new ApiError(405, 'MethodNotAllowed', 'the simulator does not serve watch requests; list again instead');
  }
  if (name === undefined) {
    if (req.method !== 'GET') throw methodNotAllowed();
    const { labels, fields } = selectors(req.query, def);
    const all = def.list(state, namespace, labels, fields);
    const { items, continueToken, remaining } = paginate(all, req.query, state.resourceVersion);
    if (req.table) {
      return {
        code: 200,
        body: toTable(def.table, items as never[], {
          now: new Date(),
          resourceVersion: state.resourceVersion,
          includeObject: req.query.get('includeObject'),
          ...(continueToken ? { continueToken } : {}),
        }),
      };
    }
    return {
      code: 200,
      body: {
        kind: `${def.kind}List`,
        apiVersion,
        metadata: { resourceVersion: state.resourceVersion, ...(continueToken ? { continue: continueToken, remainingItemCount: remaining } : {}) },
        items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
      },
    };
  }

  switch (req.method) {
    case 'GET': {
      const obj = def.get(state, namespace, name);
      if (!obj) throw notFound(gr, name);
      return {
        code: 200,
        body: req.table
          ? toTable(def.table, [obj] as never[], { now: new Date(), resourceVersion: state.resourceVersion, includeObject: req.query.get('includeObject') })
          : obj,
      };
    }
    case 'DELETE': {
      if (!def.delete || namespace === undefined) throw methodNotAllowed();
      if (req.query.get('dryRun')) throw badRequest('dryRun is not supported by the simulator');
      await req.body(); // DeleteOptions (propagation, grace period): deletion is immediate here
      return { code: 200, body: def.delete(state, namespace, name) };
    }
    case 'PATCH': {
      if (!def.patch || namespace === undefined) throw methodNotAllowed();
      const type = patchContentType(req.contentType);
      if (!type) throw unsupportedMediaType(req.contentType, PATCH_CONTENT_TYPES);
      if (req.query.get('dryRun')) throw badRequest('dryRun is not supported by the simulator');
      return { code: 200, body: def.patch(state, namespace, name, type, await req.body()) };
    }
    default:
      throw methodNotAllowed();
  }
}

function selectors(query: URLSearchParams, def: ResourceDef): { labels: LabelSelector; fields: FieldSelector } {
  try {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    const unsupported = unsupportedField(fields, def.fieldLabels);
    if (unsupported !== undefined) throw badRequest(`field label not supported: ${unsupported}`);
    return { labels, fields };
  } catch (err) {
    if (err instanceof SelectorParseError) throw badRequest(err.message);
    throw err;
  }
}

/** `limit` + `continue`: the token carries the offset into the (stably sorted) list. */
function paginate<T extends KObject>(all: T[], query: URLSearchParams, rv: string): { items: T[]; continueToken?: string; remaining?: number } {
  const limit = Number(query.get('limit') ?? '0');
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${query.get('limit')}`);
  let start = 0;
  const token = query.get('continue');
  if (token) {
    try {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
      if (typeof parsed.start !== 'number' || !Number.isInteger(parsed.start) || parsed.start < 0) throw new Error('bad offset');
      start = parsed.start;
    } catch {
      throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    }
  }
  if (limit === 0) return { items: all.slice(start) };
  const items = all.slice(start, start + limit);
  const next = start + items.length;
  if (next >= all.length) return { items };
  return { items, continueToken: Buffer.from(JSON.stringify({ start: next, rv })).toString('base64url'), remaining: all.length - next };
}
