/** Named errors that callers can tell apart (see STYLE.md). Messages say what failed and where. */
export class TargetError extends Error {
  /** Transient errors are worth another attempt (BullMQ retries the job); others are final. */
  readonly transient: boolean = false;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class AgentUnreachableError extends TargetError {
  override name = 'AgentUnreachableError';
  override readonly transient = true;
}

export class AgentNotFoundError extends TargetError {
  override name = 'AgentNotFoundError';
}

export class ExecTimeoutError extends TargetError {
  override name = 'ExecTimeoutError';
  constructor(
    readonly timeoutMs: number,
    where: string,
  ) {
    super(`exec timed out after ${formatSeconds(timeoutMs)} on ${where}`);
  }
}

export class ExecFailedError extends TargetError {
  override name = 'ExecFailedError';
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`;
}
