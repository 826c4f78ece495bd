/**
 * Kubernetes label selectors (the `labelSelector` query parameter and DaemonSet
 * `spec.selector`): a pure parser and matcher following apimachinery's `labels.Parse`.
 *
 *   a=b  a==b  a!=b  a in (x,y)  a notin (x,y)  a  !a  a>3  a<3   joined by commas
 *
 * `!=` and `notin` also match objects that lack the label; the empty selector matches all.
 */
import type { LabelSelectorSpec } from './k8s-types.ts';

export type Operator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export type LabelSelector = readonly Requirement[];

export class SelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorParseError';
  }
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: '=' | '==' | '!=' | '!' | '>' | '<' | '(' | ')' | ',' } | { kind: 'end' };

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('=!><(),'.includes(c)) {
      out.push({ kind: 'op', text: c as '=' });
      i++;
      continue;
    }
    let j = i;
    while (j < input.length && !/\s/.test(input[j]!) && !'=!><(),'.includes(input[j]!)) j++;
    out.push({ kind: 'id', text: input.slice(i, j) });
    i = j;
  }
  out.push({ kind: 'end' });
  return out;
}

const show = (t: Token) => (t.kind === 'end' ? 'end of string' : `'${t.text}'`);

export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const next = () => tokens[pos++]!;
  const reqs: Requirement[] = [];
  if (peek().kind === 'end') return reqs;

  for (;;) {
    reqs.push(parseRequirement());
    const t = next();
    if (t.kind === 'end') break;
    if (t.kind !== 'op' || t.text !== ',') throw new SelectorParseError(`found ${show(t)}, expected: ',' or 'end of string'`);
  }
  return reqs;

  function parseRequirement(): Requirement {
    const first = next();
    if (first.kind === 'op' && first.text === '!') {
      const key = next();
      if (key.kind !== 'id') throw new SelectorParseError(`found ${show(key)}, expected: identifier after '!'`);
      return requirement(key.text, '!', []);
    }
    if (first.kind !== 'id') throw new SelectorParseError(`found ${show(first)}, expected: !, identifier, or 'end of string'`);
    const key = first.text;
    const t = peek();
    if (t.kind === 'end' || (t.kind === 'op' && t.text === ',')) return requirement(key, 'exists', []);
    next();
    if (t.kind === 'op' && (t.text === '=' || t.text === '==' || t.text === '!=')) {
      const v = peek();
      const value = v.kind === 'id' ? (next(), v.text) : '';
      return requirement(key, t.text === '!=' ? '!=' : '=', [value]);
    }
    if (t.kind === 'op' && (t.text === '>' || t.text === '<')) {
      const v = next();
      if (v.kind !== 'id' || !/^-?\d+$/.test(v.text))
        throw new SelectorParseError(`for 'gt', 'lt' operators, exactly one integer value is required, found ${show(v)}`);
      return requirement(key, t.text === '>' ? 'gt' : 'lt', [v.text]);
    }
    if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) {
      const open = next();
      if (open.kind !== 'op' || open.text !== '(') throw new SelectorParseError(`found ${show(open)}, expected: '('`);
      const values: string[] = [];
      let expectValue = true;
      for (;;) {
        const v = next();
        if (v.kind === 'op' && v.text === ')') {
          if (expectValue && values.length > 0) values.push('');
          break;
        }
        if (v.kind === 'op' && v.text === ',') {
          if (expectValue) values.push('');
          expectValue = true;
          continue;
        }
        if (v.kind === 'id' && expectValue) {
          values.push(v.text);
          expectValue = false;
          continue;
        }
        throw new SelectorParseError(`found ${show(v)}, expected: ',' or ')'`);
      }
      if (values.length === 0) throw new SelectorParseError(`for 'in', 'notin' operators, values set can't be empty`);
      return requirement(key, t.text, values);
    }
    throw new SelectorParseError(`found ${show(t)}, expected: in, notin, =, ==, !=, gt, lt`);
  }
}

function requirement(key: string, op: Operator, values: string[]): Requirement {
  const keyProblem = validateKey(key);
  if (keyProblem) throw new SelectorParseError(`unable to parse requirement: key "${key}": ${keyProblem}`);
  if (op !== 'gt' && op !== 'lt') {
    for (const v of values) {
      if (v.length > 63 || !VALUE.test(v)) {
        throw new SelectorParseError(
          `unable to parse requirement: values[0][${key}]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        );
      }
    }
  }
  return { key, op, values: [...new Set(values)] };
}

function validateKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX.test(prefix))) return 'prefix part must be a lowercase RFC 1123 subdomain';
  if (!NAME.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (63 characters at most)";
  return undefined;
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => matchRequirement(r, Object.hasOwn(l, r.key) ? l[r.key] : undefined));
}

function matchRequirement(r: Requirement, value: string | undefined): boolean {
  switch (r.op) {
    case '=':
    case 'in':
      return value !== undefined && r.values.includes(value);
    case '!=':
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return value !== undefined;
    case '!':
      return value === undefined;
    case 'gt':
    case 'lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const [a, b] = [Number(value), Number(r.values[0])];
      return r.op === 'gt' ? a > b : a < b;
    }
  }
}

/** A `metav1.LabelSelector` (matchLabels + matchExpressions) as requirements. */
export function fromLabelSelectorSpec(spec: LabelSelectorSpec): LabelSelector {
  const reqs: Requirement[] = Object.entries(spec.matchLabels ?? {}).map(([key, v]) => ({ key, op: '=', values: [v] }));
  for (const e of spec.matchExpressions ?? []) {
    const op: Operator = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return reqs;
}

/** The canonical text form, as `kubectl get ds -o wide` shows a selector. */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((r) => {
      switch (r.op) {
        case '=':
        case '!=':
          return `${r.key}${r.op}${r.values[0] ?? ''}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.op} (${[...r.values].sort().join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
      }
    })
    .join(',');
}
