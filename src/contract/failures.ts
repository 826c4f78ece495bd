import { FAILURE_CODES, type FailureCode, JobFailure } from '../core/results.ts';

export { FAILURE_CODES, type FailureCode };

/** A failed job's reason: the worker's JSON JobFailure, or plain text from elsewhere. */
export function parseFailure(reason: string | undefined): JobFailure {
  if (reason) {
    try {
      const raw = JSON.parse(reason) as { code?: unknown };
      const p = JobFailure.safeParse(raw);
      if (p.success) return p.data;
      // A code this bot does not know (a newer worker): shown, under the catch-all code.
      const loose = JobFailure.safeParse({ ...raw, code: 'error' });
      if (loose.success) return loose.data;
    } catch {
      /* plain text reason */
    }
  }
  return { code: 'error', message: reason || 'the job failed without a reason', hint: 'Check the worker logs, then re-run.' };
}
