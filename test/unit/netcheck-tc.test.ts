import { describe, expect, it } from 'vitest';
import { isDatadogClassifier, parseProcNetDev, parseTcFilterShow, pickPodFacingInterfaces } from '../../src/core/netcheck/tc.ts';

const CILIUM = `filter protocol all pref 1 bpf chain 0 
filter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited 
`;

describe('parseTcFilterShow', () => {
  it('reads a Cilium filter (header + filter line)', () => {
    const r = parseTcFilterShow(CILIUM);
    expect(r).toEqual({
      ok: true,
      filters: [
        {
          pref: 1,
          protocol: 'all',
          kind: 'bpf',
          chain: 0,
          handle: '0x1',
          name: 'cil_from_container-lxc9fc12c71903b',
          directAction: true,
          id: 4931,
          tag: '4cfba610f154c365',
        },
      ],
    });
  });

  it('reads the older form without chain, and the agent racing Cilium for pref 1 (cilium/cilium#21345)', () => {
    const out = [
      'filter protocol all pref 1 bpf chain 0',
      'filter protocol all pref 1 bpf chain 0 handle 0x2 classifier_ingress_security380_4026531992_2115 direct-action not_in_hw id 4491 tag 59904229c5a1f55d jited',
      'filter protocol all pref 1 bpf chain 0 handle 0x1 bpf_lxc.o:[from-container] direct-action not_in_hw id 4481 tag 18a10b547e2fa35f jited',
    ].join('\n');
    const r = parseTcFilterShow(out);
    if (!r.ok) throw new Error(r.error);
    expect(r.filters.map((f) => [f.pref, f.handle, f.name])).toEqual([
      [1, '0x2', 'classifier_ingress_security380_4026531992_2115'],
      [1, '0x1', 'bpf_lxc.o:[from-container]'],
    ]);
    expect(r.filters.map(isDatadogClassifier)).toEqual([true, false]);

    const old = parseTcFilterShow('filter protocol all pref 1 bpf handle 0x1 bpf_lxc.o:[from-container] direct-action tag 18a10b547e2fa35f');
    expect(old).toEqual({
      ok: true,
      filters: [{ pref: 1, protocol: 'all', kind: 'bpf', handle: '0x1', name: 'bpf_lxc.o:[from-container]', directAction: true, tag: '18a10b547e2fa35f' }],
    });
  });

  it('reads parent, Calico names and the newer `id N name X` program name', () => {
    const r = parseTcFilterShow(
      'filter parent ffff:fff2 protocol all pref 49152 bpf chain 0 handle 0x1 calico_from_hos:[61] direct-action not_in_hw id 61 name calico_tc_main tag 4add0302745d594c jited\n' +
        'filter protocol all pref 10 bpf chain 0 handle 0x1 classifier_ingress direct-action not_in_hw id 77 name classifier_ingr tag aa jited',
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.filters[0]).toMatchObject({ parent: 'ffff:fff2', pref: 49152, name: 'calico_from_hos:[61]', progName: 'calico_tc_main', id: 61 });
    expect(r.filters[1]).toMatchObject({ pref: 10, name: 'classifier_ingress', progName: 'classifier_ingr' });
    expect(isDatadogClassifier(r.filters[1]!)).toBe(true);
  });

  it('keeps non-bpf filters and skips their indented lines', () => {
    const r = parseTcFilterShow(
      'filter protocol ip pref 49152 u32 chain 0 fh 800: ht divisor 1\nfilter protocol ip pref 49152 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 flowid 1:1\n  match 00000000/00000000 at 0\n\taction order 1: mirred (Egress Mirror to device eth1) pipe\n',
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.filters).toHaveLength(2);
    expect(r.filters.every((f) => f.kind === 'u32' && !f.directAction)).toBe(true);
  });

  it('a lone header line still means a classifier exists at that priority', () => {
    expect(parseTcFilterShow('filter protocol all pref 3 bpf chain 0\n')).toEqual({
      ok: true,
      filters: [{ pref: 3, protocol: 'all', kind: 'bpf', chain: 0, directAction: false }],
    });
  });

  it('empty output = no classifier', () => {
    expect(parseTcFilterShow('')).toEqual({ ok: true, filters: [] });
    expect(parseTcFilterShow('\n  \n')).toEqual({ ok: true, filters: [] });
  });

  it.each([
    'Cannot find device "lxc123"',
    'filter protocol all bpf chain 0',
    'filter protocol all pref x bpf',
    'filter protocol all pref 1',
    '  match 00000000/00000000 at 0',
    'filter protocol all pref 1 bpf chain 0 handle 0x1 foo direct-action id notanumber',
  ])('garbage → error value, no throw: %s', (out) => {
    const r = parseTcFilterShow(out);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^line 1: /);
  });
});

const PROC_NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 2776770   11307    0    0    0     0          0         0  2776770   11307    0    0    0     0       0          0
  eth0: 1215645    2751    0    0    0     0          0         0  1782404    4324    0    0    0   427       0          0
cilium_host:    1234      10    0    0    0     0          0         0     5678      20    0    0    0     0       0          0
lxc9fc12c71903b:     123       2    0    0    0     0          0         0      456       3    0    0    0     0       0          0
lxc_health:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
docker0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

describe('parseProcNetDev', () => {
  it('lists interfaces with counters', () => {
    const r = parseProcNetDev(PROC_NET_DEV);
    if (!r.ok) throw new Error(r.error);
    expect(r.interfaces.map((i) => i.name)).toEqual(['lo', 'eth0', 'cilium_host', 'lxc9fc12c71903b', 'lxc_health', 'docker0']);
    expect(r.interfaces[3]).toEqual({ name: 'lxc9fc12c71903b', rxBytes: 123, rxPackets: 2, txBytes: 456, txPackets: 3 });
  });
  it('accepts the old no-space form `eth0:123`', () => {
    const r = parseProcNetDev(
      `Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n  eth0:1215645 2751 0 0 0 0 0 0 1782404 4324 0 0 0 427 0 0\n`,
    );
    expect(r.ok && r.interfaces[0]?.rxBytes).toBe(1215645);
  });
  it.each(['', 'hello', `Inter-|\n face |\nlxc1: 1 2 3\n`])('garbage → error value: %j', (text) => {
    expect(parseProcNetDev(text).ok).toBe(false);
  });
});

describe('pickPodFacingInterfaces', () => {
  it('keeps pod veths of each plugin and drops the node and plugin devices', () => {
    const names = [
      'lo',
      'eth0',
      'ens5',
      'cilium_host',
      'cilium_net',
      'cilium_vxlan',
      'lxc9fc12c71903b',
      'lxc_health',
      'cali1234567890a',
      'vxlan.calico',
      'tunl0',
      'vethwepl1a2b3c4',
      'vethwe-bridge',
      'vethwe-datapath',
      'weave',
      'datapath',
      'flannel.1',
      'cni0',
      'veth1a2b3c4d',
      'eni0a1b2c3d4e5',
      'azv1a2b3c4d5e',
      'gke1a2b3c4d5e6',
      'docker0',
      'kube-ipvs0',
      'antrea-gw0',
      'coredns--d0c58e',
      'nodelocaldns',
      'genev_sys_6081',
    ];
    const r = pickPodFacingInterfaces(names);
    expect(r.podFacing.map((p) => p.name)).toEqual([
      'lxc9fc12c71903b',
      'lxc_health',
      'cali1234567890a',
      'vethwepl1a2b3c4',
      'veth1a2b3c4d',
      'eni0a1b2c3d4e5',
      'azv1a2b3c4d5e',
      'gke1a2b3c4d5e6',
    ]);
    expect(r.ignored).toContain('vethwe-bridge');
    expect(r.ignored).toContain('coredns--d0c58e');
    expect(r.podFacing[0]!.hint).toMatch(/Cilium/);
  });
  it('extra prefixes (e.g. Antrea pod-named interfaces) win', () => {
    expect(pickPodFacingInterfaces(['coredns--d0c58e', 'eth0'], ['coredns-']).podFacing).toEqual([
      { name: 'coredns--d0c58e', hint: 'configured prefix coredns-*' },
    ]);
  });
});

describe('numbers and errors a result can carry (found by test/property)', () => {
  it('a priority past 16 bits, or a chain or program ID past 32, is a bad line, not Infinity in the result', () => {
    // A 400-digit pref used to read as Infinity, which JSON turns into null: the whole cluster's
    // netcheck result then failed its schema and read "unreadable result".
    for (const out of [
      'filter protocol all pref 65536 bpf chain 0',
      `filter protocol all pref ${'9'.repeat(400)} bpf chain 0`,
      'filter protocol all pref 1 bpf chain 4294967296',
      'filter protocol all pref 1 bpf chain 0 handle 0x1 x direct-action id 4294967296',
    ]) {
      const r = parseTcFilterShow(out);
      expect(r.ok, out.slice(0, 60)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/^line 1: bad (priority|chain|program id)/);
    }
    expect(parseTcFilterShow('filter protocol all pref 65535 bpf chain 4294967295 handle 0x1 x id 4294967295')).toMatchObject({
      ok: true,
      filters: [{ pref: 65535, chain: 4294967295, id: 4294967295 }],
    });
  });
  it('an error quotes at most a clipped piece of the line, and never half of an emoji', () => {
    const huge = parseTcFilterShow(`filter ${'='.repeat(200_000)}`);
    expect(huge.ok).toBe(false);
    if (!huge.ok) expect(huge.error.length).toBeLessThan(300);
    const dev = parseProcNetDev(`Inter-|\n face |\n${'a'.repeat(200_000)}: 1 2\n`);
    expect(dev.ok).toBe(false);
    if (!dev.ok) expect(dev.error.length).toBeLessThan(300);
    const emoji = parseTcFilterShow(`filter x ${'a'.repeat(110)}\u{1F600}\u{1F600}`);
    if (!emoji.ok) expect(emoji.error).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});
