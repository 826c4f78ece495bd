import type { ClusterConfig } from '../../src/config/clusters.ts';
import type { AgentTarget } from './types.ts';

/**
 * Builds the driver for a cluster's kind. Each driver is loaded only when a cluster needs it:
 * `@kubernetes/client-node` alone is some 45 MB of a worker's memory, `dockerode` 6 MB.
 */
export async function createTarget(name: string, cfg: ClusterConfig): Promise<AgentTarget> {
  switch (cfg.kind) {
    case 'docker':
      return new (await import('./docker.ts')).DockerTarget(cfg);
    case 'host':
      return new (await import('./host.ts')).HostTarget(cfg);
    case 'kubernetes':
      return new (await import('./kubernetes.ts')).KubernetesTarget(cfg);
  }
}
