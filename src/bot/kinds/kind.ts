import type { Logger } from 'pino';
import type { JobFailure } from '../../core/results.ts';
import type { ChatMessage } from '../../core/slack/message.ts';
import type { Notifier } from '../notifier.ts';
import type { JobRecord } from '../state/records.ts';
import type { JobTracker } from '../state/tracker.ts';

/** How a finished job is shown: its final message, the audit outcome, and what else goes where. */
export interface FinalRendering {
  message: ChatMessage;
  outcome: 'ok' | 'failed' | 'error';
  /**
   * The one reply in the result's thread with what a large result cannot show (per-node lists of
   * large fleets); a later result in the same thread edits it instead of adding another.
   */
  thread?: ChatMessage;
  /** Told to the requester alone: nothing was posted in the channel. */
  privately?: boolean;
  /** The verdict in one line of plain text, for the incident channel (default: the message's text). */
  verdict?: string;
  /** Two-person approval: who approved the change. */
  approvedBy?: string;
}

/** What a finished job hands its kind: the failure, or the worker's return value (unchecked). */
export type Outcome = { failure: JobFailure } | { value: unknown };

/** What a kind may use while it shows a job. */
export interface KindDeps {
  tracker: JobTracker;
  notifier: Notifier;
  logger: Logger;
  /** The cluster's incident channel, where changes are announced. */
  incidentChannel?: (cluster: string) => string | undefined;
}

/**
 * One kind of job, on the bot's side: what it shows while it runs and when it ends. Each kind is
 * one file of this folder; `index.ts` is the table JobUpdates reads (it switches on nothing).
 */
export interface JobKind {
  /** The message shown while it runs, when it must be (re-)created from the record; none: answered privately. */
  start(record: JobRecord): ChatMessage | undefined;
  /** A progress update as a message; undefined: not shown. `opens`: a deferred message may be created with it. */
  progress?(record: JobRecord, data: unknown): { message: ChatMessage; urgent?: boolean; opens?: boolean } | undefined;
  /** The final rendering; undefined when the kind answered another way (e.g. a private picker). */
  final(record: JobRecord, outcome: Outcome, d: KindDeps): Promise<FinalRendering | undefined>;
}

/** A result this bot cannot read. */
export const UNREADABLE: JobFailure = {
  code: 'bad_result',
  message: 'the worker returned a result this bot cannot read',
  hint: 'Check that bot and workers run the same version.',
};

/** Where a result Slack refused to show can still be read. */
export const howToGet = (jobId: string) => `The full result is in the job record: \`/cws status ${jobId}\`.`;
