/**
 * The exec session on an upgraded WebSocket, in the channel protocol of
 * `v4.channel.k8s.io` / `v5.channel.k8s.io` (the server side of client-node's
 * web-socket-handler.ts and client-go's remotecommand websocket executor):
 * every binary message starts with a channel byte — 0 stdin, 1 stdout, 2 stderr,
 * 3 status (one JSON `metav1.Status`, then the server closes), 4 resize; v5 adds 255 "close":
 * `[255, 0]` from the client half-closes stdin.
 *
 * As the kubelet does, the server first writes an empty frame on the lowest writable channel
 * (stdout, else stderr, else status) so the client knows the streams are up.
 * A client that closes the socket aborts the command (containerd kills the exec'd process
 * when its stream context ends); nothing keeps running, no timer is left behind.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { type RawData, WebSocket } from 'ws';
import type { ExecContext } from './exec-registry.ts';
import { type ChannelProtocol, exitStatus, internalError, kubeletExecURL, kubeletUnreachable, startFailure, type StatusFrame } from './exec-status.ts';
import type { ExecTarget } from './routes/exec.ts';
import type { ClusterState } from './state.ts';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;
export const PROTOCOLS: readonly ChannelProtocol[] = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/** The protocol the server picks from the client's offer (v5 preferred), if any. */
export function negotiateProtocol(offered: readonly string[]): ChannelProtocol | undefined {
  return PROTOCOLS.find((p) => offered.includes(p));
}

export interface ExecSession {
  readonly done: Promise<void>;
  /** Ends the session from the server side (shutdown). */
  abort(): void;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function runExecSession(ws: WebSocket, protocol: ChannelProtocol, target: ExecTarget, state: ClusterState): ExecSession {
  const ac = new AbortController();
  const stdin = new PassThrough();
  if (!target.stdin) stdin.end();

  const send = (channel: number, data: string | Uint8Array) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(Buffer.concat([Buffer.of(channel), typeof data === 'string' ? Buffer.from(data, 'utf8') : data]));
  };
  const finish = (frame: StatusFrame) => {
    send(CHANNEL.status, JSON.stringify(frame));
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  };

  ws.on('message', (raw: RawData) => {
    const data = toBuffer(raw);
    if (data.length === 0) return;
    const channel = data[0];
    if (channel === CHANNEL.stdin) {
      if (target.stdin && !stdin.writableEnded) stdin.write(data.subarray(1));
    } else if (channel === CHANNEL.close && protocol === 'v5.channel.k8s.io' && data[1] === CHANNEL.stdin) {
      if (!stdin.writableEnded) stdin.end();
    }
    // resize (4) and anything else: nothing to do without a TTY.
  });
  const onGone = () => {
    ac.abort(new Error('the client closed the exec session'));
    if (!stdin.writableEnded) stdin.end();
  };
  ws.on('close', onGone);
  ws.on('error', onGone);

  send(target.stdout ? CHANNEL.stdout : target.stderr ? CHANNEL.stderr : CHANNEL.status, Buffer.alloc(0));

  const stdoutChannel = CHANNEL.stdout;
  const stderrChannel = target.tty ? CHANNEL.stdout : CHANNEL.stderr;
  const ctx: ExecContext = {
    pod: target.podObject,
    node: target.node,
    container: target.container,
    argv: target.argv,
    stdin,
    stdout: { write: (chunk) => target.stdout && send(stdoutChannel, chunk) },
    stderr: { write: (chunk) => (target.tty ? target.stdout : target.stderr) && send(stderrChannel, chunk) },
    signal: ac.signal,
    state,
  };

  const done = (async () => {
    if (!target.kubeletReachable) {
      const url = kubeletExecURL(target.nodeIP, target.namespace, target.pod, target.container, target.argv, target);
      return finish(kubeletUnreachable(target.nodeIP, url).frame);
    }
    const handler = state.exec.resolve(target.container, target.argv, target.podObject);
    if (!handler) {
      const execId = randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '');
      const failure = startFailure(target.argv, execId, protocol, state.runtime);
      if (failure.kind === 'status') return finish(failure.frame);
      ctx.stdout.write(failure.stdout);
      return finish(exitStatus(failure.exitCode, target.argv, protocol, state.runtime));
    }
    try {
      const code = await handler(ctx);
      if (!Number.isInteger(code) || code < 0 || code > 255) throw new Error(`exec handler returned exit code ${code}`);
      finish(exitStatus(code, target.argv, protocol, state.runtime));
    } catch (err) {
      if (ac.signal.aborted) return;
      finish(internalError(`error executing command in container: ${(err as Error).message}`));
    } finally {
      stdin.destroy();
    }
  })();

  return {
    done,
    abort: () => {
      onGone();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
}
