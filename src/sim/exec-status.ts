/**
 * The exec status a real cluster writes on channel 3, and the errors around it. Pure.
 *
 * Two paths exist in a real 1.30+ cluster, chosen by the subprotocol the client offers:
 * - v4.channel.k8s.io: the API server proxies the WebSocket to the kubelet, which writes the
 *   status itself (kubelet `cri/streaming/remotecommand/exec.go` ServeExec):
 *     exit ≠ 0 → NonZeroExitCode, message "command terminated with non-zero exit code: <err>"
 *       where <err> is the runtime's error: containerd `error executing command [a b], exit code N`
 *       (containerd `cri/server/streaming.go`), cri-dockerd `Error executing in Docker Container: N`;
 *     runtime failure → NewInternalError("error executing command in container: <err>").
 * - v5.channel.k8s.io: the API server's StreamTranslatorHandler (apiserver
 *   `util/proxy/streamtranslator.go`, beta and on since 1.30) upgrades the client itself and talks
 *   SPDY to the kubelet; client-go's errorDecoderV4 turns the kubelet's status into an error, and
 *   the translator writes it back: exit codes as "command terminated with non-zero exit code:
 *   command terminated with exit code N", anything else wrapped once more in NewInternalError.
 * The status JSON is `json.Marshal(status.Status())`: no kind/apiVersion, `code` only when set.
 */

export type ChannelProtocol = 'v5.channel.k8s.io' | 'v4.channel.k8s.io';
export type Runtime = 'containerd' | 'cri-dockerd';

export interface StatusFrame {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

export const SUCCESS: StatusFrame = { metadata: {}, status: 'Success' };

/** Go's `%v` of a []string: `[a b c]`. */
export function goStringSlice(argv: readonly string[]): string {
  return `[${argv.join(' ')}]`;
}

/** The API server's status for an exec that could not run (500 InternalError). */
export function internalError(message: string): StatusFrame {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

export function exitStatus(code: number, argv: readonly string[], protocol: ChannelProtocol, runtime: Runtime): StatusFrame {
  if (code === 0) return SUCCESS;
  const inner =
    protocol === 'v5.channel.k8s.io'
      ? `command terminated with exit code ${code}`
      : runtime === 'containerd'
        ? `error executing command ${goStringSlice(argv)}, exit code ${code}`
        : `Error executing in Docker Container: ${code}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${inner}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** runc's words for a binary it cannot start. */
export function runcStartError(argv0: string): string {
  return argv0.includes('/')
    ? `exec failed: unable to start container process: exec: "${argv0}": stat ${argv0}: no such file or directory`
    : `exec failed: unable to start container process: exec: "${argv0}": executable file not found in $PATH`;
}

/**
 * The binary is not in the container. containerd fails the exec at start (no exit code; the
 * client gets an InternalError). cri-dockerd, like Docker, prints the OCI error on stdout and
 * exits 126 ("command cannot be invoked").
 */
export type StartFailure = { kind: 'status'; frame: StatusFrame } | { kind: 'exit'; stdout: string; exitCode: 126 };

export function startFailure(argv: readonly string[], execId: string, protocol: ChannelProtocol, runtime: Runtime): StartFailure {
  const oci = `OCI runtime exec failed: ${runcStartError(argv[0] ?? '')}: unknown`;
  if (runtime === 'cri-dockerd') return { kind: 'exit', stdout: `${oci}\r\n`, exitCode: 126 };
  const kubelet = internalError(`error executing command in container: failed to exec in container: failed to start exec "${execId}": ${oci}`);
  return { kind: 'status', frame: protocol === 'v5.channel.k8s.io' ? internalError(kubelet.message!) : kubelet };
}

/** The kubelet's exec URL, as the API server's ExecLocation builds it (url.Values sorts keys). */
export function kubeletExecURL(
  nodeIP: string,
  ns: string,
  pod: string,
  container: string,
  argv: readonly string[],
  streams: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
): string {
  const q = new URLSearchParams();
  for (const a of argv) q.append('command', a);
  if (streams.stderr) q.append('error', '1');
  if (streams.stdin) q.append('input', '1');
  if (streams.stdout) q.append('output', '1');
  if (streams.tty) q.append('tty', '1');
  return `https://${nodeIP}:10250/exec/${ns}/${pod}/${container}?${q.toString().replaceAll('+', '%20')}`;
}

/**
 * The node's kubelet does not answer. v4 (proxied): the API server fails before the upgrade,
 * 500 "error dialing backend: …" (apimachinery `proxy/upgradeaware.go` dial). v5 (translated):
 * the client is already upgraded; the SPDY dial error arrives as an InternalError status.
 */
export function kubeletUnreachable(nodeIP: string, url: string): { beforeUpgrade: string; frame: StatusFrame } {
  const dial = `dial tcp ${nodeIP}:10250: connect: connection refused`;
  return { beforeUpgrade: `error dialing backend: ${dial}`, frame: internalError(`error sending request: Post "${url}": ${dial}`) };
}
