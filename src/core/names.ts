import { z } from 'zod';

/** What the names users type must look like: cluster names (ours) and Kubernetes node names. */

/** A cluster name: lowercase letters, digits, "-", "_", "." — at most 63 characters. */
export const CLUSTER_NAME_RE = /^[a-z0-9][a-z0-9-_.]{0,62}$/;

/** A Kubernetes node name (a DNS subdomain): at most 253 characters. */
export const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const ClusterName = z.string().regex(CLUSTER_NAME_RE, 'cluster names are lowercase letters, digits, "-", "_" or "." (at most 63)');
