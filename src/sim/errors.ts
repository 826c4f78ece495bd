/**
 * `metav1.Status` failures as the real API server writes them (apimachinery `api/errors`):
 * same reasons, codes and message wording, so clients (and people) see what a cluster says.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** What a route throws to answer with a Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, code: this.code };
    if (this.reason) s.reason = this.reason;
    if (this.details) s.details = this.details;
    return s;
  }
}

/** A resource named like the API names it in messages: `pods`, `daemonsets.apps`. */
export interface GroupResource {
  group: string;
  resource: string;
}

const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

export function notFound(gr: GroupResource, name: string): ApiError {
  const details: StatusDetails = gr.group ? { name, group: gr.group, kind: gr.resource } : { name, kind: gr.resource };
  return new ApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, details);
}

/** A path the server has no handler for. */
export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

export function conflict(gr: GroupResource, name: string, message: string): ApiError {
  const details: StatusDetails = gr.group ? { name, group: gr.group, kind: gr.resource } : { name, kind: gr.resource };
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${message}`, details);
}

export function unsupportedMediaType(contentType: string | undefined, accepted: readonly string[]): ApiError {
  const what = contentType
    ? `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`
    : 'the body of the request was in an unknown format';
  return new ApiError(415, 'UnsupportedMediaType', what);
}

/** 422: `DaemonSet.apps "x" is invalid: spec.selector: Invalid value: …: field is immutable`. */
export function invalid(kind: string, group: string, name: string, causes: { field: string; message: string }[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

/** `apierrors.NewInternalError(err)`. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/**
 * A plain Go error reaching the API server's responder (`ErrorToAPIStatus` of a non-status
 * error): code 500, no reason. kubectl prints it as `Error from server: <message>`.
 */
export function serverError(message: string): ApiError {
  return new ApiError(500, '', message);
}
