/**
 * The grammar's rules for values (src/commands/grammar.ts), restated for the property suite: the
 * properties check what the code returns and passes on against these, not against the code that
 * applies them.
 */
export { CLUSTER_NAME_RE } from '../../src/config/clusters.ts';
export const NODE_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const CASE_ID_RE = /^[0-9]{1,12}$/;
/** A plain address that the flare job's schema (zod's email) takes too, and that starts with no "-". */
export const EMAIL_RE = /^[A-Za-z0-9_+][A-Za-z0-9_+-]*(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9-]*)*\.[A-Za-z]{2,}$/;
/** Nothing a shell, a flag parser or a query string could read as more than one value. */
export const UNSAFE = /[\s"'`;|&$<>\\]/u;
