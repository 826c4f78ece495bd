import type { FailureCode } from '../../src/core/results.ts';

/** Named errors that callers can tell apart (see STYLE.md), each with its failure code. Messages say what failed and where. */
export class TargetError extends Error {
  /** Transient errors are worth another attempt (BullMQ retries the job; a self-test batch retries that agent alone); others are final. */
  readonly transient: boolean = false;
  readonly code: FailureCode = 'exec_failed';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class AgentUnreachableError extends TargetError {
  override name = 'AgentUnreachableError';
  override readonly code = 'agent_unreachable';
  override readonly transient = true;
}

export class AgentNotFoundError extends TargetError {
  override name = 'AgentNotFoundError';
  override readonly code = 'agent_not_found';
}

export class ExecTimeoutError extends TargetError {
  override name = 'ExecTimeoutError';
  override readonly code = 'exec_timeout';
  constructor(
    readonly timeoutMs: number,
    where: string,
    /** What the command had printed when it was given up (where the driver keeps it). */
    readonly partial?: { stdout: string; stderr: string },
  ) {
    super(`exec timed out after ${formatSeconds(timeoutMs)} on ${where}`);
  }
}

export class ExecFailedError extends TargetError {
  override name = 'ExecFailedError';
  override readonly code = 'exec_failed';
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`;
}
