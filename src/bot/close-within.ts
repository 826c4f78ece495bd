import type { Logger } from 'pino';

/**
 * Runs a BullMQ close (Queue, QueueEvents, Worker) for at most `withinMs`: BullMQ's close can wait on a
 * connection that is still reconnecting after a Redis restart for longer than a shutdown allows (as the
 * workers' queues can, workers/main.ts). Past that it logs and returns; the process is exiting anyway.
 */
export async function closeWithin(what: string, withinMs: number, close: () => Promise<unknown>, logger: Pick<Logger, 'warn'>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), withinMs)));
  const closing = close().then(
    () => 'closed' as const,
    (err: unknown) => (logger.warn({ err }, `${what} did not close cleanly`), 'closed' as const),
  );
  const first = await Promise.race([closing, late]);
  clearTimeout(timer);
  if (first === 'late') logger.warn(`${what} did not close within ${withinMs} ms (is Redis answering?); not waiting longer`);
}
