import { JobFailure } from './jobs.ts';

/** A failed job's reason: the worker's JSON JobFailure, or plain text from elsewhere. */
export function parseFailure(reason: string | undefined): JobFailure {
  if (reason) {
    try {
      const p = JobFailure.safeParse(JSON.parse(reason));
      if (p.success) return p.data;
    } catch {
      /* plain text reason */
    }
  }
  return { code: 'error', message: reason || 'the job failed without a reason', hint: 'Check the worker logs, then re-run.' };
}
