/**
 * The simulator's HTTPS API server: bearer-token auth, discovery, REST, and exec over
 * WebSocket. Answers are Kubernetes JSON; failures are `Status` objects as a cluster writes
 * them. `/healthz`, `/livez`, `/readyz` and `/version` are open, as with anonymous auth.
 * `/metrics` (authenticated, as the API server's is) counts the exec requests as kube-apiserver's
 * `apiserver_request_total` does (verb CONNECT, resource pods, subresource exec, by code: 101 for a
 * session opened), so a client can read how many sessions it opened (`kubectl get --raw /metrics`).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Counter, Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { ApiError, badRequest, pathNotFound, serverError, unauthorized } from './errors.ts';
import { kubeletExecURL, kubeletUnreachable } from './exec-status.ts';
import { readBody, sendJson, sendStatus, wantsTable, writeRawStatus } from './http-util.ts';
import { coreVersions, group, groupList, resourceList, versionInfo } from './routes/discovery.ts';
import { parseExecRequest, resolveExecTarget } from './routes/exec.ts';
import { handleRest } from './routes/rest.ts';
import type { ClusterState } from './state.ts';
import type { ServingTls } from './tls.ts';
import { type ExecSession, negotiateProtocol, runExecSession } from './websocket-exec.ts';

export interface ApiServerOptions {
  state: ClusterState;
  tls: ServingTls;
  token: string;
  host: string;
  port: number;
  /** One line per request (method, path, status, ms), for `--verbose`. */
  log?: (line: string) => void;
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  /** Exec sessions still open (a hanging command counts until its client goes away). */
  activeExecs(): number;
  close(): Promise<void>;
}

const OPEN_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);
const BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';

/** The exec sessions opened, read from the text `/metrics` serves (apiserver_request_total, pods/exec, code 101). */
export function execSessionsIn(metricsText: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith('apiserver_request_total{') && l.includes('subresource="exec"') && l.includes('code="101"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { state, token, log } = opts;
  const expected = Buffer.from(token);
  const sessions = new Set<ExecSession>();
  let serverAddress = '';
  const metrics = new Registry();
  const execRequests = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    labelNames: ['code', 'component', 'dry_run', 'group', 'resource', 'scope', 'subresource', 'verb', 'version'] as const,
    registers: [metrics],
  });
  const countExec = (code: number) =>
    execRequests.inc({
      code: String(code),
      component: 'apiserver',
      dry_run: '',
      group: '',
      resource: 'pods',
      scope: 'resource',
      subresource: 'exec',
      verb: 'CONNECT',
      version: 'v1',
    });

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization;
    let presented = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (presented === undefined) {
      // Browsers cannot set headers on a WebSocket: the API server accepts the token as a subprotocol.
      const proto = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .find((p) => p.startsWith(BEARER_PROTOCOL));
      if (proto) presented = Buffer.from(proto.slice(BEARER_PROTOCOL.length), 'base64url').toString('utf8');
    }
    if (presented === undefined) return false;
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (!OPEN_PATHS.has(path) && !authorized(req)) throw unauthorized();
    const method = req.method ?? 'GET';
    const get = (body: unknown) => {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      if (body === undefined) throw pathNotFound();
      sendJson(res, 200, body);
    };
    if (path === '/version') return get(versionInfo());
    if (path === '/metrics') {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      res.writeHead(200, { 'Content-Type': metrics.contentType }).end(await metrics.metrics());
      return;
    }
    if (path === '/api') return get(coreVersions(serverAddress));
    if (path === '/apis') return get(groupList());
    let segs: string[];
    try {
      segs = path.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw badRequest(`malformed path: ${path}`);
    }
    if (segs[0] === 'api' && segs[1] === 'v1' && segs.length === 2) return get(resourceList('', 'v1'));
    if (segs[0] === 'apis' && segs.length === 2) return get(group(segs[1]!));
    if (segs[0] === 'apis' && segs.length === 3) return get(resourceList(segs[1]!, segs[2]!));

    const exec = parseExecRequest(path, url.searchParams);
    if (exec) {
      const target = resolveExecTarget(state, exec);
      if (!target.kubeletReachable)
        throw serverError(
          kubeletUnreachable(target.nodeIP, kubeletExecURL(target.nodeIP, target.namespace, target.pod, target.container, target.argv, target)).beforeUpgrade,
        );
      throw badRequest('Upgrade request required');
    }

    let groupName: string;
    let rest: string[];
    if (segs[0] === 'api' && segs[1] === 'v1') [groupName, rest] = ['', segs.slice(2)];
    else if (segs[0] === 'apis' && segs[2] === 'v1') [groupName, rest] = [segs[1]!, segs.slice(3)];
    else throw pathNotFound();
    const reply = await handleRest(state, {
      method,
      segments: rest,
      group: groupName,
      query: url.searchParams,
      table: wantsTable(req.headers.accept),
      contentType: req.headers['content-type'],
      body: () => readBody(req),
    });
    sendJson(res, reply.code, reply.body);
  }

  const server: Server = createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem }, (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'https://simulator');
    route(req, res, url)
      .catch((err: unknown) => {
        if (res.headersSent) return res.destroy();
        sendStatus(res, err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
      })
      .finally(() => log?.(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`));
  });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => negotiateProtocol([...offered]) ?? false });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'https://simulator');
    const fail = (err: ApiError) => {
      log?.(`${req.method} ${req.url} upgrade ${err.code}`);
      if (/\/pods\/[^/]+\/exec$/.test(url.pathname)) countExec(err.code);
      writeRawStatus(socket, err);
    };
    try {
      if (!authorized(req)) return fail(unauthorized());
      const exec = parseExecRequest(url.pathname, url.searchParams);
      if (!exec) return fail(pathNotFound());
      const target = resolveExecTarget(state, exec);
      const isWebSocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
      if (!isWebSocket) {
        return fail(
          badRequest(
            `the simulator serves exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io), not ${String(req.headers.upgrade)}: kubectl 1.30 or newer does this by default; kubectl 1.29 does with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true`,
          ),
        );
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      const protocol = negotiateProtocol(offered);
      if (!protocol)
        return fail(
          badRequest(
            `websocket subprotocol negotiation failed: this server speaks v5.channel.k8s.io and v4.channel.k8s.io, the client offered [${offered.join(' ')}]`,
          ),
        );
      // v4 is proxied to the kubelet, which must answer before the upgrade; v5 is upgraded by the API server first.
      if (protocol === 'v4.channel.k8s.io' && !target.kubeletReachable) {
        return fail(
          serverError(
            kubeletUnreachable(target.nodeIP, kubeletExecURL(target.nodeIP, target.namespace, target.pod, target.container, target.argv, target)).beforeUpgrade,
          ),
        );
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        log?.(`${req.method} ${req.url} 101 ${protocol}`);
        countExec(101);
        const session = runExecSession(ws, protocol, target, state);
        sessions.add(session);
        void session.done.finally(() => sessions.delete(session));
      });
    } catch (err) {
      fail(err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The listen backlog of a Go server (kube-apiserver): net.Listen passes the kernel's net.core.somaxconn,
    // and the kernel caps any backlog at that, so the largest value asks for the same. Node's default of 511
    // drops the SYNs of a 1000-session burst, and each dropped client waits out a 1 s retransmit.
    server.listen({ port: opts.port, host: opts.host, backlog: 65535 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  serverAddress = `${hostForUrl}:${port}`;

  return {
    url: `https://${serverAddress}`,
    port,
    activeExecs: () => sessions.size,
    async close() {
      for (const s of sessions) s.abort();
      sessions.clear();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
