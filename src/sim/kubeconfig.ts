/** The kubeconfig a user of the simulator gets: its CA, a bearer token, one context. Pure. */
import { stringify } from 'yaml';

export interface KubeconfigInput {
  contextName: string;
  server: string;
  caPem: string;
  token: string;
  namespace: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  const user = `${k.contextName}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: k.contextName, cluster: { server: k.server, 'certificate-authority-data': Buffer.from(k.caPem).toString('base64') } }],
    users: [{ name: user, user: { token: k.token } }],
    contexts: [{ name: k.contextName, context: { cluster: k.contextName, user, namespace: k.namespace } }],
    'current-context': k.contextName,
    preferences: {},
  });
}
