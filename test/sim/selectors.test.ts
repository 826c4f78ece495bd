import { describe, expect, it } from 'vitest';
import { matchesFields, parseFieldSelector, unsupportedField } from '../../src/sim/field-selector.ts';
import { formatLabelSelector, fromLabelSelectorSpec, matchesLabels, parseLabelSelector, SelectorParseError } from '../../src/sim/label-selector.ts';

const agent = { app: 'datadog-agent', 'app.kubernetes.io/component': 'agent', tier: 'node' };
const cilium = { 'k8s-app': 'cilium', tier: 'node' };
const match = (sel: string, labels: Record<string, string> | undefined) => matchesLabels(parseLabelSelector(sel), labels);

describe('label selector parser', () => {
  it('parses every operator', () => {
    expect(parseLabelSelector('a=b, c==d ,e!=f,g in (x, y),h notin (z),i,!j,k>3,l<10')).toEqual([
      { key: 'a', op: '=', values: ['b'] },
      { key: 'c', op: '=', values: ['d'] },
      { key: 'e', op: '!=', values: ['f'] },
      { key: 'g', op: 'in', values: ['x', 'y'] },
      { key: 'h', op: 'notin', values: ['z'] },
      { key: 'i', op: 'exists', values: [] },
      { key: 'j', op: '!', values: [] },
      { key: 'k', op: 'gt', values: ['3'] },
      { key: 'l', op: 'lt', values: ['10'] },
    ]);
  });

  it('accepts prefixed keys, empty values and the empty selector', () => {
    expect(parseLabelSelector('app.kubernetes.io/component=agent')).toEqual([{ key: 'app.kubernetes.io/component', op: '=', values: ['agent'] }]);
    expect(parseLabelSelector('a=')).toEqual([{ key: 'a', op: '=', values: [''] }]);
    expect(parseLabelSelector('a in (,b)')[0]!.values.sort()).toEqual(['', 'b']);
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector('   ')).toEqual([]);
  });

  it.each([
    ['a in ()', "values set can't be empty"],
    ['a in x', "expected: '('"],
    ['a in (x y)', "expected: ',' or ')'"],
    ['=b', 'expected: !, identifier'],
    ['a=b c=d', "expected: ',' or 'end of string'"],
    ['a>b', 'exactly one integer value'],
    ['a,', 'expected: !, identifier'],
    ['-bad-=x', 'name part must consist of'],
    ['a=b$', 'Invalid value: "b$"'],
    ['Upper.Case/x=y', 'prefix part must be a lowercase RFC 1123 subdomain'],
  ])('rejects %j', (input, message) => {
    expect(() => parseLabelSelector(input)).toThrow(SelectorParseError);
    expect(() => parseLabelSelector(input)).toThrow(message);
  });
});

describe('label selector matcher', () => {
  it('matches equality and inequality (inequality also matches a missing label)', () => {
    expect(match('app.kubernetes.io/component=agent', agent)).toBe(true);
    expect(match('app.kubernetes.io/component=agent', cilium)).toBe(false);
    expect(match('app.kubernetes.io/component!=agent', cilium)).toBe(true);
    expect(match('app.kubernetes.io/component!=agent', agent)).toBe(false);
  });

  it('matches set membership (notin also matches a missing label)', () => {
    expect(match('app in (datadog-agent,other)', agent)).toBe(true);
    expect(match('app in (other)', agent)).toBe(false);
    expect(match('app in (datadog-agent)', cilium)).toBe(false);
    expect(match('app notin (datadog-agent)', agent)).toBe(false);
    expect(match('app notin (datadog-agent)', cilium)).toBe(true);
  });

  it('matches existence and absence, and ANDs requirements', () => {
    expect(match('k8s-app', cilium)).toBe(true);
    expect(match('!k8s-app', cilium)).toBe(false);
    expect(match('!k8s-app', agent)).toBe(true);
    expect(match('tier=node,!k8s-app', agent)).toBe(true);
    expect(match('tier=node,!k8s-app', cilium)).toBe(false);
    expect(match('', undefined)).toBe(true);
    expect(match('a', undefined)).toBe(false);
  });

  it('compares integers with gt/lt', () => {
    expect(match('n>3', { n: '4' })).toBe(true);
    expect(match('n>3', { n: '3' })).toBe(false);
    expect(match('n<3', { n: 'x' })).toBe(false);
  });

  it('converts a metav1.LabelSelector and prints a selector', () => {
    const sel = fromLabelSelectorSpec({
      matchLabels: { app: 'x' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['b', 'a'] },
        { key: 'gone', operator: 'DoesNotExist' },
      ],
    });
    expect(matchesLabels(sel, { app: 'x', tier: 'a' })).toBe(true);
    expect(matchesLabels(sel, { app: 'x', tier: 'a', gone: '' })).toBe(false);
    expect(formatLabelSelector(sel)).toBe('app=x,tier in (a,b),!gone');
  });
});

describe('field selector', () => {
  const fields = { 'spec.nodeName': 'node-7', 'metadata.name': 'datadog-agent-abcde', 'status.phase': 'Running' };

  it('parses =, == and != with escapes', () => {
    expect(parseFieldSelector('spec.nodeName=node-7,status.phase!=Pending')).toEqual([
      { field: 'spec.nodeName', op: '=', value: 'node-7' },
      { field: 'status.phase', op: '!=', value: 'Pending' },
    ]);
    expect(parseFieldSelector('metadata.name==a\\,b')).toEqual([{ field: 'metadata.name', op: '=', value: 'a,b' }]);
    expect(parseFieldSelector('')).toEqual([]);
    expect(() => parseFieldSelector('spec.nodeName')).toThrow(SelectorParseError);
  });

  it('matches and reports unsupported fields', () => {
    expect(matchesFields(parseFieldSelector('spec.nodeName=node-7,status.phase=Running'), fields)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName=node-8'), fields)).toBe(false);
    expect(matchesFields(parseFieldSelector('status.phase!=Running'), fields)).toBe(false);
    expect(unsupportedField(parseFieldSelector('spec.nodeName=x,spec.foo=y'), ['spec.nodeName'])).toBe('spec.foo');
  });
});
