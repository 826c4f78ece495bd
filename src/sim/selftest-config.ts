/**
 * What `runtime self-test` can answer given system-probe's configuration (issue 19; sources in
 * test/fixtures/selftest/SOURCES.md §6). The runtime security module runs in system-probe, so its
 * env and system-probe.yaml decide (env over file, as viper reads them); the caller's container
 * only decides where its client dials (`DD_RUNTIME_SECURITY_CONFIG_SOCKET`):
 *
 *   runtime_security_config.enabled and .fim_enabled both false  →  no CWS consumer, nothing
 *       listens on the socket: the client's Unavailable dial error, stderr, exit 255
 *       (cmd/system-probe/modules/eventmonitor.go: `if secconfig.RuntimeSecurity.IsRuntimeEnabled()
 *       { cws, err := secmodule.NewCWSConsumer(…) }`; `IsRuntimeEnabled() = RuntimeEnabled || FIMEnabled`)
 *   runtime_security_config.self_test.enabled false (default true)  →  no self-tester:
 *       `Runtime self test: error: self-tests are disabled`, stdout, exit 0
 *       (pkg/security/module/cws.go `if cfg.SelfTestEnabled { selfTester, err = selftests.NewSelfTester(…) }`;
 *       APIServer.RunSelfTest `if a.selfTester == nil { … Error: "self-tests are disabled" }`)
 *   otherwise  →  the node's `selftest` behaviour from the fleet spec.
 *
 * The agent's own default for `runtime_security_config.enabled` is false; both charts set it for a
 * CWS fleet (the Operator as `DD_RUNTIME_SECURITY_CONFIG_ENABLED=true` on system-probe), and every
 * simulated fleet is one, so a pod that says nothing is taken as enabled.
 */
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RUNTIME_SOCKET, unreachableModuleError } from './exec.ts';
import { goBool, yamlLookup } from './host-net.ts';

const EXIT_CLI_ERROR = 255; // the agents' main does os.Exit(-1) on a command error

export const SELF_TESTS_DISABLED = 'self-tests are disabled';

export type RuntimeModuleState =
  /** The module runs with its self-tester: the node's behaviour answers. */
  | { kind: 'running' }
  /** No CWS consumer in system-probe (runtime and FIM off): nothing listens on the socket. */
  | { kind: 'not-running'; because: string }
  /** The module runs without a self-tester. */
  | { kind: 'self-tests-disabled'; because: string };

/** A fixed answer of the CLI (the simulator writes it as is), or undefined: the node's behaviour answers. */
export interface CliAnswer {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function lookup(env: Readonly<Record<string, string>>, doc: unknown, key: string): { value: boolean; from: string } | undefined {
  const envName = `DD_${key.replace(/\./g, '_').toUpperCase()}`;
  // viper ignores an env var set to the empty string (AllowEmptyEnv is off).
  const e = env[envName];
  if (e !== undefined && e !== '') return { value: goBool(e) ?? false, from: `${envName}=${e}` };
  const f = yamlLookup(doc, key.split('.'));
  if (f !== undefined && f !== null) return { value: goBool(f) ?? false, from: `${key}: ${String(f)} in system-probe.yaml` };
  return undefined;
}

/** The runtime security module's state from system-probe's env and system-probe.yaml. */
export function runtimeModuleState(systemProbeEnv: Readonly<Record<string, string>>, systemProbeYaml: string | undefined): RuntimeModuleState {
  let doc: unknown;
  try {
    doc = systemProbeYaml === undefined ? undefined : (parseYaml(systemProbeYaml) as unknown);
  } catch {
    doc = undefined; // an unreadable file: keep to env and defaults
  }
  const runtime = lookup(systemProbeEnv, doc, 'runtime_security_config.enabled');
  const fim = lookup(systemProbeEnv, doc, 'runtime_security_config.fim_enabled');
  const runtimeOn = runtime?.value ?? true; // the charts' value for a CWS fleet (see above)
  const fimOn = fim?.value ?? false; // the agent's default
  if (!runtimeOn && !fimOn) return { kind: 'not-running', because: runtime!.from };
  const selfTest = lookup(systemProbeEnv, doc, 'runtime_security_config.self_test.enabled');
  if (selfTest && !selfTest.value) return { kind: 'self-tests-disabled', because: selfTest.from };
  return { kind: 'running' };
}

/**
 * What `runtime self-test` prints in a pod whose module is in `state`, when the caller's client
 * dials `socket` (its container's `DD_RUNTIME_SECURITY_CONFIG_SOCKET`, or the default); undefined
 * when the module runs and the node's self-test behaviour answers.
 */
export function runtimeSelftestAnswer(state: RuntimeModuleState, socket: string | undefined): CliAnswer | undefined {
  switch (state.kind) {
    case 'running':
      return undefined;
    case 'not-running':
      return { stdout: '', stderr: unreachableModuleError(socket || DEFAULT_RUNTIME_SOCKET), exitCode: EXIT_CLI_ERROR };
    case 'self-tests-disabled':
      return { stdout: `Runtime self test: error: ${SELF_TESTS_DISABLED}\n`, stderr: '', exitCode: 0 };
  }
}
