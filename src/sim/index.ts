/**
 * The Kubernetes API simulator, programmatically: a fleet spec in, an HTTPS API server with
 * its own CA out, plus the kubeconfig that reaches it (the same one `npm run sim` writes).
 *
 *   const sim = await startSimulator({ fleet: loadFleet('test/fixtures/fleets/sim-a.yaml') });
 *   const kc = new KubeConfig(); kc.loadFromString(sim.kubeconfig);
 *   …
 *   await sim.close();
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ContainerRuntime } from './build-cluster.ts';
import { registerAgentCommands } from './exec.ts';
import type { Fleet } from './fleet.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { startApiServer } from './server.ts';
import { ClusterState } from './state.ts';
import { generateServingTls } from './tls.ts';

export type { Fleet } from './fleet.ts';
export { FleetError, loadFleet, parseFleet } from './fleet.ts';
export { ClusterState, type FlareUpload } from './state.ts';
export type { PodFile, PodFilesystem } from './pod-fs.ts';
export type { ExecCommand, ExecContext, ExecHandler } from './exec-registry.ts';

export interface SimulatorOptions {
  fleet: Fleet;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Which container runtime the nodes report, and how an exec of a missing binary fails. Default containerd. */
  runtime?: ContainerRuntime;
  /** One line per API request, for `--verbose`. */
  log?: (line: string) => void;
}

export interface Simulator {
  /** https://127.0.0.1:PORT */
  url: string;
  /** kubeconfig YAML: the CA, a bearer token, one context named after the fleet (namespace = fleet namespace). */
  kubeconfig: string;
  contextName: string;
  /** The cluster: read objects back, change behaviour at run time (setSelftest, setNodeReady, exec.register). */
  state: ClusterState;
  /** Exec sessions still open. */
  activeExecs(): number;
  /** Writes the kubeconfig (mode 0600), creating the directory. */
  writeKubeconfig(path: string): Promise<void>;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const state = new ClusterState(opts.fleet, { ...(opts.runtime ? { runtime: opts.runtime } : {}) });
  registerAgentCommands(state.exec, state.fleet.agent);
  const hosts = [...new Set([host, '127.0.0.1', 'localhost', '::1'])];
  const tls = await generateServingTls(hosts);
  const token = randomBytes(32).toString('base64url');
  const server = await startApiServer({ state, tls, token, host, port: opts.port ?? 0, ...(opts.log ? { log: opts.log } : {}) });
  const contextName = opts.fleet.name;
  const kubeconfig = renderKubeconfig({ contextName, server: server.url, caPem: tls.caPem, token, namespace: opts.fleet.namespace });
  return {
    url: server.url,
    kubeconfig,
    contextName,
    state,
    activeExecs: () => server.activeExecs(),
    async writeKubeconfig(path: string) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, kubeconfig, { mode: 0o600 });
    },
    close: () => server.close(),
  };
}
