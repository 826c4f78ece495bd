/**
 * The exec client's limit on sessions opening at once (workers/targets/kubernetes-exec.ts): a
 * session waiting for its turn still honours its deadline, and a session that never opens gives
 * its turn back when its deadline ends it. Against a loopback server that accepts the upgrade
 * request and never answers it (an API server stuck mid-handshake).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../src/config/clusters.ts';
import { ExecTimeoutError } from '../../workers/targets/errors.ts';
import { EXEC_PROTOCOLS, KubeExecClient } from '../../workers/targets/kubernetes-exec.ts';
import { KubernetesTarget } from '../../workers/targets/kubernetes.ts';

let server: Server;
const held: Socket[] = [];
const upgrades: { url: string; protocols: string }[] = [];
let kc: KubeConfig;

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket: Socket) => {
    upgrades.push({ url: req.url ?? '', protocols: String(req.headers['sec-websocket-protocol'] ?? '') });
    held.push(socket); // never answered
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'loopback', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'c', cluster: 'loopback', user: 'u' }],
    currentContext: 'c',
  });
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('KubeExecClient', () => {
  it('offers v5 and v4 (the subprotocols with an exit status) and sends the bearer token', async () => {
    const got = new Promise<string>((resolve) => server.once('upgrade', (req) => resolve(String(req.headers.authorization))));
    const client = new KubeExecClient(kc, 1);
    const ac = new AbortController();
    const open = client.open('datadog', 'p1', 'security-agent', ['security-agent', 'status'], false, { stdout() {}, stderr() {}, status() {} }, ac.signal);
    expect(await got).toBe('Bearer not-a-secret');
    expect(
      upgrades
        .at(-1)!
        .protocols.split(',')
        .map((p) => p.trim()),
    ).toEqual(EXEC_PROTOCOLS);
    ac.abort(new Error('done'));
    await expect(open).rejects.toThrow();
  });

  it('with one opening slot held by a stuck handshake, a queued exec still times out; the stuck one, ended by its deadline, frees the slot', async () => {
    const target = new KubernetesTarget(KubernetesCluster.parse({ kind: 'kubernetes' }), kc);
    // One slot: the first exec takes it and its upgrade is never answered.
    (target as unknown as { execClient: KubeExecClient }).execClient = new KubeExecClient(kc, 1);
    const before = upgrades.length;
    const agent = { node: 'n1', pod: 'p1' };
    const stuck = target.exec(agent, ['security-agent', 'runtime', 'self-test'], { timeoutMs: 600 });
    const queued = target.exec(agent, ['security-agent', 'status'], { timeoutMs: 200 });
    await expect(queued).rejects.toBeInstanceOf(ExecTimeoutError);
    // The queued exec never reached the server: only the stuck one did so far.
    expect(upgrades.length - before).toBe(1);
    await expect(stuck).rejects.toBeInstanceOf(ExecTimeoutError);
    // The slot is free again: a third exec reaches the server (and times out there).
    const third = target.exec(agent, ['security-agent', 'version'], { timeoutMs: 300 });
    await expect(third).rejects.toBeInstanceOf(ExecTimeoutError);
    expect(upgrades.slice(before).map((u) => new URL(u.url, 'http://x').searchParams.getAll('command').join(' '))).toEqual([
      'security-agent runtime self-test',
      'security-agent version',
    ]);
  });
});
