/**
 * The core agent's flare archive (`agent flare`, built by the running agent in the agent
 * container; src/sim/FLARE-SOURCES.md §8): which files, what they hold. Pure (the caller passes
 * the time and every fact about the pod). The zip, the path, the scrubbing and the walk order are
 * the security-agent flare's (flare-archive.ts): the same builder (comp/core/flare/helpers) makes
 * both.
 *
 * The file names are the agent's (pkg/flare/archive.go CompleteFlare, the flare component's
 * logs/, etc/, permissions.log, flare_creation.log); the contents are short stand-ins shaped like
 * the real ones (a real core flare holds many more files: every expvar, check configs under
 * etc/confd/, process-agent and remote-config dumps, telemetry, go-routine dumps).
 */
import { scrubBytes, scrubYaml } from './scrubber.ts';
import {
  envvarsLog,
  at,
  DEFAULT_SYSTEM_PROBE_YAML,
  datadogYaml,
  type FlareFile,
  goFloat,
  logDate,
  memstats,
  SECURITY_AGENT_YAML,
  systemProbeLog,
  walkOrder,
  withSecret,
} from './flare-archive.ts';

export interface CoreFlareInput {
  /** The agent's hostname: the node name here. */
  hostname: string;
  now: Date;
  podStartedAt: Date;
  nodeIP: string;
  kernelVersion: string;
  agentVersion: string;
  /** The agent container's environment (pod spec), in order. */
  env: Readonly<Record<string, string>>;
  /** system-probe's environment, when the pod has that container. */
  systemProbeEnv: Readonly<Record<string, string>> | undefined;
  /** The pod's container names. */
  containers: readonly string[];
  apiKey: string;
  appKey: string;
  systemProbeYaml: string | undefined;
  /** `agent status` text at flare time (ignored by a local flare). */
  statusText: string;
  /** `--local`: built by the command itself, without the running agent's status. */
  local: boolean;
  secretIn: string | null;
}

function defaultEnv(input: CoreFlareInput): Record<string, string> {
  return {
    DD_KUBERNETES_KUBELET_HOST: input.nodeIP,
    DD_LOG_LEVEL: 'INFO',
    DD_HEALTH_PORT: '5555',
    DD_DOGSTATSD_SOCKET: '/var/run/datadog/dsd.socket',
    DD_APM_ENABLED: 'false',
    DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED: 'false',
    DD_LOGS_ENABLED: 'false',
    DD_SYSTEM_PROBE_ENABLED: input.containers.includes('system-probe') ? 'true' : 'false',
  };
}

/** `agent configcheck` (PrintConfig): one block per scheduled check instance. */
function configCheck(): string {
  const block = (check: string, id: string) =>
    `=== ${check} check ===\nConfiguration provider: file\nConfiguration source: file:/etc/datadog-agent/conf.d/${check}.d/conf.yaml.default\nConfig for instance ID: ${check}:${id}\n{}\n~\n===\n`;
  return [block('cpu', '5b9ee2c1f1e2c3b2'), block('disk', '8c0a7e2a3f1d6b4e'), block('memory', '1f6a2d4c8b3e5a7d'), block('network', '9e4b2c7a1d3f5e6b')].join(
    '\n',
  );
}

function diagnoseLog(): string {
  return [
    '=== Starting diagnose ===',
    '',
    '==============',
    'Suite: connectivity-datadog-core-endpoints',
    '1. PASS ',
    '  Diagnosis: Connectivity to https://app.datadoghq.com is Ok',
    '',
    '-------------------------',
    '  Total:1, Success:1',
    '',
  ].join('\n');
}

function agentLog(input: CoreFlareInput): string {
  const s = input.podStartedAt;
  const line = (d: Date, level: string, where: string, msg: string) => `${logDate(d)} | CORE | ${level} | (${where}) | ${msg}\n`;
  return [
    line(at(s, 800), 'INFO', 'comp/core/log/logimpl/logger.go:82 in NewLogger', 'Starting Datadog Agent v' + input.agentVersion),
    line(at(s, 900), 'INFO', 'pkg/util/hostname/providers.go:127 in GetWithProvider', `Hostname is: ${input.hostname}`),
    line(
      at(s, 1_300),
      'INFO',
      'comp/forwarder/defaultforwarder/default_forwarder.go:366 in Start',
      'Forwarder started, sending to 1 endpoint(s) with 1 worker(s) each: "https://' +
        input.agentVersion.replace(/^(\d+)\.(\d+)\.(\d+).*$/, '$1-$2-$3') +
        '-app.agent.datadoghq.com" (1 api key(s))',
    ),
    line(at(s, 2_000), 'INFO', 'pkg/collector/scheduler.go:128 in Enter', 'Scheduling check cpu with an interval of 15s'),
    line(at(s, 62_000), 'INFO', 'pkg/serializer/serializer.go:409 in sendMetadata', 'Sent host metadata payload, size (raw/compressed): 1843/812 bytes.'),
    line(input.now, 'INFO', 'comp/core/flare/flare.go:132 in createAndReturnFlarePath', 'Making a flare'),
  ].join('');
}

function securityAgentLog(input: CoreFlareInput): string {
  const s = input.podStartedAt;
  const line = (d: Date, level: string, where: string, msg: string) => `${logDate(d)} | SECURITY | ${level} | (${where}) | ${msg}\n`;
  const direct = input.systemProbeEnv?.DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE === 'true';
  return [
    line(at(s, 1_200), 'INFO', 'cmd/security-agent/subcommands/start/command.go:274 in RunAgent', `Hostname is: ${input.hostname}`),
    // pkg/security/agent/start.go StartRuntimeSecurity
    line(
      at(s, 1_420),
      'INFO',
      'pkg/security/agent/start.go:27 in StartRuntimeSecurity',
      direct ? 'Datadog runtime security agent disabled by config' : 'Datadog runtime security agent is now running',
    ),
  ].join('');
}

function healthYaml(input: CoreFlareInput): string {
  // yaml.v2 of health.Status{Healthy, Unhealthy []string}, sorted.
  const healthy = ['aggregator', 'collector-queue', 'dogstatsd-main', 'forwarder', 'healthcheck', 'metadata-agent_checks', 'metadata-host', 'tagger-store'];
  if (input.local) return 'healthy: []\nunhealthy: []\n';
  return `healthy:\n${healthy.map((h) => `- ${h}\n`).join('')}unhealthy: []\n`;
}

function runtimeConfigDump(input: CoreFlareInput): string {
  return `api_key: ${input.apiKey}
cmd_port: 5001
expvar_port: "5000"
health_port: 5555
hostname: ""
log_level: ${(input.env.DD_LOG_LEVEL ?? 'info').toLowerCase()}
runtime_security_config:
  enabled: ${input.env.DD_RUNTIME_SECURITY_CONFIG_ENABLED === 'true'}
  socket: ${input.env.DD_RUNTIME_SECURITY_CONFIG_SOCKET ?? '/opt/datadog-agent/run/runtime-security.sock'}
site: datadoghq.com
`;
}

function systemProbeRuntimeConfigDump(input: CoreFlareInput): string {
  const sp = input.systemProbeEnv ?? {};
  return `runtime_security_config:
  direct_send_from_system_probe: ${sp.DD_RUNTIME_SECURITY_CONFIG_DIRECT_SEND_FROM_SYSTEM_PROBE === 'true'}
  enabled: ${input.systemProbeEnv !== undefined}
  self_test:
    enabled: true
    send_report: true
  socket: ${sp.DD_RUNTIME_SECURITY_CONFIG_SOCKET ?? '/opt/datadog-agent/run/runtime-security.sock'}
system_probe_config:
  enabled: ${input.systemProbeEnv !== undefined}
  sysprobe_socket: /var/run/sysprobe/sysprobe.sock
`;
}

function systemProbeStats(input: CoreFlareInput): string {
  const up = Math.max(1, Math.floor((input.now.getTime() - input.podStartedAt.getTime()) / 1000));
  // yaml.v2 of the stats JSON decoded into a map: numbers are float64 (%g).
  return `updated_at: ${goFloat(Math.floor(input.now.getTime() / 1000))}\nuptime: ${up}s\n`;
}

function permissionsLog(input: CoreFlareInput): string {
  const row = (path: string, mode: string, owner: string, group: string, error: string) =>
    `${path.padEnd(50)} | ${mode.padEnd(5)} | ${owner.padEnd(10)} | ${group.padEnd(10)} | ${error.padEnd(10)}|\n`;
  const header = row('File path', 'mode', 'owner', 'group', 'error');
  const rows: [string, string][] = [
    ['/etc/datadog-agent/auth_token', '-rw-------'],
    ['/etc/datadog-agent/datadog.yaml', '-rw-r--r--'],
    ['/var/log/datadog', 'drwxr-xr-x'],
    ['/var/log/datadog/agent.log', '-rw-r--r--'],
    ...(input.containers.includes('system-probe')
      ? ([
          ['/etc/datadog-agent/system-probe.yaml', '-rw-r--r--'],
          ['/var/log/datadog/system-probe.log', '-rw-r--r--'],
        ] as [string, string][])
      : []),
  ];
  return header + '-'.repeat(header.length) + '\n' + rows.map(([p, m]) => row(p, m, 'root', 'root', '')).join('');
}

function taggerList(input: CoreFlareInput): string {
  return `{\n\t"entities": {\n\t\t"kubernetes_pod_uid://${input.hostname}": {\n\t\t\t"tags": {\n\t\t\t\t"kubelet": [\n\t\t\t\t\t"kube_node:${input.hostname}"\n\t\t\t\t]\n\t\t\t}\n\t\t}\n\t}\n}`;
}

function workloadList(input: CoreFlareInput): string {
  return `=== Entity kubernetes_pod sources(merged):[kubelet] id: ${input.hostname} ===\n----------- Entity ID -----------\nKind: kubernetes_pod ID: ${input.hostname}\n===\n`;
}

function versionHistory(input: CoreFlareInput): string {
  return `{"entries":[{"version":"${input.agentVersion}","timestamp":"${new Date(input.podStartedAt.getTime()).toISOString()}","install_method":{"tool":"docker","tool_version":"docker","installer_version":"docker"}}]}`;
}

/** The core agent flare's files in archive order, after scrubbing, with `secretIn` left unscrubbed. */
export function coreFlareFiles(input: CoreFlareInput): FlareFile[] {
  const has = (c: string) => input.containers.includes(c);
  const files: FlareFile[] = [];
  const add = (name: string, content: string) => files.push({ name, content });
  if (input.local) {
    // CompleteFlare, local: the agent could not be asked; these two say so, and `local` marks the archive.
    add('local', '');
    add('status.log', scrubBytes('unable to get the status of the agent, is it running?'));
    add('config-check.log', scrubBytes('unable to get loaded checks config, is the agent running?'));
  } else {
    add('status.log', scrubBytes(input.statusText));
    add('config-check.log', scrubBytes(configCheck()));
    add('tagger-list.json', scrubBytes(taggerList(input)));
    add('workload-list.log', scrubBytes(workloadList(input)));
  }
  // The flare component: logs (not scrubbed), the configuration files, permissions, its own errors.
  add('logs/agent.log', agentLog(input));
  if (has('system-probe'))
    add(
      'logs/system-probe.log',
      systemProbeLog({
        ...input,
        podName: '',
        podUid: '',
        env: input.systemProbeEnv ?? {},
        systemProbeEnv: input.systemProbeEnv,
        systemProbeYaml: input.systemProbeYaml,
        secretIn: null,
      }),
    );
  if (has('security-agent')) add('logs/security-agent.log', securityAgentLog(input));
  add('etc/datadog.yaml', scrubYaml(datadogYaml(input.apiKey)));
  if (has('system-probe')) add('etc/system-probe.yaml', scrubYaml(input.systemProbeYaml ?? DEFAULT_SYSTEM_PROBE_YAML));
  if (has('security-agent')) add('etc/security-agent.yaml', scrubYaml(SECURITY_AGENT_YAML));
  if (has('system-probe')) add('expvar/system-probe', scrubBytes(systemProbeStats(input)));
  add('runtime_config_dump.yaml', scrubYaml(runtimeConfigDump(input)));
  add('system_probe_runtime_config_dump.yaml', scrubYaml(systemProbeRuntimeConfigDump(input)));
  add('diagnose.log', scrubBytes(diagnoseLog()));
  add('secrets.log', scrubBytes('No secret_backend_command set: secrets feature is not enabled\n'));
  add('envvars.log', scrubBytes(envvarsLog({ ...defaultEnv(input), ...input.env })));
  add('health.yaml', scrubYaml(healthYaml(input)));
  add('version-history.json', scrubBytes(versionHistory(input)));
  add('expvar/cmdline', scrubBytes('{}\n'));
  add('expvar/memstats', scrubBytes(memstats({ ...input, podName: '', podUid: '', systemProbeYaml: undefined, secretIn: null })));
  add('expvar/trace-agent', scrubBytes('Error retrieving vars: Get "http://127.0.0.1:5012/debug/vars": dial tcp 127.0.0.1:5012: connect: connection refused'));
  add('permissions.log', scrubBytes(permissionsLog(input)));
  add('flare_creation.log', '');
  if (input.secretIn !== null) {
    const f = files.find((x) => x.name === input.secretIn);
    if (f) f.content = withSecret(f.name, f.content, input.apiKey, input.appKey);
  }
  return files.sort((a, b) => walkOrder(a.name, b.name));
}
