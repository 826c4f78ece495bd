// What the fake `security-agent flare` "uploaded": every attempt it recorded in its uploads
// directory (see ./security-agent), with the bytes that were at the archive's path at send time.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeUpload {
  n: number;
  outcome: 'ok' | 'secret' | 'forbidden' | 'error';
  /** The case id argument, or '' for a new case. */
  caseId: string;
  /** The archive path the agent sent from. */
  path: string;
  bytes: Buffer;
  sha256: string;
}

/** The uploads recorded in `dir` (default: `uploads/` next to the script, i.e. HostAgent.dir). */
export function fakeUploads(agentDir: string, dir = path.join(agentDir, 'uploads')): FakeUpload[] {
  const log = path.join(dir, 'uploads.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [n, outcome, caseId, ...rest] = line.split(' ');
      const file = path.join(dir, `${n}.zip`);
      const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
      return {
        n: Number(n),
        outcome: outcome as FakeUpload['outcome'],
        caseId: caseId === '-' ? '' : caseId!,
        path: rest.join(' '),
        bytes,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    });
}
