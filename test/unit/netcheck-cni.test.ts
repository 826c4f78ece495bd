import { describe, expect, it } from 'vitest';
import { CNI_VENDORS, detectCni } from '../../src/core/netcheck/cni.ts';

describe('CNI knowledge table', () => {
  it('every claim has a source, and "depends" says on what', () => {
    for (const x of CNI_VENDORS) {
      for (const claim of [x.usesEbpfTc, x.tcAction, x.defaultPriority]) {
        expect(claim.source.length, `${x.id}`).toBeGreaterThan(10);
      }
      if (x.usesEbpfTc.value === 'depends') expect(x.usesEbpfTc.condition).toBeTruthy();
    }
  });
  it('unverified "uses eBPF tc" claims are never "yes"', () => {
    for (const x of CNI_VENDORS) if (!x.usesEbpfTc.verified) expect(x.usesEbpfTc.value, x.id).not.toBe('yes');
  });
  it('Cilium: eBPF tc, TC_ACT_OK, pref 1, bpf-filter-priority', () => {
    const c = CNI_VENDORS.find((x) => x.id === 'cilium')!;
    expect([c.usesEbpfTc.value, c.tcAction.value, c.defaultPriority.value]).toEqual(['yes', 'TC_ACT_OK', 1]);
    expect(c.priorityOption?.value).toMatch(/^bpf-filter-priority/);
  });
});

describe('detectCni', () => {
  it.each([
    [[{ name: 'cilium', images: ['quay.io/cilium/cilium:v1.9.5'] }], 'cilium', '1.9.5'],
    [[{ name: 'anetd', images: ['gke.gcr.io/cilium/cilium:v1.9.4-gke.17'] }], 'gke-dataplane-v2', '1.9.4'],
    [[{ name: 'calico-node', images: ['docker.io/calico/cni:v3.26.1', 'docker.io/calico/node:v3.26.1'] }], 'calico', '3.26.1'],
    [[{ name: 'canal', images: ['calico/node:v3.26.1', 'flannel/flannel:v0.22.0'] }], 'canal', '3.26.1'],
    [[{ name: 'antrea-agent', images: ['antrea/antrea-agent-ubuntu:v1.14.0'] }], 'antrea', '1.14.0'],
    [[{ name: 'weave-net', images: ['weaveworks/weave-kube:2.8.1'] }], 'weave', '2.8.1'],
    [[{ name: 'kube-flannel-ds', images: ['docker.io/flannel/flannel:v0.22.0'] }], 'flannel', '0.22.0'],
    [[{ name: 'kube-router', images: ['docker.io/cloudnativelabs/kube-router:v1.6.0'] }], 'kube-router', '1.6.0'],
    [
      [
        {
          name: 'aws-node',
          images: [
            '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.15.0-eksbuild.1',
            '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.15.0-eksbuild.1',
          ],
        },
      ],
      'aws-vpc-cni',
      '1.15.0',
    ],
    [[{ name: 'azure-cns', images: ['mcr.microsoft.com/containernetworking/azure-cns:v1.5.4'] }], 'azure-cni', '1.5.4'],
    [[{ name: 'kindnet', images: ['docker.io/kindest/kindnetd:v20230511-dc714da8'] }], 'kindnet', undefined],
    [[{ name: 'my-cilium', images: ['quay.io/cilium/cilium:v1.14.5@sha256:abc'] }], 'cilium', '1.14.5'],
  ])('%j → %s %s', (dss, vendor, version) => {
    const r = detectCni(dss);
    expect(r.status).toBe('detected');
    if (r.status !== 'detected') return;
    expect(r.vendor).toBe(vendor);
    expect(r.version ? `${r.version.major}.${r.version.minor}.${r.version.patch}` : undefined).toBe(version);
  });

  it('Cilium chained on AWS VPC CNI: Cilium first, the other listed', () => {
    const r = detectCni([
      { name: 'kube-proxy', images: ['k8s/kube-proxy:v1.28.1'] },
      { name: 'aws-node', images: ['x/amazon-k8s-cni:v1.15.0'] },
      { name: 'cilium', images: ['quay.io/cilium/cilium:v1.14.5'] },
    ]);
    expect(r).toMatchObject({ status: 'detected', vendor: 'cilium', others: ['aws-vpc-cni'] });
  });

  it('an unrecognised CNI is unknown, not none', () => {
    expect(
      detectCni([
        { name: 'kube-proxy', images: ['k8s/kube-proxy:v1.28.1'] },
        { name: 'ovn-node', images: ['ovn/ovn:1'] },
      ]),
    ).toEqual({
      status: 'unknown',
      reason: 'no known CNI DaemonSet (DaemonSets seen: kube-proxy, ovn-node)',
    });
  });
});
