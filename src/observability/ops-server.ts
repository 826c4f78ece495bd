import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from './readiness.ts';

export interface OpsServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  registry: Registry;
  /** All must pass for /readyz to answer 200; read at each request (the list may grow after start). */
  readiness: ReadinessCheck[];
  logger: Logger;
  /** Longest one check may take before it counts as failed: default 3 s (Kubernetes' probe timeout is 1 s by default; ours set more). */
  checkTimeoutMs?: number;
}

export interface OpsServer {
  /** The bound port. */
  port: number;
  close(): Promise<void>;
}

/** The port cannot be used: the message names the variable (a configuration error for the caller). */
export class OpsListenError extends Error {
  override name = 'OpsListenError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * The operations endpoints of a process (OPS_PORT):
 *   GET /livez    200 while the process answers at all (its event loop runs)
 *   GET /readyz   200 when every readiness check passes, else 503 with the reasons, one a line
 *   GET /metrics  the Prometheus text format of the process's registry
 * Nothing else; no authentication (it says nothing secret; keep the port inside the cluster).
 */
export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const checkTimeoutMs = o.checkTimeoutMs ?? 3000;
  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      o.logger.warn({ err, path: req.url }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, `internal error: ${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    if (path === '/livez') return send(res, 200, 'ok\n');
    if (path === '/readyz') {
      const reasons = await notReady(o.readiness, checkTimeoutMs);
      return send(res, reasons.length ? 503 : 200, reasons.length ? `${reasons.join('\n')}\n` : 'ok\n');
    }
    if (path === '/metrics') return send(res, 200, await o.registry.metrics(), { 'content-type': o.registry.contentType });
    return send(res, 404, 'not found: /livez, /readyz, /metrics\n');
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${o.host}:${o.port}`;
      if (err.code === 'EADDRINUSE')
        reject(
          new OpsListenError(`OPS_PORT: port ${o.port} on ${o.host} is in use (give each process on this machine its own OPS_PORT, or 0 for any)`, err.code),
        );
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
        reject(new OpsListenError(`OPS_HOST: cannot listen on ${where} (${err.code})`, err.code));
      else if (err.code === 'EACCES') reject(new OpsListenError(`OPS_PORT: not allowed to listen on ${where} (EACCES)`, err.code));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(o.port, o.host);
  });
  const port = (server.address() as AddressInfo).port;
  o.logger.info({ host: o.host, port }, `ops endpoints on http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port} (/livez, /readyz, /metrics)`);
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Why the process is not ready: the reasons of every failing check (a check that throws or hangs fails). */
export async function notReady(checks: ReadinessCheck[], timeoutMs: number): Promise<string[]> {
  const results = await Promise.all(
    checks.map(async (check) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          check(),
          new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`a readiness check got no answer within ${timeoutMs} ms`), timeoutMs))),
        ]);
      } catch (err) {
        return `a readiness check failed: ${(err as Error).message}`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((r): r is string => typeof r === 'string' && r.length > 0);
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
