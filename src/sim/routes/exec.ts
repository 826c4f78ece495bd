/**
 * `pods/exec`: what the API server checks before any upgrade (pkg/registry/core/pod
 * ExecLocation and PodExecOptions validation), so errors arrive as HTTP Status replies:
 * pod not found 404; no command, no stream, or a container the pod lacks 400.
 */
import { badRequest, notFound } from '../errors.ts';
import { boolParam } from '../http-util.ts';
import type { Pod } from '../k8s-types.ts';
import type { ClusterState } from '../state.ts';

export const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/;

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string | undefined;
  argv: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface ExecTarget extends ExecRequest {
  container: string;
  podObject: Pod;
  node: string;
  nodeIP: string;
  /** false when the node's kubelet does not answer (fleet `ready: false`). */
  kubeletReachable: boolean;
}

export function parseExecRequest(pathname: string, query: URLSearchParams): ExecRequest | undefined {
  const m = EXEC_PATH.exec(pathname);
  if (!m) return undefined;
  return {
    namespace: decodeURIComponent(m[1]!),
    pod: decodeURIComponent(m[2]!),
    container: query.get('container') ?? undefined,
    argv: query.getAll('command'),
    stdin: boolParam(query.get('stdin')),
    stdout: boolParam(query.get('stdout')),
    stderr: boolParam(query.get('stderr')),
    tty: boolParam(query.get('tty')),
  };
}

export function resolveExecTarget(state: ClusterState, req: ExecRequest): ExecTarget {
  const pod = state.peekPod(req.namespace, req.pod) as Pod | undefined;
  if (!pod) throw notFound({ group: '', resource: 'pods' }, req.pod);
  if (req.argv.length === 0) throw badRequest('you must specify at least 1 command');
  if (!req.stdin && !req.stdout && !req.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  const names = pod.spec.containers.map((c) => c.name);
  let container = req.container;
  if (container === undefined || container === '') {
    if (names.length !== 1) throw badRequest(`a container name must be specified for pod ${req.pod}, choose one of: [${names.join(' ')}]`);
    container = names[0]!;
  } else if (!names.includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${req.pod}`);
  }
  const node = pod.spec.nodeName;
  if (!node) throw badRequest(`pod ${req.pod} does not have a host assigned`);
  const nodeObj = state.peekNode(node);
  const nodeIP = nodeObj?.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? pod.status.hostIP ?? '';
  const kubeletReachable = nodeObj?.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return { ...req, container, podObject: pod, node, nodeIP, kubeletReachable };
}
