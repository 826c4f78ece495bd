/**
 * Property-based fuzz of what netcheck reads on a node (issue 15 point 7): `tc filter show dev
 * IFACE ingress` (parseTcFilterShow), `/proc/net/dev` (parseProcNetDev) and the pod-facing pick.
 * Never throw, stay linear on huge lines, read back what iproute2 and the kernel print, and give
 * the same facts for the real outputs (test/unit/netcheck-tc.test.ts) with CRLF, blank lines and
 * the continuation lines the format says to skip.
 */
import { describe, expect, it } from 'vitest';
import { parseProcNetDev, parseTcFilterShow, pickPodFacingInterfaces, type TcFilter } from '../../src/core/netcheck/tc.ts';
import { anyText, check, fc, hugeLine, interleave, linearTime, newline, noShrink, wellFormed } from './fc.ts';

/** Real `tc filter show` outputs (sources in test/unit/netcheck-tc.test.ts and src/netcheck/tc.ts). */
const REAL_TC = [
  'filter protocol all pref 1 bpf chain 0 \nfilter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-lxc9fc12c71903b direct-action not_in_hw id 4931 tag 4cfba610f154c365 jited \n',
  'filter protocol all pref 1 bpf chain 0\nfilter protocol all pref 1 bpf chain 0 handle 0x2 classifier_ingress_security380_4026531992_2115 direct-action not_in_hw id 4491 tag 59904229c5a1f55d jited\nfilter protocol all pref 1 bpf chain 0 handle 0x1 bpf_lxc.o:[from-container] direct-action not_in_hw id 4481 tag 18a10b547e2fa35f jited',
  'filter protocol all pref 1 bpf handle 0x1 bpf_lxc.o:[from-container] direct-action tag 18a10b547e2fa35f',
  'filter parent ffff:fff2 protocol all pref 49152 bpf chain 0 handle 0x1 calico_from_hos:[61] direct-action not_in_hw id 61 name calico_tc_main tag 4add0302745d594c jited\nfilter protocol all pref 10 bpf chain 0 handle 0x1 classifier_ingress direct-action not_in_hw id 77 name classifier_ingr tag aa jited',
  'filter protocol ip pref 49152 u32 chain 0 fh 800: ht divisor 1\nfilter protocol ip pref 49152 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 flowid 1:1\n  match 00000000/00000000 at 0\n\taction order 1: mirred (Egress Mirror to device eth1) pipe\n',
  'filter protocol all pref 3 bpf chain 0\n',
  '',
];

const REAL_NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 2776770   11307    0    0    0     0          0         0  2776770   11307    0    0    0     0       0          0
  eth0: 1215645    2751    0    0    0     0          0         0  1782404    4324    0    0    0   427       0          0
cilium_host:    1234      10    0    0    0     0          0         0     5678      20    0    0    0     0       0          0
lxc9fc12c71903b:     123       2    0    0    0     0          0         0      456       3    0    0    0     0       0          0
lxc_health:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
docker0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

const lines = (s: string) => s.split(/\r?\n/);
const TC_WORDS = [
  'filter',
  'parent',
  'ffff:fff2',
  'protocol',
  'all',
  'ip',
  'pref',
  'prio',
  'priority',
  '1',
  '10',
  '49152',
  '65535',
  '65536',
  '99999999999999999999',
  '-1',
  'x',
  'bpf',
  'u32',
  'flower',
  'matchall',
  'chain',
  '0',
  'handle',
  'fh',
  '0x1',
  'direct-action',
  'da',
  'not_in_hw',
  'jited',
  'id',
  'tag',
  'name',
  'classifier_ingress',
  'cil_from_container',
  'flowid',
  '1:1',
  'dev',
  'lxc1',
  'ingress',
  'egress',
  'block',
  'match',
  'action',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\0',
];
const tcWords = fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TC_WORDS) }, { weight: 1, arbitrary: anyText(15) }), { maxLength: 30 });
const tcNumber = fc.oneof(
  fc.constantFrom('0', '1', '65535', '65536', '4294967295', '4294967296', '007', '9'.repeat(20), '9'.repeat(400), '-1', '1e3', '0x10', ''),
  fc.nat().map(String),
);
/** Lines that start like a filter line, so the parser gets past its first words. */
const tcLine = fc
  .tuple(
    fc.option(fc.constantFrom('ffff:fff2', '1:', '')),
    fc.constantFrom('all', 'ip', ''),
    fc.constantFrom('pref', 'prio', 'priority'),
    tcNumber,
    fc.constantFrom('bpf', 'u32', 'flower', 'BPF', ''),
    fc.constantFrom('chain', 'handle', 'fh', 'id', 'tag', 'name'),
    tcNumber,
    tcWords,
  )
  .map(([parent, proto, p, pref, kind, k, n, rest]) =>
    ['filter', ...(parent !== null ? ['parent', parent] : []), 'protocol', proto, p, pref, kind, k, n, ...rest].join(' '),
  );
const tcSoup = fc.oneof(
  tcWords.map((ws) => ws.join(' ')),
  tcLine,
);

function assertFilters(fs: TcFilter[]): void {
  for (const f of fs) {
    // a tc priority is a u16, chains and program IDs u32: numbers a result can carry (JSON, zod)
    expect(Number.isInteger(f.pref) && f.pref >= 0 && f.pref <= 0xffff, `pref ${f.pref}`).toBe(true);
    for (const n of [f.chain, f.id]) if (n !== undefined) expect(Number.isInteger(n) && n >= 0 && n <= 0xffffffff, `chain/id ${n}`).toBe(true);
    expect(f.kind).toMatch(/^[a-z_0-9]+$/);
    expect(typeof f.directAction).toBe('boolean');
    for (const s of [f.protocol, f.name, f.progName, f.handle, f.tag, f.parent]) if (s !== undefined) expect(s).not.toMatch(/\s/u);
  }
}

/** An error is shown to the user (a node's line in the netcheck result): short, and text Slack can show. */
function assertError(error: string, input: string, shape?: RegExp): void {
  expect(typeof error).toBe('string');
  if (shape) expect(error).toMatch(shape);
  expect(error.length).toBeLessThan(400);
  if (wellFormed(input)) expect(wellFormed(error), JSON.stringify(error)).toBe(true);
}

describe('parseTcFilterShow', () => {
  it('never throws on any text; a reading holds only well-formed filters, an error says which line', () => {
    check(
      fc.property(
        fc.oneof(
          anyText(400),
          tcSoup,
          fc.array(tcSoup, { maxLength: 6 }).map((ls) => ls.join('\n')),
        ),
        (out) => {
          const r = parseTcFilterShow(out);
          if (r.ok) assertFilters(r.filters);
          else assertError(r.error, out, /^line \d+: /);
        },
      ),
      4000,
    );
  });

  it('the real outputs give the same filters with CRLF, blank lines, trailing blanks and indented continuation lines', () => {
    const indented = fc.tuple(fc.constantFrom(' ', '  ', '\t', ' \t'), anyText(60)).map(([i, t]) => `${i}${t.replace(/\n/g, ' ')}`);
    const blank = fc.constantFrom('', ' ', '\t', '   ');
    check(
      fc.property(
        fc.constantFrom(...REAL_TC.filter(Boolean)),
        fc.array(fc.oneof(indented, blank), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(blank, { maxLength: 3 }),
        fc.constantFrom('', ' ', '\t', '  '),
        newline,
        (out, extra, picks, lead, trail, nl) => {
          const want = parseTcFilterShow(out);
          const ls = lines(out);
          // continuation lines go after the first filter line; blank lines may come first too
          const edited = [...lead, ls[0]!, ...interleave(ls.slice(1), extra, picks)].map((l) => (l.trim() ? `${l}${trail}` : l));
          expect(parseTcFilterShow(edited.join(nl))).toEqual(want);
        },
      ),
      2000,
    );
  });

  // What iproute2 prints for a bpf filter (tc/f_bpf.c bpf_print_opt), read back field for field.
  const KEYWORDS = new Set([
    'direct-action',
    'da',
    'not_in_hw',
    'in_hw',
    'skip_hw',
    'skip_sw',
    'jited',
    'verbose',
    'id',
    'tag',
    'name',
    'flowid',
    'classid',
    'chain',
    'handle',
    'fh',
  ]);
  const word = (re: RegExp) => fc.stringMatching(re).filter((w) => !KEYWORDS.has(w));
  const bpfFilter = fc.record(
    {
      parent: fc.constantFrom('ffff:fff2', 'ffff:fff3', '1:'),
      protocol: fc.constantFrom('all', 'ip', 'ipv6', '802.1Q'),
      pref: fc.integer({ min: 0, max: 0xffff }),
      chain: fc.integer({ min: 0, max: 0xffffffff }),
      handle: fc.stringMatching(/^0x[0-9a-f]{1,8}$/),
      name: word(/^[a-z_][A-Za-z0-9_.:[\]-]{0,40}$/),
      directAction: fc.boolean(),
      id: fc.integer({ min: 1, max: 0xffffffff }),
      progName: word(/^[a-z_][a-z0-9_]{0,14}$/),
      tag: fc.stringMatching(/^[0-9a-f]{16}$/),
    },
    { requiredKeys: ['protocol', 'pref', 'handle', 'name', 'directAction'] },
  );
  const print = (f: TcFilter) =>
    [
      'filter',
      ...(f.parent ? ['parent', f.parent] : []),
      'protocol',
      f.protocol,
      'pref',
      String(f.pref),
      'bpf',
      ...(f.chain !== undefined ? ['chain', String(f.chain)] : []),
      'handle',
      f.handle!,
      f.name!,
      ...(f.directAction ? ['direct-action'] : []),
      'not_in_hw',
      ...(f.id !== undefined ? ['id', String(f.id), ...(f.progName ? ['name', f.progName] : [])] : []),
      ...(f.tag ? ['tag', f.tag] : []),
      'jited',
    ].join(' ');

  it('reads back every bpf filter iproute2 can print', () => {
    check(
      fc.property(fc.array(bpfFilter, { minLength: 1, maxLength: 5 }), newline, (fs, nl) => {
        const want = fs.map((f) => {
          const { progName, ...rest } = f as TcFilter;
          return { ...rest, kind: 'bpf', ...(progName && f.id !== undefined ? { progName } : {}) };
        });
        const r = parseTcFilterShow(want.map((f) => print(f as TcFilter)).join(nl));
        expect(r).toEqual({ ok: true, filters: want });
      }),
      3000,
    );
  });

  it('answers in linear time on huge lines', () => {
    check(
      fc.property(hugeLine(['filter protocol all pref 1 bpf chain 0 handle 0x1 ', 'filter ', ' ', '']), (line) => {
        const r = linearTime(() => parseTcFilterShow(`filter protocol all pref 1 bpf chain 0\n${line.text}\n`));
        if (!r.ok) assertError(r.error, line.text);
      }),
      30,
      noShrink,
    );
  });
});

describe('parseProcNetDev and pickPodFacingInterfaces', () => {
  const HEADER =
    'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed';

  it('never throws on any text; names have no blank or colon, counters are numbers', () => {
    check(
      fc.property(
        fc.oneof(
          anyText(400),
          anyText(300).map((t) => `${HEADER}\n${t}`),
          fc
            .array(
              fc.array(fc.oneof(fc.nat().map(String), anyText(6)), { maxLength: 18 }).map((c) => c.join(' ')),
              { maxLength: 5 },
            )
            .map((ls) => `${HEADER}\n${ls.map((l, i) => `if${i}: ${l}`).join('\n')}`),
        ),
        (text) => {
          const r = parseProcNetDev(text);
          if (!r.ok) {
            assertError(r.error, text);
            return;
          }
          for (const i of r.interfaces) {
            expect(i.name).toMatch(/^[^\s:]+$/u);
            for (const n of [i.rxBytes, i.rxPackets, i.txBytes, i.txPackets]) expect(n).toBeGreaterThanOrEqual(0);
          }
          const pick = pickPodFacingInterfaces(r.interfaces.map((i) => i.name));
          expect([...pick.podFacing.map((p) => p.name), ...pick.ignored].sort()).toEqual(r.interfaces.map((i) => i.name).sort());
        },
      ),
      3000,
    );
  });

  it('reads back what the kernel prints, whatever the spacing (names of 15 characters leave none)', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,15}$/);
    const row = fc.record({ name, counters: fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { minLength: 16, maxLength: 16 }) });
    const sp = fc.constantFrom(' ', '  ', '      ', '\t');
    check(
      fc.property(fc.uniqueArray(row, { selector: (r) => r.name, maxLength: 8 }), sp, fc.constantFrom('', ' ', '    '), newline, (rows, s, lead, nl) => {
        const text = [HEADER.split('\n').join(nl), ...rows.map((r) => `${lead}${r.name}:${s}${r.counters.join(s)}`)].join(nl);
        const r = parseProcNetDev(`${text}${nl}`);
        expect(r).toEqual({
          ok: true,
          interfaces: rows.map((x) => ({ name: x.name, rxBytes: x.counters[0], rxPackets: x.counters[1], txBytes: x.counters[8], txPackets: x.counters[9] })),
        });
      }),
      2000,
    );
  });

  it('the real /proc/net/dev gives the same interfaces with CRLF and blank lines', () => {
    check(
      fc.property(fc.array(fc.constantFrom('', ' ', '\t'), { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), newline, (blanks, picks, nl) => {
        const ls = lines(REAL_NET_DEV);
        expect(parseProcNetDev(interleave(ls, blanks, picks).join(nl))).toEqual(parseProcNetDev(REAL_NET_DEV));
      }),
      500,
    );
  });

  it('pickPodFacingInterfaces sorts every name into exactly one list, whatever the names and prefixes', () => {
    check(
      fc.property(fc.array(anyText(20)), fc.array(anyText(5), { maxLength: 3 }), (names, prefixes) => {
        const pick = pickPodFacingInterfaces(names, prefixes);
        expect(pick.podFacing.length + pick.ignored.length).toBe(names.length);
        expect([...pick.podFacing.map((p) => p.name), ...pick.ignored].sort()).toEqual([...names].sort());
      }),
      2000,
    );
  });

  it('answers in linear time on huge lines', () => {
    check(
      fc.property(hugeLine(['lxc1: ', 'lxc1:', ' ', '']), (line) => {
        const r = linearTime(() => parseProcNetDev(`${HEADER}\n${line.text}\n`));
        if (!r.ok) assertError(r.error, line.text);
      }),
      30,
      noShrink,
    );
  });
});
