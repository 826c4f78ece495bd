/** Identity and time for new objects: uid, creationTimestamp, generated name suffixes. */
import { createHash, randomInt, randomUUID } from 'node:crypto';

export interface Mint {
  uid(): string;
  now(): Date;
  /** A 5-character name suffix, as the API server's generateName makes. */
  suffix(): string;
  /** 64 hex characters (container and boot ids). */
  hexId(): string;
}

// apimachinery's util/rand alphabet: no vowels (no words), no 0/1/3 (look like letters).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export const systemMint: Mint = {
  uid: () => randomUUID(),
  now: () => new Date(),
  suffix: () => Array.from({ length: 5 }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join(''),
  hexId: () => randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', ''),
};

/** RFC 3339 with second precision, as Kubernetes serialises `metav1.Time`. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A short stable hash in the safe alphabet (like a `controller-revision-hash` label value). */
export function shortHash(text: string, length = 10): string {
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += SUFFIX_ALPHABET[digest[i]! % SUFFIX_ALPHABET.length];
  return out;
}
