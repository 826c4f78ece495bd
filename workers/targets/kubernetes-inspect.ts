import { AppsV1Api, CoreV1Api, type KubeConfig, type V1ConfigMap, type V1DaemonSet } from '@kubernetes/client-node';
import type { KubernetesClusterConfig } from '../../src/config/clusters.ts';
import { AgentUnreachableError, ExecFailedError } from './errors.ts';

/** Read-only views of the cluster objects netcheck needs (RBAC: get/list daemonsets, get configmaps). */
export interface ClusterInspector {
  agentDaemonSet(): Promise<V1DaemonSet | undefined>;
  daemonSets(namespace: string): Promise<V1DaemonSet[]>;
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
}

export class KubernetesInspector implements ClusterInspector {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;

  constructor(
    private readonly cfg: KubernetesClusterConfig,
    kc: KubeConfig,
  ) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private fail(err: unknown, what: string): Error {
    const status = (err as { code?: number }).code;
    if (typeof status === 'number' && (status === 429 || status >= 500)) return new AgentUnreachableError(`the API server answered ${status} while ${what}`);
    if (status === 401 || status === 403)
      return new ExecFailedError(
        `the API server refused ${what} (${status})`,
        'Grant the worker get/list on daemonsets and get on configmaps (see manifests/worker.yaml).',
      );
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code) return new AgentUnreachableError(`the API server is unreachable (${code}) while ${what}`);
    return new ExecFailedError(`${what} failed: ${(err as Error).message}`);
  }

  async agentDaemonSet(): Promise<V1DaemonSet | undefined> {
    try {
      return await this.apps.readNamespacedDaemonSet({ name: this.cfg.daemonSet, namespace: this.cfg.namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw this.fail(err, `reading DaemonSet ${this.cfg.namespace}/${this.cfg.daemonSet}`);
    }
  }

  async daemonSets(namespace: string): Promise<V1DaemonSet[]> {
    try {
      return (await this.apps.listNamespacedDaemonSet({ namespace })).items;
    } catch (err) {
      throw this.fail(err, `listing DaemonSets in ${namespace}`);
    }
  }

  async configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.core.readNamespacedConfigMap({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw this.fail(err, `reading ConfigMap ${namespace}/${name}`);
    }
  }
}

/** Writes to the agent DaemonSet (RBAC: patch daemonsets in the agent namespace). */
export class DaemonSetPatcher {
  private readonly apps: AppsV1Api;
  constructor(
    private readonly cfg: KubernetesClusterConfig,
    kc: KubeConfig,
  ) {
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  /** RFC 6902 patch, guarded by `test` ops so a concurrent change fails instead of being overwritten. */
  async jsonPatch(ops: object[]): Promise<V1DaemonSet> {
    try {
      return await this.apps.patchNamespacedDaemonSet({ name: this.cfg.daemonSet, namespace: this.cfg.namespace, body: ops });
    } catch (err) {
      const status = (err as { code?: number }).code;
      if (status === 403)
        throw new ExecFailedError(
          `the API server refused to patch DaemonSet ${this.cfg.namespace}/${this.cfg.daemonSet} (403)`,
          'Grant the worker patch on daemonsets in the agent namespace.',
        );
      if (status === 422 || status === 409)
        throw new ExecFailedError(
          `DaemonSet ${this.cfg.namespace}/${this.cfg.daemonSet} changed while it was being patched (${status}); nothing was changed`,
          'Run the netcheck again.',
        );
      throw new ExecFailedError(`patching DaemonSet ${this.cfg.namespace}/${this.cfg.daemonSet} failed: ${(err as Error).message}`);
    }
  }
}
