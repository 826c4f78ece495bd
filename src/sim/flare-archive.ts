/**
 * The security-agent flare archive: which files, what they hold, and the zip itself (see
 * FLARE-SOURCES.md §3–§5). Pure (the caller passes the time and every fact about the pod).
 *
 * As the agent's flare builder does it: every file lives under `<hostname>/`; configuration and
 * status files go through the scrubber (YAML files re-marshalled, so their comments are gone and
 * their keys sorted); logs are copied as they are; `flare_creation.log` lists the builder's own
 * errors (none here). The zip holds regular files only, stored (not deflated), in
 * filepath.Walk order, with Unix mode 0644 and a UTC modification time.
 */
import { zipSync, type Zippable } from 'fflate';
import { agentNetworkConfig } from './host-net.ts';
import { scrubBytes, scrubForFlare, scrubYaml } from './scrubber.ts';

/** The files of a default flare, relative to `<hostname>/` (what `secretIn` may name). */
export const FLARE_FILE_NAMES = [
  'compliance.d/cis-docker.yaml',
  'dmesg',
  'envvars.log',
  'etc/datadog.yaml',
  'etc/security-agent.yaml',
  'etc/system-probe.yaml',
  'expvar/cmdline',
  'expvar/memstats',
  'expvar/trace-agent',
  'flare_creation.log',
  'kallsyms',
  'logs/security-agent.log',
  'logs/system-probe.log',
  'mountinfo',
  'permissions.log',
  'runtime-security.d/default.policy',
  'security-agent-status.log',
] as const;

/**
 * The files of the core agent's flare (`agent flare` in the agent container; core-flare-archive.ts),
 * relative to `<hostname>/`; some only when the pod has that container (etc/system-probe.yaml,
 * expvar/system-probe, logs/system-probe.log with system-probe; etc/security-agent.yaml,
 * logs/security-agent.log with security-agent), `local` only in a local flare.
 */
export const CORE_FLARE_FILE_NAMES = [
  'config-check.log',
  'diagnose.log',
  'envvars.log',
  'etc/datadog.yaml',
  'etc/security-agent.yaml',
  'etc/system-probe.yaml',
  'expvar/cmdline',
  'expvar/memstats',
  'expvar/system-probe',
  'expvar/trace-agent',
  'flare_creation.log',
  'health.yaml',
  'local',
  'logs/agent.log',
  'logs/security-agent.log',
  'logs/system-probe.log',
  'permissions.log',
  'runtime_config_dump.yaml',
  'secrets.log',
  'status.log',
  'system_probe_runtime_config_dump.yaml',
  'tagger-list.json',
  'version-history.json',
  'workload-list.log',
] as const;

/** What the fleet's `flare.secretIn` may name: a file of either archive (security-agent's first). */
export const ALL_FLARE_FILE_NAMES: readonly string[] = [
  ...FLARE_FILE_NAMES,
  ...CORE_FLARE_FILE_NAMES.filter((n) => !(FLARE_FILE_NAMES as readonly string[]).includes(n)),
];

export const DEFAULT_API_KEY = '4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99';
export const DEFAULT_APP_KEY = '9d8c7b6a5f4e3d2c1b0a99887766554433221100';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'off'];

/** The log level the security-agent runs with (DD_LOG_LEVEL, case-insensitive; info otherwise). */
export function agentLogLevel(env: Readonly<Record<string, string>>): string {
  const v = env.DD_LOG_LEVEL?.trim().toLowerCase();
  return v && LOG_LEVELS.includes(v) ? v : 'info';
}

/**
 * comp/core/flare/helpers getArchiveName, in os.TempDir():
 * `/tmp/datadog-agent-` + time.RFC3339 in UTC with ":" → "-" + `-<log level>` + `.zip`,
 * e.g. /tmp/datadog-agent-2024-05-14T09-12-33Z-info.zip.
 */
export function flareArchivePath(now: Date, logLevel: string): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(':', '-');
  return `/tmp/datadog-agent-${stamp}-${logLevel}.zip`;
}

export interface FlareInput {
  /** The agent's hostname: the node name here. */
  hostname: string;
  now: Date;
  podName: string;
  podUid: string;
  podStartedAt: Date;
  nodeIP: string;
  kernelVersion: string;
  agentVersion: string;
  /** The security-agent container's environment (pod spec), in order. */
  env: Readonly<Record<string, string>>;
  apiKey: string;
  appKey: string;
  /** The mounted system-probe.yaml (the fleet's ConfigMap), if any; a Helm-like default otherwise. */
  systemProbeYaml: string | undefined;
  /** The system-probe container's environment, when the pod has one: its log's deprecation warnings come from it and the file. */
  systemProbeEnv?: Readonly<Record<string, string>> | undefined;
  /** `security-agent status` text at flare time. */
  statusText: string;
  /** A file (relative to `<hostname>/`) that keeps an unscrubbed API key and an app key. */
  secretIn: string | null;
}

export interface FlareFile {
  /** Relative to `<hostname>/`. */
  name: string;
  content: string;
}

/** The agent's log date: `2006-01-02 15:04:05 MST` in UTC. */
export function logDate(d: Date): string {
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
}
export const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

export function datadogYaml(apiKey: string): string {
  return `# Autodiscovery for Kubernetes
listeners:
  - name: kubelet
config_providers:
  - name: kubelet
    polling: true

api_key: ${apiKey}
site: datadoghq.com

# Enable APM by setting the DD_APM_ENABLED envvar to true, or override this configuration
apm_config:
  enabled: false
  apm_non_local_traffic: true

# Use java container support
jmx_use_container_support: true
`;
}

export const DEFAULT_SYSTEM_PROBE_YAML = `system_probe_config:
  enabled: true
  debug_port: 0
  sysprobe_socket: /var/run/sysprobe/sysprobe.sock
  enable_conntrack: true
  bpf_debug: false
  enable_tcp_queue_length: false
  enable_oom_kill: false
  collect_dns_stats: true
  max_tracked_connections: 131072
  conntrack_max_state_size: 131072
  runtime_compiler_output_dir: /var/tmp/datadog-agent/system-probe/build
  kernel_header_download_dir: /var/tmp/datadog-agent/system-probe/kernel-headers
  apt_config_dir: /host/etc/apt
  yum_repos_dir: /host/etc/yum.repos.d
  zypper_repos_dir: /host/etc/zypp/repos.d
network_config:
  enabled: false
service_monitoring_config:
  enabled: false
runtime_security_config:
  enabled: true
  fim_enabled: false
  socket: /var/run/sysprobe/runtime-security.sock
  policies:
    dir: /etc/datadog-agent/runtime-security.d
  syscall_monitor:
    enabled: false
  network:
    enabled: true
  remote_configuration:
    enabled: true
  activity_dump:
    enabled: true
    traced_cgroups_count: 3
    cgroup_dump_timeout: 20
  security_profile:
    enabled: true
`;

export const SECURITY_AGENT_YAML = `runtime_security_config:
  enabled: true
  socket: /var/run/sysprobe/runtime-security.sock
compliance_config:
  enabled: false
  check_interval: 20m
`;

const CIS_DOCKER_YAML = `name: CIS Docker Generic
framework: cis-docker
version: 1.2.0
rules:
- id: cis-docker-1
  scope:
    docker: true
  resources:
  - file:
      path: /etc/docker/daemon.json
      report:
      - property: permissions
        kind: attribute
`;

function defaultPolicy(agentVersion: string): string {
  return `---
# Datadog Workload Protection default policy
version: ${agentVersion}
rules:
  - id: ptrace_antidebug
    version: 1.0.0
    description: Ptrace is used by a process to put itself in an undebuggable state
    expression: >-
      ptrace.request == PTRACE_TRACEME && process.file.name not in ["gdb", "lldb-server"]
    tags:
      technique: T1622
      mitre_tactic: TA0005-defense-evasion
  - id: cws_self_test_rule_open
    description: Self test rule for open
    expression: open.file.path == "/tmp/datadog-agent-cws-self-test"
    silent: true
  - id: kernel_module_loaded
    version: 1.0.0
    description: A new kernel module was loaded
    expression: load_module.name != "" && process.ancestors.file.name not in ["modprobe", "systemd-udevd"]
    tags:
      technique: T1547.006
      mitre_tactic: TA0003-persistence
  - id: passwd_file_modified
    version: 1.0.0
    description: /etc/passwd was modified outside of the package managers
    expression: (open.file.path == "/etc/passwd" && open.flags & (O_RDWR | O_WRONLY) > 0) && process.file.name not in ["useradd", "usermod", "dpkg", "rpm"]
    tags:
      technique: T1098
`;
}

/** The environment variables envvars.log lists: DD_* and the agent's allow-list, never *_KEY or *_AUTH_TOKEN. */
export const ALLOWED_ENV = new Set([
  'DOCKER_API_VERSION',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_HOST',
  'DOCKER_TLS_VERIFY',
  'HOST_ETC',
  'HOST_PROC',
  'HOST_ROOT',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'GOGC',
  'GODEBUG',
  'GOMAXPROCS',
  'GOTRACEBACK',
  'LOG_LEVEL',
]);

function defaultEnv(input: FlareInput): Record<string, string> {
  return {
    DD_KUBERNETES_KUBELET_HOST: input.nodeIP,
    DD_LOG_LEVEL: 'INFO',
    DD_RUNTIME_SECURITY_CONFIG_ENABLED: 'true',
    DD_RUNTIME_SECURITY_CONFIG_POLICIES_DIR: '/etc/datadog-agent/runtime-security.d',
    DD_RUNTIME_SECURITY_CONFIG_SOCKET: '/var/run/sysprobe/runtime-security.sock',
    DD_COMPLIANCE_CONFIG_ENABLED: 'false',
    DD_DOGSTATSD_SOCKET: '/var/run/datadog/dsd.socket',
    HOST_ROOT: '/host/root',
  };
}

/** pkg/flare/common envvars.go: "Found the following envvars:" then " -  NAME=value", no *_KEY / *_AUTH_TOKEN. */
export function envvarsLog(env: Readonly<Record<string, string>>): string {
  const found = Object.entries(env).filter(([k]) => {
    const key = k.toUpperCase();
    if (key.includes('_KEY') || key.includes('_AUTH_TOKEN')) return false;
    return key.startsWith('DD_') || ALLOWED_ENV.has(key);
  });
  if (found.length === 0) return 'Found no allowed envvar\n';
  return `Found the following envvars:\n${found.map(([k, v]) => ` -  ${k}=${v}\n`).join('')}`;
}

function permissionsLog(): string {
  const row = (path: string, mode: string, owner: string, group: string, error: string) =>
    `${path.padEnd(50)} | ${mode.padEnd(5)} | ${owner.padEnd(10)} | ${group.padEnd(10)} | ${error.padEnd(10)}|\n`;
  const header = row('File path', 'mode', 'owner', 'group', 'error');
  const rows: [string, string][] = [
    ['/etc/datadog-agent/datadog.yaml', '-rw-r--r--'],
    ['/var/log/datadog', 'drwxr-xr-x'],
    ['/var/log/datadog/security-agent.log', '-rw-r--r--'],
    ['/var/log/datadog/system-probe.log', '-rw-r--r--'],
    ['/etc/datadog-agent/system-probe.yaml', '-rw-r--r--'],
    ['/etc/datadog-agent/security-agent.yaml', '-rw-r--r--'],
    ['/etc/datadog-agent/compliance.d', 'drwxr-xr-x'],
    ['/etc/datadog-agent/compliance.d/cis-docker.yaml', '-rw-r--r--'],
    ['/etc/datadog-agent/runtime-security.d', 'drwxr-xr-x'],
    ['/etc/datadog-agent/runtime-security.d/default.policy', '-rw-r--r--'],
    ['/proc/kallsyms', '-r--r--r--'],
    ['/proc/1/mountinfo', '-r--r--r--'],
  ];
  return header + '-'.repeat(header.length) + '\n' + rows.map(([p, m]) => row(p, m, 'root', 'root', '')).join('');
}

function securityAgentLog(input: FlareInput): string {
  const s = input.podStartedAt;
  const line = (d: Date, level: string, where: string, msg: string) => `${logDate(d)} | SECURITY | ${level} | (${where}) | ${msg}\n`;
  return [
    line(at(s, 1_200), 'INFO', 'cmd/security-agent/subcommands/start/command.go:274 in RunAgent', `Hostname is: ${input.hostname}`),
    line(at(s, 1_210), 'INFO', 'pkg/api/util/util.go:92 in CreateAndSetAuthToken', 'Saved a new authentication token to /etc/datadog-agent/auth_token'),
    line(
      at(s, 1_350),
      'INFO',
      'comp/forwarder/defaultforwarder/default_forwarder.go:366 in Start',
      'Forwarder started, sending to 1 endpoint(s) with 1 worker(s) each: "https://7-50-3-app.agent.datadoghq.com" (1 api key(s))',
    ),
    line(at(s, 1_420), 'INFO', 'cmd/security-agent/subcommands/start/command.go:330 in RunAgent', 'Datadog runtime security agent is now running.'),
    line(at(s, 1_430), 'INFO', 'pkg/security/agent/agent.go:88 in Start', 'Starting runtime security agent'),
    line(at(s, 2_010), 'INFO', 'pkg/security/agent/agent.go:135 in StartEventListener', 'Successfully connected to the runtime security module'),
    line(at(s, 2_600), 'INFO', 'pkg/security/agent/agent.go:171 in StartEventListener', 'Event stream connected'),
    line(
      at(s, 61_000),
      'INFO',
      'pkg/security/reporter/reporter.go:61 in Start',
      'Successfully posted payload to "https://runtime-security-http-intake.logs.datadoghq.com/api/v2/logs"',
    ),
    line(input.now, 'INFO', 'cmd/security-agent/api/agent/agent.go:104 in makeFlare', 'Making a flare'),
  ].join('');
}

export function systemProbeLog(input: FlareInput): string {
  const s = input.podStartedAt;
  const line = (d: Date, level: string, where: string, msg: string) => `${logDate(d)} | SYS-PROBE | ${level} | (${where}) | ${msg}\n`;
  return [
    line(
      at(s, 900),
      'INFO',
      'cmd/system-probe/subcommands/run/command.go:215 in startSystemProbe',
      `system probe not enabled for network or service monitoring; starting runtime security module`,
    ),
    line(
      at(s, 1_100),
      'INFO',
      'pkg/ebpf/bytecode/runtime/runtime_compilation_helpers.go:80 in compileToObjectFile',
      'compiling runtime version of runtime-security',
    ),
    // What system-probe logs for each deprecated runtime_security_config.network.* key it applies
    // (pkg/security/probe/config/config.go getBool/getInt: log.Warnf; the line numbers are illustrative).
    ...agentNetworkConfig(input.systemProbeEnv ?? {}, input.systemProbeYaml, input.agentVersion).warnings.map((w) =>
      line(at(s, 1_400), 'WARN', `pkg/security/probe/config/config.go:${w.includes('.enabled ') ? '561 in getBool' : '570 in getInt'}`, w),
    ),
    line(at(s, 1_500), 'INFO', 'pkg/security/probe/probe_ebpf.go:412 in Init', `kernel version: ${input.kernelVersion}`),
    line(at(s, 1_700), 'INFO', 'pkg/security/module/server.go:470 in Start', 'runtime security module started'),
    line(at(s, 1_900), 'INFO', 'pkg/security/rules/engine.go:212 in LoadPolicies', 'Loading policies from /etc/datadog-agent/runtime-security.d'),
    line(at(s, 2_050), 'INFO', 'pkg/security/probe/selftests/tester.go:217 in RunSelfTest', 'self-test completed: 3 succeeded, 0 failed'),
  ].join('');
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), as yaml.v2 writes a float64. */
export function goFloat(n: number): string {
  if (n === 0) return '0';
  const [mant, e] = n.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

export function memstats(input: FlareInput): string {
  const up = Math.max(1, Math.floor((input.now.getTime() - input.podStartedAt.getTime()) / 1000));
  // yaml.v2 of a JSON-decoded map: sorted keys, every number a float64 (%g), booleans as they are.
  const stats: [string, number | boolean][] = [
    ['Alloc', 23_471_096],
    ['BuckHashSys', 1_764_437],
    ['DebugGC', false],
    ['EnableGC', true],
    ['Frees', 2_318_442 + up * 41],
    ['GCCPUFraction', 0.00012436520811095163],
    ['GCSys', 7_064_696],
    ['HeapAlloc', 23_471_096],
    ['HeapIdle', 13_049_856],
    ['HeapInuse', 27_689_984],
    ['HeapObjects', 142_187],
    ['HeapReleased', 8_314_880],
    ['HeapSys', 40_739_840],
    ['LastGC', (input.now.getTime() - 12_000) * 1e6],
    ['Lookups', 0],
    ['MCacheInuse', 4800],
    ['MCacheSys', 15_600],
    ['MSpanInuse', 412_160],
    ['MSpanSys', 505_920],
    ['Mallocs', 2_460_629 + up * 43],
    ['NextGC', 37_428_392],
    ['NumForcedGC', 0],
    ['NumGC', Math.floor(up / 90) + 12],
    ['OtherSys', 1_235_843],
    ['PauseTotalNs', 4_817_219],
    ['StackInuse', 2_031_616],
    ['StackSys', 2_031_616],
    ['Sys', 54_334_488],
    ['TotalAlloc', 413_826_752 + up * 2048],
  ];
  return stats.map(([k, v]) => `${k}: ${typeof v === 'boolean' ? String(v) : goFloat(v)}\n`).join('');
}

export function mountinfo(input: FlareInput): string {
  const snap = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';
  const pod = `/var/lib/kubelet/pods/${input.podUid}`;
  return [
    `2301 2186 0:402 / / rw,relatime master:1024 - overlay overlay rw,lowerdir=${snap}/2741/fs:${snap}/2740/fs:${snap}/2739/fs,upperdir=${snap}/2748/fs,workdir=${snap}/2748/work`,
    '2302 2301 0:404 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
    '2303 2301 0:405 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
    '2304 2303 0:406 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666',
    '2305 2303 0:370 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw',
    '2306 2301 0:378 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro',
    '2307 2306 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot',
    `2308 2301 259:1 ${pod}/volumes/kubernetes.io~empty-dir/logdatadog /var/log/datadog rw,relatime - ext4 /dev/root rw,discard`,
    `2309 2301 259:1 ${pod}/volumes/kubernetes.io~empty-dir/config /etc/datadog-agent rw,relatime - ext4 /dev/root rw,discard`,
    `2310 2301 0:371 / /var/run/sysprobe rw,relatime - tmpfs tmpfs rw,size=7901620k`,
    `2311 2301 259:1 ${pod}/etc-hosts /etc/hosts rw,relatime - ext4 /dev/root rw,discard`,
    `2312 2301 259:1 ${pod}/containers/security-agent/4d1c2a9e /dev/termination-log rw,relatime - ext4 /dev/root rw,discard`,
    '2313 2303 0:369 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k',
    '2314 2301 0:372 / /var/run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw,size=7901620k',
    '2315 2301 0:22 / /host/proc ro,nosuid,nodev,noexec,relatime - proc proc rw',
    '2316 2301 0:30 / /host/sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot',
    '',
  ].join('\n');
}

export function dmesg(input: FlareInput): string {
  return [
    `[    0.000000] Linux version ${input.kernelVersion} (buildd@lcy02-amd64-034) (x86_64-linux-gnu-gcc-11 (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #73~20.04.1-Ubuntu SMP`,
    '[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=5e2e4b23-01 ro console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295',
    '[    0.004000] DMI: Amazon EC2 m5.xlarge/, BIOS 1.0 10/16/2017',
    '[    0.412833] clocksource: Switched to clocksource tsc',
    '[    1.733120] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.',
    '[    5.108255] IPVS: Registered protocols (TCP, UDP, SCTP, AH, ESP)',
    '[   12.990114] eth0: renamed from tmp8c1b0',
    '[   64.220981] bpf: Lockdown: systemd unrestricted; use of bpf_probe_write_user is forbidden',
    '[   71.551232] systemd-journald[341]: Received client request to flush runtime journal.',
    '',
  ].join('\n');
}

function kallsyms(): string {
  const syms = [
    'T startup_64',
    'T secondary_startup_64',
    'T _stext',
    'T do_sys_openat2',
    'T vfs_open',
    'T security_file_open',
    'T do_unlinkat',
    'T vfs_rename',
    'T __x64_sys_execve',
    'T do_exit',
    'T security_bprm_check',
    'T security_sb_mount',
    'T tcp_connect',
    'T inet_bind',
    'T __sys_bind',
    'T kernel_clone',
    'T chmod_common',
    'T chown_common',
    'T commit_creds',
    'T ptrace_attach',
  ];
  return syms.map((s) => `0000000000000000 ${s}\n`).join('');
}

/** The flare's files in archive order, after scrubbing, with `secretIn` left unscrubbed. */
export function flareFiles(input: FlareInput): FlareFile[] {
  const files: FlareFile[] = [
    { name: 'security-agent-status.log', content: scrubBytes(input.statusText) },
    // GetDefaultLogFiles: the log directory is copied without scrubbing.
    { name: 'logs/security-agent.log', content: securityAgentLog(input) },
    { name: 'logs/system-probe.log', content: systemProbeLog(input) },
    { name: 'etc/datadog.yaml', content: scrubYaml(datadogYaml(input.apiKey)) },
    { name: 'etc/system-probe.yaml', content: scrubYaml(input.systemProbeYaml ?? DEFAULT_SYSTEM_PROBE_YAML) },
    { name: 'etc/security-agent.yaml', content: scrubYaml(SECURITY_AGENT_YAML) },
    { name: 'compliance.d/cis-docker.yaml', content: scrubForFlare('cis-docker.yaml', CIS_DOCKER_YAML) },
    { name: 'runtime-security.d/default.policy', content: scrubForFlare('default.policy', defaultPolicy(input.agentVersion)) },
    // GetExpVar: yaml.v2 of each expvar decoded into a map ("cmdline" is a JSON array, so it stays empty).
    { name: 'expvar/cmdline', content: scrubBytes('{}\n') },
    { name: 'expvar/memstats', content: scrubBytes(memstats(input)) },
    {
      name: 'expvar/trace-agent',
      content: scrubBytes('Error retrieving vars: Get "https://127.0.0.1:5012/debug/vars": dial tcp 127.0.0.1:5012: connect: connection refused'),
    },
    { name: 'envvars.log', content: scrubBytes(envvarsLog({ ...defaultEnv(input), ...input.env })) },
    { name: 'kallsyms', content: scrubBytes(kallsyms()) },
    { name: 'mountinfo', content: scrubBytes(mountinfo(input)) },
    { name: 'dmesg', content: scrubBytes(dmesg(input)) },
    { name: 'permissions.log', content: scrubBytes(permissionsLog()) },
    { name: 'flare_creation.log', content: '' },
  ];
  if (input.secretIn !== null) {
    const f = files.find((x) => x.name === input.secretIn);
    if (f) f.content = withSecret(f.name, f.content, input.apiKey, input.appKey);
  }
  return files.sort((a, b) => walkOrder(a.name, b.name));
}

/** A scrubber miss: the raw API key and an app key in the file. */
export function withSecret(name: string, content: string, apiKey: string, appKey: string): string {
  const sep = content === '' || content.endsWith('\n') ? '' : '\n';
  if (name.includes('.yaml')) {
    const raw = `api_key: ${apiKey}`;
    const replaced = /^api_key:.*$/m.test(content) ? content.replace(/^api_key:.*$/m, raw) : `${raw}\n${content}`;
    return `${replaced}${replaced.endsWith('\n') ? '' : '\n'}# DD_APP_KEY=${appKey}\n`;
  }
  return `${content}${sep}api_key: ${apiKey}\nDD_APP_KEY=${appKey}\n`;
}

/** filepath.Walk order: lexical by path element, so `etc/x` comes before `etc.d`. */
export function walkOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** A Date whose local-time fields read as `d` in UTC (fflate writes DOS times from local fields; the agent's TZ is UTC). */
function utcFields(d: Date): Date {
  return new Date(d.getTime() + d.getTimezoneOffset() * 60_000);
}

/** archive.Zip of `<hostname>/…`: regular files only, Store, Unix 0644, DOS time + extended timestamp. */
export function zipFlare(hostname: string, files: readonly FlareFile[], mtime: Date): Uint8Array {
  const unix = Math.floor(mtime.getTime() / 1000);
  const ext = new Uint8Array([1, unix & 0xff, (unix >>> 8) & 0xff, (unix >>> 16) & 0xff, (unix >>> 24) & 0xff]);
  const input: Zippable = {};
  const enc = new TextEncoder();
  for (const f of files) {
    input[`${hostname}/${f.name}`] = [enc.encode(f.content), { level: 0, mtime: utcFields(mtime), os: 3, attrs: 0o100644 * 0x10000, extra: { 0x5455: ext } }];
  }
  return zipSync(input);
}
