import http from 'node:http';
import https from 'node:https';
import querystring from 'node:querystring';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';
import WebSocket from 'ws';

/**
 * The exec subprotocols this client speaks: both carry the exit status as JSON on channel 3, v5
 * adds closing one stream (channel 255). Older ones (v3, v2, channel.k8s.io) have no status, so an
 * exit code could not be read; every API server since Kubernetes 1.4 offers v4.
 */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

/** What one exec session hands back as it runs. */
export interface ExecHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  status(s: V1Status): void;
}

/**
 * Sessions whose TLS handshake and upgrade are in flight at once. A thousand handshakes started
 * together advance in lockstep (each round trip waits behind every other's), so none opens until
 * nearly all have, and none can reuse a TLS session because none has finished; a few dozen at a
 * time open each session in milliseconds, at the same total CPU, and all but the first resume.
 */
export const DEFAULT_MAX_OPENING = 32;

/** Authorization (and any other per-request headers) for this long: one look-up per burst of execs, not one per exec. */
const HEADERS_TTL_MS = 1000;

/**
 * An https.Agent that resumes TLS sessions (one server: the API server), handing the session to
 * the socket once. `tls.connect({ session })`, which https.Agent uses, decodes the session twice
 * (in the TLSSocket constructor and again in `connect`); with OpenSSL 3.0 a decode is a good part of
 * a resumed handshake's cost, so setting it after `tls.connect` (before the handshake starts, as
 * `connect` itself does) saves one per session. A session that ended in an error is not reused.
 */
class ResumingAgent extends https.Agent {
  private session: Buffer | undefined;

  override createConnection(options: tls.ConnectionOptions): Duplex {
    const { session: _fromAgent, ...rest } = options;
    // TLSSocket#setSession is what tls.connect calls itself (not in the typings); where it is missing, the option does it.
    const late = this.session && typeof (tls.TLSSocket.prototype as { setSession?: unknown }).setSession === 'function';
    const socket = tls.connect(late || !this.session ? rest : { ...rest, session: this.session });
    if (late) (socket as tls.TLSSocket & { setSession(s: Buffer): void }).setSession(this.session!);
    socket.on('session', (s: Buffer) => (this.session = s));
    socket.once('close', (hadError: boolean) => {
      if (hadError) this.session = undefined;
    });
    return socket;
  }
}

/**
 * Exec over WebSocket as client-node's `Exec` does it (the same URL, subprotocols and channels),
 * without what costs per session at a thousand sessions at once: client-node builds a new
 * `https.Agent` (new TLS context, no session reuse) and re-reads the kubeconfig's credentials for
 * every exec, and routes each frame through streams. Here one agent with one secure context is
 * shared — same CA, client certificate and verification, plus TLS session resumption (ResumingAgent) — the headers
 * are looked up at most once a second (client-node's authenticators do their own refreshing: exec
 * plugins, token files), and frames go straight to the caller. A kubeconfig with a proxy keeps
 * client-node's per-request proxy agent.
 */
export class KubeExecClient {
  private shared: http.Agent | undefined;
  private headers: { at: number; opts: Promise<https.RequestOptions> } | undefined;

  private opening = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly maxOpening = DEFAULT_MAX_OPENING,
  ) {}

  private async openSlot(): Promise<() => void> {
    if (this.opening >= this.maxOpening) await new Promise<void>((r) => this.waiting.push(r));
    else this.opening++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on as it is
      else this.opening--;
    };
  }

  private requestOptions(): Promise<https.RequestOptions> {
    const now = Date.now();
    if (this.headers && now - this.headers.at < HEADERS_TTL_MS) return this.headers.opts;
    const opts: https.RequestOptions = {};
    const p = this.kc.applyToHTTPSOptions(opts as never).then(() => opts);
    this.headers = { at: now, opts: p };
    p.catch(() => (this.headers = undefined));
    return p;
  }

  /** The agent for this connection: the shared one, built from the first request's TLS options. */
  private agentFor(opts: https.RequestOptions, secure: boolean): http.Agent {
    if (this.kc.getCurrentCluster()?.proxyUrl) return opts.agent as http.Agent;
    if (!this.shared) {
      this.shared = secure
        ? new ResumingAgent({
            secureContext: tls.createSecureContext({ ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase }),
            ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
            ...(opts.servername ? { servername: opts.servername } : {}),
          })
        : new http.Agent();
    }
    return this.shared;
  }

  /**
   * Opens `argv` in `container` of the pod; resolves with the open WebSocket. Channel frames go to
   * `h`; after the status frame the client closes the session, as client-node does. `signal`
   * gives up a session still waiting for its turn to open, or still opening.
   */
  async open(namespace: string, pod: string, container: string, argv: string[], stdin: boolean, h: ExecHandlers, signal?: AbortSignal): Promise<WebSocket> {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error('No cluster is defined.');
    const secure = server.startsWith('https://');
    const query = querystring.stringify({ stdout: true, stderr: true, stdin, tty: false, command: argv, container });
    const uri = `${secure ? 'wss' : 'ws'}://${server.slice(secure ? 8 : 7)}/api/v1/namespaces/${namespace}/pods/${pod}/exec?${query}`;
    const opts = await this.requestOptions();
    const agent = this.agentFor(opts, secure);
    const release = await this.openSlot();
    if (signal?.aborted) {
      release();
      throw signal.reason as Error;
    }
    const ws = new WebSocket(uri, EXEC_PROTOCOLS, {
      agent,
      ...(opts.headers ? { headers: opts.headers as http.OutgoingHttpHeaders } : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
      // Kubernetes does not compress exec frames; offering it would only cost a zlib context per session.
      perMessageDeflate: false,
      // The agent's output is read as UTF-8 (or bytes) by the caller; the frames are binary.
      skipUTF8Validation: true,
    });
    ws.binaryType = 'nodebuffer';
    return await new Promise<WebSocket>((resolve, reject) => {
      const onAbort = () => ws.terminate();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        release();
        signal?.removeEventListener('abort', onAbort);
      };
      ws.once('open', () => {
        settle();
        ws.off('error', fail);
        ws.on('error', () => {}); // a close follows, and the caller reads the outcome there
        resolve(ws);
      });
      const fail = (e: Error) => {
        settle();
        reject(e);
      };
      ws.once('error', fail);
      ws.on('message', (data: Buffer) => {
        if (data.length < 1) return;
        const ch = data[0];
        if (ch === STDOUT) h.stdout(data.subarray(1));
        else if (ch === STDERR) h.stderr(data.subarray(1));
        else if (ch === STATUS) {
          let s: V1Status;
          try {
            s = JSON.parse(data.subarray(1).toString('utf8')) as V1Status;
          } catch {
            s = { status: 'Failure', message: 'unreadable exec status frame' };
          }
          h.status(s);
          ws.close();
        }
        // CLOSE (255) from the server ends one of its streams; stdin (0) is never sent to a client.
      });
    });
  }
}

/** stdin text as a channel-0 frame. */
export const stdinFrame = (text: string): Buffer => {
  const n = Buffer.byteLength(text);
  const b = Buffer.allocUnsafe(n + 1);
  b[0] = STDIN;
  b.write(text, 1, n, 'utf8');
  return b;
};

/** End of stdin: v5 closes channel 0 with a frame; v4 has no such frame, so the session is closed (as client-node does). */
export function endStdin(ws: WebSocket): void {
  if (ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([CLOSE, STDIN]));
  else ws.close();
}
