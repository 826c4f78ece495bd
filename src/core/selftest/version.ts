import type { SelftestVerdict } from './verdict.ts';

/**
 * Which agents' self-test verdict is final without `security-agent status`, from the agent's
 * version (test/fixtures/selftest/SOURCES.md §5 has the sources and what is not verified):
 *
 * - Module-era tester (pkg/security/module/self_tester.go): a failing test makes `RunSelfTest`
 *   return an error, which the CLI prints as `Runtime self test: error: …`. `OK` means every test
 *   passed: status adds nothing to an OK.
 * - Later testers (pkg/security/probe/selftests): `RunSelfTest` returns `success, fails, nil`, or
 *   only triggers the tests (the newest, asynchronous one), so `OK` is printed whatever the tests
 *   did; only the status "Self Tests" block names failures.
 *
 * The module era is known to last past 2022-03-29 (PR #11485's status lists are in its tester);
 * `MODULE_ERA_BEFORE_MINOR` is the first release (7.35, and 6.35 of the Agent 6 line) not known to
 * be in it. Unknown versions (`latest`, a digest, a custom image) are treated as the newest: status is read.
 */
export const MODULE_ERA_BEFORE_MINOR = 35;

export interface AgentVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Image repositories the Datadog agent is published as (gcr.io/datadoghq/agent, datadog/agent, public.ecr.aws/datadog/agent, a mirror's …/agent). */
const AGENT_REPOS = new Set(['agent', 'datadog-agent']);

/**
 * The agent version an image reference names, from its tag: `gcr.io/datadoghq/agent:7.50.3`,
 * `datadog/agent:7.39.1-jmx`, `…/agent:7.50.3@sha256:…`. Undefined for no tag, `latest`, a bare
 * major (`7`, `7-jmx`: moves with every release), a digest alone, or a repository that is not the
 * agent's (its tag is someone else's numbering).
 */
export function agentVersionFromImage(image: string | undefined): AgentVersion | undefined {
  if (!image) return undefined;
  const ref = image.split('@')[0]!;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return undefined; // no tag (a registry port is before the last slash)
  const repo = ref.slice(slash + 1, colon);
  if (!AGENT_REPOS.has(repo)) return undefined;
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-[A-Za-z0-9.-]+)?$/.exec(ref.slice(colon + 1));
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Agent 6 and 7 are released side by side from one code base (6.x.y and 7.x.y share x).
  if (major !== 6 && major !== 7) return undefined;
  return { major, minor, patch };
}

export const formatVersion = (v: AgentVersion) => `${v.major}.${v.minor}.${v.patch}`;

/** Whether that version's tester fails the command on a failing test (the module era). */
export function okIsFinal(v: AgentVersion | undefined): boolean {
  return v !== undefined && v.minor < MODULE_ERA_BEFORE_MINOR;
}

/**
 * Whether to read `security-agent status` after this verdict to name failing tests:
 * never after an `error` (the self-test did not run, status has no news of this run); not after an
 * `OK` from a module-era agent (OK there means every test passed); otherwise yes — a `failed` verdict
 * has no test names on the command line in any version (SOURCES.md §1.5), and a later agent's OK
 * may hide failures.
 */
export function statusNeeded(version: AgentVersion | undefined, verdict: Pick<SelftestVerdict, 'status'>): boolean {
  if (verdict.status === 'error') return false;
  if (verdict.status === 'ok') return !okIsFinal(version);
  return true;
}
