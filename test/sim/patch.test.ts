import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/sim/k8s-types.ts';
import { applyPatch, mergePatch, PatchDecodeError, PatchError, patchContentType } from '../../src/sim/patch.ts';

const ds = (): JsonObject => ({
  metadata: { name: 'datadog-agent', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    template: {
      spec: {
        containers: [
          { name: 'security-agent', image: 'agent:7.50.3', env: [{ name: 'A', value: '1' }], args: ['--x'] },
          {
            name: 'system-probe',
            image: 'agent:7.50.3',
            env: [
              { name: 'DD_X', value: 'a' },
              { name: 'DD_Y', value: 'b' },
            ],
            volumeMounts: [{ name: 'v', mountPath: '/etc/x' }],
          },
        ],
        tolerations: [{ operator: 'Exists' }],
      },
    },
  },
});
const containers = (o: JsonObject) => ((o.spec as JsonObject).template as JsonObject).spec as { containers: JsonObject[]; tolerations?: unknown };
const SMP = 'application/strategic-merge-patch+json';

describe('patch content types', () => {
  it('recognises the three types with parameters, nothing else', () => {
    expect(patchContentType('application/strategic-merge-patch+json; charset=utf-8')).toBe(SMP);
    expect(patchContentType('application/merge-patch+json')).toBe('application/merge-patch+json');
    expect(patchContentType('application/json-patch+json')).toBe('application/json-patch+json');
    expect(patchContentType('application/apply-patch+yaml')).toBeUndefined();
    expect(patchContentType('application/json')).toBeUndefined();
    expect(patchContentType(undefined)).toBeUndefined();
  });
});

describe('RFC 7386 merge patch', () => {
  it('merges objects, deletes with null, replaces lists and scalars', () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2], s: 'x' }, { a: { b: null, d: 3 }, l: [3], s: { t: 1 } })).toEqual({
      a: { c: 2, d: 3 },
      l: [3],
      s: { t: 1 },
    });
    expect(mergePatch({ a: 1 }, [1])).toEqual([1]);
  });

  it('replaces the whole containers list (no merge keys in RFC 7386)', () => {
    const out = applyPatch(ds(), 'application/merge-patch+json', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'x', image: 'y' }] } } } }));
    expect(containers(out).containers).toEqual([{ name: 'x', image: 'y' }]);
  });
});

describe('strategic merge patch', () => {
  it('merges containers by name and env by name', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'system-probe',
                env: [
                  { name: 'DD_Y', value: 'B' },
                  { name: 'DD_Z', value: 'c' },
                ],
              },
            ],
          },
        },
      },
    };
    const out = applyPatch(ds(), SMP, JSON.stringify(patch));
    const [sa, sp] = containers(out).containers;
    expect(sa).toEqual(containers(ds()).containers[0]);
    expect(sp).toEqual({
      name: 'system-probe',
      image: 'agent:7.50.3',
      env: [
        { name: 'DD_X', value: 'a' },
        { name: 'DD_Y', value: 'B' },
        { name: 'DD_Z', value: 'c' },
      ],
      volumeMounts: [{ name: 'v', mountPath: '/etc/x' }],
    });
  });

  it('adds a new container, and replaces lists without a merge key', () => {
    const out = applyPatch(
      ds(),
      SMP,
      JSON.stringify({
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'agent', image: 'agent:7' },
                { name: 'security-agent', args: ['--y'] },
              ],
              tolerations: [],
            },
          },
        },
      }),
    );
    const c = containers(out);
    expect(c.containers.map((x) => x.name)).toEqual(['security-agent', 'system-probe', 'agent']);
    expect(c.containers[0]!.args).toEqual(['--y']);
    expect(c.tolerations).toEqual([]);
  });

  it('honours $patch delete/replace, null, $deleteFromPrimitiveList, $retainKeys and merged finalizers', () => {
    const out = applyPatch(
      ds(),
      SMP,
      JSON.stringify({
        metadata: { labels: { a: null, c: '3' }, finalizers: ['y'], $retainKeys: ['name', 'labels', 'finalizers'] },
        spec: {
          template: {
            spec: {
              containers: [{ name: 'system-probe', env: [{ name: 'DD_X', $patch: 'delete' }], volumeMounts: [{ $patch: 'replace' }] }],
              $setElementOrder$containers: [],
            },
          },
        },
      }).replace('$setElementOrder$containers', '$setElementOrder/containers'),
    );
    expect(out.metadata).toEqual({ name: 'datadog-agent', labels: { b: '2', c: '3' }, finalizers: ['x', 'y'] });
    const sp = containers(out).containers[1]!;
    expect(sp.env).toEqual([{ name: 'DD_Y', value: 'b' }]);
    expect(sp.volumeMounts).toEqual([]);
    const deleted = applyPatch(
      ds(),
      SMP,
      JSON.stringify({ metadata: { $deleteFromPrimitiveList$finalizers: ['x'] } }).replace(
        '$deleteFromPrimitiveList$finalizers',
        '$deleteFromPrimitiveList/finalizers',
      ),
    );
    expect((deleted.metadata as JsonObject).finalizers).toEqual([]);
    const replaced = applyPatch(ds(), SMP, JSON.stringify({ metadata: { $patch: 'replace', name: 'z' } }));
    expect(replaced.metadata).toEqual({ name: 'z' });
  });

  it('rejects an element without its merge key, and a body that is not an object', () => {
    expect(() => applyPatch(ds(), SMP, JSON.stringify({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }))).toThrow(
      'does not contain declared merge key: name',
    );
    expect(() => applyPatch(ds(), SMP, '[]')).toThrow(PatchDecodeError);
    expect(() => applyPatch(ds(), SMP, '{oops')).toThrow(/error decoding patch/);
  });
});

describe('RFC 6902 JSON patch', () => {
  it('applies operations without touching the original', () => {
    const original = ds();
    const out = applyPatch(
      original,
      'application/json-patch+json',
      JSON.stringify([
        { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'B', value: '2' } },
        { op: 'replace', path: '/spec/template/spec/containers/1/image', value: 'agent:7.51.0' },
        { op: 'remove', path: '/metadata/labels/a' },
        { op: 'test', path: '/metadata/name', value: 'datadog-agent' },
      ]),
    );
    expect(containers(out).containers[0]!.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(containers(out).containers[1]!.image).toBe('agent:7.51.0');
    expect((out.metadata as JsonObject).labels).toEqual({ b: '2' });
    expect(original).toEqual(ds());
  });

  it('reports operations that do not apply, and bodies that are not a list of operations', () => {
    expect(() => applyPatch(ds(), 'application/json-patch+json', '[{"op":"replace","path":"/spec/nope/x","value":1}]')).toThrow(
      'jsonpatch replace operation does not apply: doc is missing path: /spec/nope/x',
    );
    expect(() => applyPatch(ds(), 'application/json-patch+json', '[{"op":"test","path":"/metadata/name","value":"other"}]')).toThrow(
      'testing value /metadata/name failed',
    );
    expect(() => applyPatch(ds(), 'application/json-patch+json', '{"op":"add"}')).toThrow(
      'cannot unmarshal object into Go value of type []handlers.jsonPatchOp',
    );
    expect(() => applyPatch(ds(), 'application/json-patch+json', '[{"path":"/a"}]')).toThrow(PatchDecodeError);
    try {
      applyPatch(ds(), 'application/json-patch+json', '[{"op":"remove","path":"/missing"}]');
    } catch (err) {
      expect(err).toBeInstanceOf(PatchError);
      expect(err).not.toBeInstanceOf(PatchDecodeError);
    }
  });
});
