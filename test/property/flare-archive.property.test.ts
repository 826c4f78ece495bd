/**
 * Property-based fuzz of the flare archive reader (issue 15 point 7): `reviewArchive` on any bytes,
 * on real zips, and on real zips damaged (bit flips, truncation, a forged directory) returns a
 * review or throws ArchiveError — never another exception — and a readable zip is listed whole.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ArchiveError, collapseFileList, reviewArchive, type ArchiveReview } from '../../workers/flare/archive.ts';
import { anyText, check, fc } from './fc.ts';

// (not __proto__: fflate, which builds the test zips, reads its input as a plain object)
const entryName = fc
  .oneof(fc.stringMatching(/^[a-z]{1,8}(\/[a-z0-9._-]{1,12}){0,3}$/), anyText(30))
  .filter((n) => n.length > 0 && !n.endsWith('/') && !n.includes('__proto__'));
const content = fc.oneof(
  anyText(400).map((s) => new TextEncoder().encode(s)),
  fc.uint8Array({ maxLength: 400 }),
  fc
    .constantFrom('api_key: 0123456789abcdef0123456789abcdef\npassword=hunter2 token=xoxb-1-2-3\n', `${'x'.repeat(20_000)}\n`, '\0\0\0binary')
    .map((s) => new TextEncoder().encode(s)),
);
const files = fc.uniqueArray(fc.tuple(entryName, content), { selector: ([n]) => n, minLength: 1, maxLength: 6 });
const zipOf = (fs: [string, Uint8Array][], level: 0 | 6) => zipSync(Object.fromEntries(fs), { level });

/** A review, or ArchiveError: anything else escaping the reader is a bug. */
function review(bytes: Uint8Array): ArchiveReview | ArchiveError {
  try {
    return reviewArchive(bytes);
  } catch (err) {
    if (err instanceof ArchiveError) return err;
    throw err;
  }
}

function assertReview(r: ArchiveReview, bytes: Uint8Array): void {
  expect(r.bytes).toBe(bytes.length);
  expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
  for (const f of r.files) expect(f.bytes).toBeGreaterThanOrEqual(0);
  expect(r.findingsTotal).toBeGreaterThanOrEqual(r.findings.length);
  for (const n of r.notScanned) expect(typeof n.reason).toBe('string');
}

describe('reviewArchive', () => {
  it('any bytes: a review or ArchiveError, never another exception', () => {
    check(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          anyText(300).map((s) => new TextEncoder().encode(`PK\x03\x04${s}PK\x05\x06`)),
        ),
        (bytes) => {
          const r = review(bytes);
          if (!(r instanceof ArchiveError)) assertReview(r, bytes);
        },
      ),
      2000,
    );
  });

  it('a readable zip is listed whole: one file per entry, with its size', () => {
    check(
      fc.property(files, fc.constantFrom(0, 6) as fc.Arbitrary<0 | 6>, (fs, level) => {
        const bytes = zipOf(fs, level);
        const r = review(bytes);
        expect(r).not.toBeInstanceOf(ArchiveError);
        const ok = r as ArchiveReview;
        assertReview(ok, bytes);
        expect(ok.files.map((f) => f.bytes).sort((a, b) => a - b)).toEqual(fs.map(([, c]) => c.length).sort((a, b) => a - b));
      }),
      500,
    );
  });

  it('a damaged zip (bits flipped, cut short, bytes spliced in): a review or ArchiveError', () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      // the 32-bit fields the reader trusts: counts, sizes, offsets, lengths set to extremes
      fc.record({ kind: fc.constant('field' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0xff, 0xffff, 0xffffffff, 0x7fffffff) }),
    );
    check(
      fc.property(files, fc.constantFrom(0, 6) as fc.Arbitrary<0 | 6>, damage, (fs, level, d) => {
        const bytes = Buffer.from(zipOf(fs, level));
        let broken: Uint8Array = bytes;
        if (d.kind === 'flip') for (const a of d.at) bytes[a % bytes.length]! ^= d.bits;
        else if (d.kind === 'cut') broken = bytes.subarray(0, d.at % bytes.length);
        else if (d.kind === 'splice') broken = Buffer.concat([bytes.subarray(0, d.at % bytes.length), d.bytes, bytes.subarray(d.at % bytes.length)]);
        else {
          const at = d.at % Math.max(1, bytes.length - 4);
          bytes.writeUInt32LE(d.value >>> 0, at);
        }
        const r = review(broken);
        if (!(r instanceof ArchiveError)) assertReview(r, broken);
      }),
      1500,
    );
  });
});

describe('collapseFileList', () => {
  it('never more lines than the limit, and nothing counted twice or lost (what does not fit is one counted line)', () => {
    const file = fc.record({ path: fc.oneof(fc.stringMatching(/^[a-z]{1,3}(\/[a-z]{1,3}){0,4}$/), anyText(20)), bytes: fc.nat({ max: 1e9 }) });
    check(
      fc.property(fc.array(file, { maxLength: 80 }), fc.integer({ min: 1, max: 30 }), (fs, limit) => {
        const out = collapseFileList(fs, limit);
        expect(out.length).toBeLessThanOrEqual(Math.max(limit, 0));
        const total = (xs: { bytes: number }[]) => xs.reduce((a, x) => a + x.bytes, 0);
        expect(total(out)).toBe(total(fs));
      }),
      1500,
    );
  });
});
