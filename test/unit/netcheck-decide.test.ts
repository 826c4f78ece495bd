import { describe, expect, it } from 'vitest';
import { CNI_VENDORS, type CniFact, type CniVendor, type CniVendorId } from '../../src/core/netcheck/cni.ts';
import { effectiveCwsConfig, type EffectiveCwsConfig } from '../../src/core/netcheck/config.ts';
import { decide, type NetcheckFacts, type NodeTcFact } from '../../src/core/netcheck/decide.ts';
import { parseTcFilterShow, type TcFilter } from '../../src/core/netcheck/tc.ts';
import { v, type Version } from '../../src/core/netcheck/version.ts';

// ---- fixtures -------------------------------------------------------------------------------

const tc = (text: string): TcFilter[] => {
  const r = parseTcFilterShow(text);
  if (!r.ok) throw new Error(r.error);
  return r.filters;
};
/** Cilium on an lxc interface at `pref` (real-looking `tc filter show … ingress` output). */
const cilium = (pref: number, iface = 'lxc9fc12c71903b') =>
  `filter protocol all pref ${pref} bpf chain 0 \nfilter protocol all pref ${pref} bpf chain 0 handle 0x1 cil_from_container-${iface} direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited\n`;
/** The agent's own CWS classifier. */
const cws = (pref: number) =>
  `filter protocol all pref ${pref} bpf chain 0 handle 0x2 classifier_ingress_security380_4026531992_2115 direct-action not_in_hw id 4491 tag 59904229c5a1f55d jited\n`;
const node = (name: string, ...outputs: string[]): NodeTcFact => ({ node: name, interfaces: [{ name: 'lxc9fc12c71903b', filters: tc(outputs.join('')) }] });

const config = (o: { cws?: boolean | undefined; net?: boolean | undefined; prio?: number | undefined } = {}): EffectiveCwsConfig => ({
  cwsEnabled: { value: 'cws' in o ? o.cws : true, origin: 'configmap' },
  networkEnabled: { value: 'net' in o ? o.net : true, origin: 'env:system-probe', key: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED' },
  classifierPriority: { value: 'prio' in o ? o.prio : 10, origin: 'default(7.50.3)' },
  classifierHandle: { value: 0, origin: 'default(7.50.3)' },
  rawClassifierHandle: { value: 0, origin: 'default(7.50.3)' },
  rawPacketEnabled: { value: true, origin: 'default(7.50.3)' },
  directSend: { value: false, origin: 'default(7.50.3)' },
  layout: 'event_monitoring',
  conflicts: [],
  shadowed: [],
  notes: [],
});
const detected = (vendor: CniVendorId, version?: string): CniFact => ({
  status: 'detected',
  vendor,
  versionHow: version ? `tag "v${version}"` : 'digest only',
  daemonSet: `kube-system/${vendor}`,
  others: [],
  ...(version ? { version: v(version) } : {}),
});
const facts = (o: Partial<NetcheckFacts> = {}): NetcheckFacts => ({
  agentVersion: v('7.50.3'),
  config: config(),
  cni: detected('cilium', '1.14.5'),
  nodes: [node('node-a', cilium(1), cws(10))],
  ...o,
});
const codes = (d: ReturnType<typeof decide>) => d.findings.map((f) => f.code);

/** A vendor that returns TC_ACT_UNSPEC (none of the real ones is documented to): exercises the row. */
const UNSPEC_VENDOR: CniVendor = {
  ...CNI_VENDORS.find((x) => x.id === 'kindnet')!,
  filterNames: /^unspec_prog/,
  usesEbpfTc: { value: 'yes', source: 'test', verified: true },
  tcAction: { value: 'TC_ACT_UNSPEC', source: 'test', verified: true },
  defaultPriority: { value: 1, source: 'test', verified: true },
};
const TABLE_WITH_UNSPEC = CNI_VENDORS.map((x) => (x.id === 'kindnet' ? UNSPEC_VENDOR : x));

// ---- the seed's rows ------------------------------------------------------------------------

describe('decide: stop rows', () => {
  it('network detections already disabled → ok, stop', () => {
    const d = decide(facts({ config: config({ net: false }) }));
    expect(d).toEqual({ verdict: 'ok', findings: [expect.objectContaining({ code: 'network_disabled', severity: 'info' })], remediations: [] });
    expect(d.findings[0]!.message).toMatch(/already disabled/);
  });
  it('CWS disabled → ok, stop', () => {
    const d = decide(facts({ config: config({ cws: false }) }));
    expect(d).toEqual({ verdict: 'ok', findings: [expect.objectContaining({ code: 'cws_disabled', severity: 'info' })], remediations: [] });
  });
  it('agent before 7.36 has no network detections → ok, stop', () => {
    const d = decide(
      facts({
        agentVersion: v('7.35.9'),
        config: effectiveCwsConfig({ agentVersion: v('7.35.9'), systemProbeEnv: [{ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' }] }),
        cni: detected('cilium', '1.9.5'),
      }),
    );
    expect([d.verdict, codes(d)]).toEqual(['ok', ['network_disabled']]);
  });
  const envOffFileOn = {
    systemProbeEnv: [
      { name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'false' },
      { name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' },
    ],
    systemProbeYaml: { text: 'runtime_security_config:\n  enabled: true\n  network:\n    enabled: true\n', origin: 'configmap' as const },
  };
  it('disabled by env but the deprecated file key says enabled: agents from 7.44 apply the file → not "already disabled", and no env remediation', () => {
    const c = effectiveCwsConfig({ agentVersion: v('7.50.3'), ...envOffFileOn });
    const d = decide(facts({ config: c }));
    expect(codes(d)).toEqual(['config_shadowed', 'priority_conflict_1', 'remediation_needs_file']);
    expect(d.verdict).toBe('broken');
    // an env patch would not take: the deprecated key in system-probe.yaml is read first
    expect(d.remediations).toEqual([]);
    expect(d.findings.at(-1)!.message).toMatch(/runtime_security_config\.network\.enabled is set in system-probe\.yaml/);
  });

  it('the same on an older agent (runtime_security_config only): env wins, already disabled', () => {
    const d = decide(facts({ config: effectiveCwsConfig({ agentVersion: v('7.40.1'), ...envOffFileOn }) }));
    expect(d.verdict).toBe('ok');
    expect(codes(d)).toEqual(['network_disabled']);
  });

  it('the same with the agent version unknown: a conflict, the verdict is conditional', () => {
    const d = decide(facts({ config: effectiveCwsConfig({ agentVersion: undefined, ...envOffFileOn }) }));
    expect(codes(d)[0]).toBe('config_conflict');
    expect(d.verdict).toBe('unknown');
  });
});

describe('decide: the agent refuses its classifier handles (Config.sanitize)', () => {
  const withHandles = (h: number, raw: number, rawPacket = true) =>
    effectiveCwsConfig({
      agentVersion: v('7.60.0'),
      systemProbeEnv: [
        { name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' },
        { name: 'DD_EVENT_MONITORING_CONFIG_NETWORK_CLASSIFIER_HANDLE', value: String(h) },
        { name: 'DD_EVENT_MONITORING_CONFIG_NETWORK_RAW_CLASSIFIER_HANDLE', value: String(raw) },
        ...(rawPacket ? [] : [{ name: 'DD_EVENT_MONITORING_CONFIG_NETWORK_RAW_PACKET_ENABLED', value: 'false' }]),
      ],
    });
  it('equal and not 0 → broken, CWS does not start (the agent’s own words)', () => {
    const d = decide(facts({ config: withHandles(5, 5) }));
    expect(d.verdict).toBe('broken');
    expect(codes(d)).toEqual(['classifier_handles_refused']);
    expect(d.findings[0]!.message).toContain("network.classifier_handle and network.raw_classifier_handle can't be equal and not null");
    expect(d.remediations).toEqual([]);
  });
  it('only one set → refused too', () => {
    expect(decide(facts({ config: withHandles(5, 0) })).findings[0]!.message).toContain('none or both of network.classifier_handle');
  });
  it('different and both set, both 0, or raw packets off → accepted', () => {
    for (const c of [withHandles(5, 6), withHandles(0, 0), withHandles(5, 5, false)])
      expect(codes(decide(facts({ config: c })))).not.toContain('classifier_handles_refused');
  });
});

describe('decide: vendor rows', () => {
  it('vendor attaches no eBPF tc classifier (observed) → ok', () => {
    const d = decide(
      facts({ cni: detected('calico', '3.26.1'), nodes: [{ node: 'node-a', interfaces: [{ name: 'cali1234567890a', filters: tc(cws(10)) }] }] }),
    );
    expect([d.verdict, codes(d)]).toEqual(['ok', ['no_ebpf_cni']]);
  });
  it('no CNI at all (caller says so), tc not gathered → ok', () => {
    const d = decide(facts({ cni: { status: 'none', reason: 'docker host' }, nodes: undefined }));
    expect([d.verdict, codes(d)]).toEqual(['ok', ['no_ebpf_cni']]);
  });
  it('vendor returns TC_ACT_UNSPEC → ok, observed or from the table', () => {
    const observed = decide(
      facts({
        cni: detected('kindnet'),
        nodes: [node('node-a', 'filter protocol all pref 1 bpf chain 0 handle 0x1 unspec_prog direct-action id 1 tag aa jited\n')],
      }),
      TABLE_WITH_UNSPEC,
    );
    expect([observed.verdict, codes(observed)]).toEqual(['ok', ['cni_tc_act_unspec']]);
    const table = decide(facts({ cni: detected('kindnet'), nodes: undefined }), TABLE_WITH_UNSPEC);
    expect([table.verdict, codes(table)]).toEqual(['ok', ['cni_tc_act_unspec']]);
  });
});

describe('decide: priority rows (boundaries 1 / 2 / 10 / 11)', () => {
  it.each([
    // vendor pref, CWS classifier_priority, verdict, finding, remediations, suggested
    [1, 10, 'broken', 'priority_conflict_1', ['disable_network_detections'], undefined],
    [2, 10, 'action_required', 'priority_must_be_below', ['set_classifier_priority'], 1],
    [5, 5, 'action_required', 'priority_must_be_below', ['set_classifier_priority'], 4],
    [5, 4, 'ok', 'priority_ok', [], undefined],
    [10, 10, 'action_required', 'priority_must_be_below', ['set_classifier_priority'], 9],
    [10, 9, 'ok', 'priority_ok', [], undefined],
    [11, 10, 'ok', 'priority_ok', [], undefined],
    [11, 20, 'ok', 'priority_ok', [], undefined],
  ] as const)('vendor %i, classifier_priority %i → %s (%s)', (pref, prio, verdict, code, remediations, suggested) => {
    const d = decide(facts({ config: config({ prio }), nodes: [node('node-a', cilium(pref))] }));
    expect(d.verdict).toBe(verdict);
    expect(codes(d)).toEqual([code]);
    expect(d.remediations).toEqual(remediations);
    expect(d.suggestedPriority).toBe(suggested);
  });

  it("the priority-1 message is the seed's and says where the priority was seen", () => {
    const observed = decide(facts());
    expect(observed.findings[0]!.message).toMatch(
      /priority 1 \(observed with tc on node-a, e\.g\. lxc9fc12c71903b\): CWS network detections do not work inside your containers/,
    );
    const fromTable = decide(facts({ nodes: undefined }));
    expect([fromTable.verdict, codes(fromTable)]).toEqual(['broken', ['priority_conflict_1']]);
    expect(fromTable.findings[0]!.message).toMatch(/vendor default; tc filters were not gathered/);
  });

  it('the CWS filter seen on the node beats the configured value', () => {
    const d = decide(facts({ config: config({ prio: 10 }), nodes: [node('node-a', cws(3), cilium(5))] }));
    expect([d.verdict, codes(d)]).toEqual(['ok', ['priority_ok']]);
    expect(d.findings[0]!.message).toMatch(/CWS uses 3 \(observed with tc\)/);
  });

  it('classifier_priority 0 (ebpf-manager picks) and no CWS filter seen → unknown', () => {
    const d = decide(facts({ config: config({ prio: 0 }), nodes: [node('node-a', cilium(5))] }));
    expect([d.verdict, codes(d)]).toEqual(['unknown', ['unknown_classifier_priority']]);
  });
});

describe('decide: nodes', () => {
  it('all nodes agree → one compact finding', () => {
    const d = decide(facts({ nodes: ['a', 'b', 'c'].map((n) => node(n, cilium(1), cws(10))) }));
    expect(d.findings).toHaveLength(1);
    expect(d.findings[0]).not.toHaveProperty('node');
    expect(d.findings[0]!.message).toMatch(/observed with tc on all 3 nodes/);
  });
  it('nodes disagree on the vendor priority → per-node findings, worst verdict, one suggestion for all', () => {
    const d = decide(facts({ nodes: [node('node-a', cilium(1)), node('node-b', cilium(5)), node('node-c', cilium(3))] }));
    expect(d.verdict).toBe('broken');
    expect(d.findings.map((f) => [f.code, f.node])).toEqual([
      ['priority_differs', undefined],
      ['priority_conflict_1', 'node-a'],
      ['priority_must_be_below', 'node-b'],
      ['priority_must_be_below', 'node-c'],
    ]);
    expect(d.remediations).toEqual(['set_classifier_priority', 'disable_network_detections']);
    expect(d.suggestedPriority).toBe(2);
  });
  it('a node without pod interfaces and a node whose tc failed are reported, the rest decides', () => {
    const d = decide(
      facts({ nodes: [{ node: 'node-a', interfaces: [] }, { node: 'node-b', error: 'exec timed out after 60 s' }, node('node-c', cilium(11))] }),
    );
    expect(d.findings.map((f) => [f.code, f.node])).toEqual([
      ['unknown_tc', 'node-b'],
      ['no_pod_interfaces', 'node-a'],
      ['priority_ok', 'node-c'],
    ]);
    expect(d.verdict).toBe('ok');
  });
  it('Cilium present but none of its filters visible (tcx) → unknown', () => {
    const d = decide(facts({ nodes: [node('node-a', cws(10))] }));
    expect([d.verdict, codes(d)]).toEqual(['unknown', ['vendor_filters_not_visible']]);
  });
});

describe('decide: known race, Cilium ≤ 1.9 × Agent 7.36 … 7.39.1', () => {
  const raceFacts = (agent: string, ciliumVersion: string | undefined, vendor: CniVendorId = 'cilium') => {
    const agentVersion = v(agent);
    const cfg = effectiveCwsConfig({
      agentVersion,
      systemProbeEnv: [
        { name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' },
        { name: 'DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED', value: 'true' },
      ],
    });
    return facts({ agentVersion, config: cfg, cni: detected(vendor, ciliumVersion), nodes: [node('node-a', cilium(1))] });
  };
  it.each([
    // agent, cilium, race?, remediations
    ['7.35.9', '1.9.5', false, []], // no network detections before 7.36: stops early
    ['7.36.0-rc.1', '1.9.5', true, ['disable_network_detections', 'upgrade_agent']],
    ['7.36.0', '1.9.5', true, ['disable_network_detections', 'upgrade_agent']],
    ['7.39.1', '1.9.5', true, ['disable_network_detections', 'upgrade_agent']],
    ['7.39.2-rc.1', '1.9.5', true, ['disable_network_detections', 'upgrade_agent']],
    ['7.39.2', '1.9.5', false, ['disable_network_detections']],
    ['7.40.0-rc.1', '1.9.5', false, ['disable_network_detections']],
    ['7.38.0', '1.8.13', true, ['disable_network_detections', 'upgrade_agent']],
    ['7.38.0', '1.10.0', false, ['disable_network_detections', 'upgrade_agent']], // no race, but both at priority 1: upgrade hint
    ['7.38.0', '1.10.0-rc.1', false, ['disable_network_detections', 'upgrade_agent']],
  ] as const)('agent %s, Cilium %s → race %s', (agent, ciliumVersion, race, remediations) => {
    const d = decide(raceFacts(agent, ciliumVersion));
    expect(codes(d).includes('cilium_race')).toBe(race);
    expect(d.remediations).toEqual(remediations);
    if (race) {
      expect(d.verdict).toBe('broken');
      expect(d.findings.find((f) => f.code === 'cilium_race')).toMatchObject({
        severity: 'critical',
        message: expect.stringMatching(/loss|cut .* connectivity/),
      });
    }
  });
  it('GKE Dataplane V2 (anetd v1.9.4-gke.17) is Cilium', () => {
    const d = decide(raceFacts('7.37.0', '1.9.4-gke.17', 'gke-dataplane-v2'));
    expect(codes(d)).toContain('cilium_race');
  });
  it('Cilium version unknown with an agent in the window → the race cannot be ruled out', () => {
    const f = raceFacts('7.38.0', undefined);
    const d = decide({ ...f, nodes: [node('node-a', cws(1), cilium(20))] }); // bpf-filter-priority=20
    expect(codes(d)).toEqual(['unknown_cni_version', 'priority_ok']);
    expect(d.verdict).toBe('unknown');
  });
});

describe('decide: unknown facts are reported, never guessed', () => {
  it('unknown vendor, tc not gathered → unknown, naming both', () => {
    const d = decide(facts({ cni: { status: 'unknown', reason: 'no known CNI DaemonSet (DaemonSets seen: ovn-node)' }, nodes: undefined }));
    expect([d.verdict, codes(d)]).toEqual(['unknown', ['unknown_cni', 'unknown_tc']]);
  });
  it('unknown vendor, tc shows no foreign classifier → ok', () => {
    const d = decide(facts({ cni: { status: 'unknown', reason: 'x' }, nodes: [node('node-a', cws(10))] }));
    expect([d.verdict, codes(d)]).toEqual(['ok', ['unknown_cni', 'no_ebpf_cni']]);
  });
  it('unknown program at priority 1 → its return code is unknown → unknown; at 11+ → ok', () => {
    const p1 = decide(
      facts({
        cni: { status: 'unknown', reason: 'x' },
        nodes: [node('node-a', 'filter protocol all pref 1 bpf chain 0 handle 0x1 mystery_prog direct-action id 9 tag bb jited\n')],
      }),
    );
    expect([p1.verdict, codes(p1)]).toEqual(['unknown', ['unknown_cni', 'unknown_tc_action']]);
    const p11 = decide(
      facts({
        cni: { status: 'unknown', reason: 'x' },
        nodes: [node('node-a', 'filter protocol all pref 11 bpf chain 0 handle 0x1 mystery_prog direct-action id 9 tag bb jited\n')],
      }),
    );
    expect(p11.verdict).toBe('ok');
  });
  it('unverified table claims ("no eBPF" for Flannel) do not make it fine; observation does', () => {
    expect(decide(facts({ cni: detected('flannel', '0.22.0'), nodes: undefined })).verdict).toBe('unknown');
    expect(decide(facts({ cni: detected('flannel', '0.22.0'), nodes: [{ node: 'n', interfaces: [{ name: 'veth1a2b3c4d', filters: [] }] }] })).verdict).toBe(
      'ok',
    );
  });
  it('Calico ("depends" on the eBPF dataplane) with tc unreadable everywhere → unknown', () => {
    const d = decide(facts({ cni: detected('calico', '3.26.1'), nodes: [{ node: 'node-a', error: 'container system-probe not found' }] }));
    expect([d.verdict, codes(d)]).toEqual(['unknown', ['unknown_tc', 'unknown_tc']]);
    expect(d.findings[1]!.message).toMatch(/depends: only with the eBPF dataplane/);
  });
  it('unknown agent version is named; a known problem still wins', () => {
    const d = decide(facts({ agentVersion: undefined, config: config({ prio: undefined }), cni: detected('cilium', '1.9.5') }));
    expect(codes(d)).toEqual(['unknown_agent_version', 'priority_conflict_1']);
    expect(d.verdict).toBe('broken');
  });
  it('unknown agent version with a harmless CNI → ok, the missing fact still listed', () => {
    const d = decide(
      facts({ agentVersion: undefined, cni: detected('calico', '3.26.1'), nodes: [{ node: 'n', interfaces: [{ name: 'cali1', filters: [] }] }] }),
    );
    expect([d.verdict, codes(d)]).toEqual(['ok', ['unknown_agent_version', 'no_ebpf_cni']]);
  });
  it('unknown "CWS enabled" turns a problem into unknown, keeps the findings and the offer', () => {
    const d = decide(facts({ config: config({ cws: undefined }) }));
    expect([d.verdict, codes(d), d.remediations]).toEqual(['unknown', ['unknown_cws_enabled', 'priority_conflict_1'], ['disable_network_detections']]);
  });
  it('unknown "network enabled" with a harmless CNI → ok', () => {
    const d = decide(facts({ config: config({ net: undefined }), nodes: [node('node-a', cilium(11))] }));
    expect([d.verdict, codes(d)]).toEqual(['ok', ['unknown_network_enabled', 'priority_ok']]);
  });
});

describe('decide: contract', () => {
  it('finding codes are stable snake_case strings and severities are known', () => {
    const all = [
      decide(facts()),
      decide(facts({ nodes: [node('a', cilium(1)), node('b', cilium(4))] })),
      decide(facts({ cni: { status: 'unknown', reason: 'x' }, nodes: undefined, agentVersion: undefined as Version | undefined })),
    ].flatMap((d) => d.findings);
    for (const f of all) {
      expect(f.code).toMatch(/^[a-z0-9_]+$/);
      expect(['info', 'warning', 'critical']).toContain(f.severity);
      expect(f.message.split('\n').length).toBeLessThanOrEqual(2);
    }
  });
});

describe('nodes with no pod-facing interface', () => {
  it('fall back to what is known of the vendor: an unknown CNI stays unknown', async () => {
    const { decide } = await import('../../src/core/netcheck/decide.ts');
    const { effectiveCwsConfig } = await import('../../src/core/netcheck/config.ts');
    const { v } = await import('../../src/core/netcheck/version.ts');
    const agentVersion = v('7.50.3');
    const config = effectiveCwsConfig({ agentVersion, systemProbeEnv: [{ name: 'DD_RUNTIME_SECURITY_CONFIG_ENABLED', value: 'true' }] });
    const d = decide({ agentVersion, config, cni: { status: 'unknown', reason: 'no known CNI DaemonSet' }, nodes: [{ node: 'n1', interfaces: [] }] });
    expect(d.verdict).toBe('unknown');
    expect(d.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['no_pod_interfaces', 'unknown_cni']));
  });
});
