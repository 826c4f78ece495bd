/**
 * Field selectors (the `fieldSelector` query parameter): `key=value`, `key==value`,
 * `key!=value`, joined by commas; `\,` `\=` `\\` escape those characters in values
 * (apimachinery `fields.ParseSelector`). Which keys a resource supports is the resource's
 * business: an unsupported key is the API's 400 "field label not supported".
 */
import { SelectorParseError } from './label-selector.ts';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

export function parseFieldSelector(input: string): FieldSelector {
  if (input.trim() === '') return [];
  return splitUnescaped(input, ',').map((term) => {
    const m = /^(.*?)(==|!=|=)(.*)$/s.exec(term);
    if (!m) throw new SelectorParseError(`invalid selector: '${input}'; can't understand '${term}'`);
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    return { field: field.trim(), op: op === '!=' ? '!=' : '=', value: unescape(raw.trim()) };
  });
}

export function matchesFields(selector: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const v = fields[r.field] ?? '';
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}

/** The first field the resource does not support, if any. */
export function unsupportedField(selector: FieldSelector, supported: readonly string[]): string | undefined {
  return selector.find((r) => !supported.includes(r.field))?.field;
}

function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescape(s: string): string {
  return s.replace(/\\([\\,=])/g, '$1');
}
