/**
 * A TCP proxy on loopback in front of a Redis, for tests: it can add latency to every chunk
 * (kept in order, each direction on its own) and send new connections elsewhere (a DNS name
 * that now points at the promoted replica, as a managed Redis endpoint does after a failover).
 */
import net from 'node:net';

export interface RedisProxy {
  port: number;
  url: string;
  /** Connections accepted so far. */
  accepted: number;
  /** Where new connections go from now on (open ones stay where they are). */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startRedisProxy(o: { target: number; delayMs?: () => number }): Promise<RedisProxy> {
  let target = o.target;
  const sockets = new Set<net.Socket>();
  const delay = o.delayMs ?? (() => 0);
  /** Writes `from`'s chunks to `to`, each `delay()` later than it came but never before the previous one. */
  const pipe = (from: net.Socket, to: net.Socket) => {
    let last = 0;
    from.on('data', (chunk: Buffer) => {
      const at = Math.max(last, Date.now() + delay());
      last = at;
      setTimeout(() => to.writable && to.write(chunk), at - Date.now());
    });
    from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, last - Date.now())));
    from.on('error', () => to.destroy());
  };
  const proxy: RedisProxy = { port: 0, url: '', accepted: 0, retarget: (p) => (target = p), close: async () => {} };
  const server = net.createServer((client) => {
    proxy.accepted++;
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.url = `redis://127.0.0.1:${proxy.port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
