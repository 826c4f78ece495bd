import type { ClusterConfig } from '../../src/config/clusters.ts';
import { DockerTarget } from './docker.ts';
import { HostTarget } from './host.ts';
import { KubernetesTarget } from './kubernetes.ts';
import type { AgentTarget } from './types.ts';

/** Builds the driver for a cluster's kind. */
export function createTarget(name: string, cfg: ClusterConfig): AgentTarget {
  switch (cfg.kind) {
    case 'docker':
      return new DockerTarget(cfg);
    case 'host':
      return new HostTarget(cfg);
    case 'kubernetes':
      return new KubernetesTarget(cfg);
  }
}
