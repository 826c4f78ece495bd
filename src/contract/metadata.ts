/**
 * The message metadata payloads of the results (the contract with other tools): schemas and
 * builders live with the core that renders the results; this is the contract's view of them.
 */
export * from '../core/metadata.ts';
