/**
 * The plain-JSON shapes of the Kubernetes objects the simulator serves. Only the fields the
 * simulator reads are typed; everything else rides along as `unknown` (patches may add any
 * field, and it is served back as given, as the real API does for fields it knows).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation?: number;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface EnvVar {
  name: string;
  value?: string;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  nodeName?: string;
  [key: string]: unknown;
}

export interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  spec: PodSpec;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  desiredNumberScheduled: number;
  numberAvailable?: number;
  numberMisscheduled: number;
  numberReady: number;
  numberUnavailable?: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
}

export interface DaemonSet extends KObject {
  spec: {
    selector: LabelSelectorSpec;
    template: PodTemplate;
    updateStrategy?: { type?: string; [key: string]: unknown };
    [key: string]: unknown;
  };
  status: DaemonSetStatus;
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  image: string;
  imageID: string;
  containerID?: string;
  state: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string | null;
  lastHeartbeatTime?: string;
  lastProbeTime?: string | null;
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions?: Condition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  qosClass?: string;
  [key: string]: unknown;
}

export interface Pod extends KObject {
  spec: PodSpec;
  status: PodStatus;
}

export interface NodeStatus {
  conditions: Condition[];
  addresses: { type: string; address: string }[];
  nodeInfo: Record<string, string>;
  [key: string]: unknown;
}

export interface Node extends KObject {
  spec: { podCIDR?: string; taints?: { key: string; effect: string; timeAdded?: string }[]; unschedulable?: boolean; [key: string]: unknown };
  status: NodeStatus;
}

export interface ConfigMap extends KObject {
  data?: Record<string, string>;
}

export interface Namespace extends KObject {
  spec: { finalizers: string[] };
  status: { phase: 'Active' | 'Terminating' };
}
