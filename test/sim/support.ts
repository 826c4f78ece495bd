/** Helpers for the simulator's integration tests: bounded waits, an exec that collects its output, and a handler's context. */
import { request } from 'node:https';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { ExecContext } from '../../src/sim/exec-registry.ts';
import type { ClusterState } from '../../src/sim/state.ts';

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns true, at most `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

export interface ExecOutcome {
  stdout: string;
  stderr: string;
  status: V1Status | undefined;
}

/** client-node's Exec, waited for until the server closes the session (bounded). */
export async function execCollect(
  kc: KubeConfig,
  ns: string,
  pod: string,
  container: string,
  argv: string[],
  opts: { stdin?: Readable; timeoutMs?: number; upgradeTimeoutMs?: number } = {},
): Promise<ExecOutcome> {
  const stdout = new Collect();
  const stderr = new Collect();
  let status: V1Status | undefined;
  const ws = await within(
    new Exec(kc).exec(ns, pod, container, argv, stdout, stderr, opts.stdin ?? null, false, (s) => {
      status = s;
    }),
    opts.upgradeTimeoutMs ?? 5_000,
    `exec upgrade into ${pod}`,
  );
  await within(new Promise<void>((resolve) => ws.on('close', () => resolve())), opts.timeoutMs ?? 10_000, `exec ${argv.join(' ')} in ${pod}`);
  return { stdout: stdout.text, stderr: stderr.text, status };
}

/** A GET straight over https with the kubeconfig's CA (and its token unless another is given). */
export function rawGet(sim: { url: string; kubeconfig: string }, path: string, token?: string): Promise<{ code: number; body: unknown }> {
  const doc = parse(sim.kubeconfig) as { clusters: { cluster: Record<string, string> }[]; users: { user: { token: string } }[] };
  const ca = Buffer.from(doc.clusters[0]!.cluster['certificate-authority-data']!, 'base64');
  return within(
    new Promise((resolve, reject) => {
      const req = request(new URL(path, sim.url), { ca, headers: { Authorization: `Bearer ${token ?? doc.users[0]!.user.token}` } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* plain text */
          }
          resolve({ code: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.end();
    }),
    5_000,
    `GET ${path}`,
  );
}

/** The context of an exec handler called directly (no WebSocket) in a node's agent pod, stdin closed; `output()` is what it wrote. */
export function directExec(state: ClusterState, node: string, container: string, argv: string[], signal = new AbortController().signal) {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough();
  stdin.end();
  const ctx: ExecContext = {
    pod: state.agentPod(node)!,
    node,
    container,
    argv,
    stdin,
    stdout: { write: (c) => (stdout += String(c)) },
    stderr: { write: (c) => (stderr += String(c)) },
    signal,
    state,
  };
  return { ctx, output: () => ({ stdout, stderr }) };
}
