// Flare archives for the fake `security-agent flare` (see ./security-agent).
//
// busybox has `unzip` but no `zip`, so the two archives the fake hands out are built here, in
// Node, at fixture-build time: a scrubbed one ("clean") and one whose etc/datadog.yaml still
// holds a raw API key ("secret"). They are real zip files (deflate, like the agent's
// pkg/util/archive.Zip), with the layout of a security-agent flare: everything under
// `<hostname>/`.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

/** Top folder of the fake archives (the real agent uses the host name). */
export const FLARE_HOSTNAME = 'fake-host';
/** The raw key left in `<host>/etc/datadog.yaml` by the `secret` flare mode. */
export const FLARE_SECRET_API_KEY = '4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99';
/** What the agent's scrubber leaves of an API key. */
export const FLARE_SCRUBBED_API_KEY = '***************************abcde';
/** Where the image keeps the archives; the script also looks in `fixtures/` next to itself. */
export const FLARE_FIXTURE_IMAGE_DIR = '/opt/datadog-agent/embedded/share/fake-flare';
/** File names, inside a fixture dir, of the two archives. */
export const FLARE_FIXTURE_FILES = { clean: 'flare-clean.zip', secret: 'flare-secret.zip' } as const;
/** The core agent's archives (`agent flare`, the same script run as `agent`): src/sim/FLARE-SOURCES.md §8 and §9. */
export const CORE_FLARE_FIXTURE_FILES = { clean: 'core-flare-clean.zip', secret: 'core-flare-secret.zip' } as const;

export type FlareVariant = keyof typeof FLARE_FIXTURE_FILES;

/** Files of the archive, relative to `<hostname>/`. */
export const FLARE_FILES = [
  'security-agent-status.log',
  'logs/security-agent.log',
  'logs/system-probe.log',
  'etc/datadog.yaml',
  'etc/system-probe.yaml',
  'etc/security-agent.yaml',
  'runtime-security.d/default.policy',
  'expvar/security-agent',
  'envvars.log',
  'permissions.log',
  'flare_creation.log',
  'mountinfo',
  'dmesg',
] as const;

function stamp(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

function datadogYaml(variant: FlareVariant): string {
  const key = variant === 'secret' ? FLARE_SECRET_API_KEY : `"${FLARE_SCRUBBED_API_KEY}"`;
  return [
    `api_key: ${key}`,
    'site: datadoghq.com',
    `hostname: ${FLARE_HOSTNAME}`,
    'log_level: info',
    'logs_enabled: false',
    'cmd_port: 5001',
    'security_agent:',
    '  cmd_port: 5010',
    '  log_file: /var/log/datadog/security-agent.log',
    'tags:',
    '  - env:test',
    '  - team:cws',
    '',
  ].join('\n');
}

/** The text files of a flare, keyed by their path under `<hostname>/`. */
export function flareContents(variant: FlareVariant, now = new Date()): Map<string, string> {
  const t = (secondsAgo: number) => stamp(new Date(now.getTime() - secondsAgo * 1000));
  const files = new Map<string, string>();
  files.set(
    'security-agent-status.log',
    [
      '==============================',
      'Datadog Security Agent (v7.50.3)',
      '==============================',
      '',
      `  Status date: ${t(1)}`,
      `  Agent start: ${t(3600)}`,
      '  Pid: 4242',
      '  Go Version: go1.20.11',
      '  Build arch: amd64',
      '  Agent flavor: security_agent',
      '  Log Level: info',
      '',
      '  Paths',
      '  =====',
      '    Config File: /etc/datadog-agent/datadog.yaml',
      '    conf.d: /etc/datadog-agent/conf.d',
      '',
      'Runtime Security',
      '================',
      '',
      '  Connected: true',
      '  Events received: 1520',
      '',
      '  Self Tests',
      '  ==========',
      '',
      `    Last execution: ${t(600)}`,
      '',
      '    Succeeded:',
      '      - datadog_agent_cws_self_test_rule_open',
      '      - datadog_agent_cws_self_test_rule_chmod',
      '      - datadog_agent_cws_self_test_rule_chown',
      '',
      '    Failed: none',
      '',
      '  Policies',
      '  ========',
      '',
      '    default.policy  source: file  version: 7.50.3  status: loaded',
      '',
    ].join('\n'),
  );
  files.set(
    'logs/security-agent.log',
    [
      `${t(3600)} | SECURITY | INFO | (cmd/security-agent/subcommands/start/command.go:262 in RunAgent) | Starting Datadog Security Agent v7.50.3`,
      `${t(3600)} | SECURITY | INFO | (pkg/config/setup/config.go:1854 in LoadProxyFromEnv) | no proxy configured, api_key ${FLARE_SCRUBBED_API_KEY}`,
      `${t(3599)} | SECURITY | INFO | (pkg/security/agent/agent.go:112 in Start) | Connecting to system-probe runtime security module at /opt/datadog-agent/run/runtime-security.sock`,
      `${t(3598)} | SECURITY | INFO | (pkg/security/agent/agent.go:181 in StartEventListener) | Successfully connected to the runtime security module`,
      `${t(600)} | SECURITY | INFO | (pkg/security/agent/agent.go:221 in StartEventListener) | self-test results: succeeded 3, failed 0`,
      `${t(2)} | SECURITY | INFO | (comp/core/flare/flare.go:91 in createAndReturnFlarePath) | Making a flare`,
      '',
    ].join('\n'),
  );
  files.set(
    'logs/system-probe.log',
    [
      `${t(3605)} | SYS-PROBE | INFO | (cmd/system-probe/subcommands/run/command.go:231 in startSystemProbe) | starting system-probe v7.50.3`,
      `${t(3604)} | SYS-PROBE | INFO | (pkg/security/probe/probe_ebpf.go:318 in Init) | kernel version 6.1.0-18-amd64, lockdown: none`,
      `${t(3603)} | SYS-PROBE | INFO | (pkg/security/module/cws.go:140 in Start) | runtime security module started`,
      `${t(3603)} | SYS-PROBE | INFO | (pkg/security/rules/engine.go:199 in LoadPolicies) | policies loaded: default.policy (41 rules)`,
      `${t(600)} | SYS-PROBE | INFO | (pkg/security/probe/selftests/tester.go:163 in RunSelfTest) | self-test finished: [datadog_agent_cws_self_test_rule_open datadog_agent_cws_self_test_rule_chmod datadog_agent_cws_self_test_rule_chown] succeeded`,
      '',
    ].join('\n'),
  );
  files.set('etc/datadog.yaml', datadogYaml(variant));
  files.set(
    'etc/system-probe.yaml',
    [
      'system_probe_config:',
      '  enabled: true',
      '  sysprobe_socket: /var/run/sysprobe/sysprobe.sock',
      'runtime_security_config:',
      '  enabled: true',
      '  socket: /opt/datadog-agent/run/runtime-security.sock',
      '  policies:',
      '    dir: /etc/datadog-agent/runtime-security.d',
      '  network:',
      '    enabled: true',
      '    classifier_priority: 10',
      '  self_test:',
      '    enabled: true',
      '',
    ].join('\n'),
  );
  files.set(
    'etc/security-agent.yaml',
    [
      'runtime_security_config:',
      '  enabled: true',
      '  socket: /opt/datadog-agent/run/runtime-security.sock',
      'compliance_config:',
      '  enabled: false',
      '',
    ].join('\n'),
  );
  files.set(
    'runtime-security.d/default.policy',
    [
      '---',
      'version: 7.50.3',
      'rules:',
      '  - id: cws_test_shell_in_container',
      '    description: A shell was started inside a container',
      '    expression: exec.file.name in ["sh", "bash", "dash"] && container.id != ""',
      '    tags:',
      '      technique: T1059',
      '  - id: cws_test_passwd_write',
      '    description: /etc/passwd was opened for writing',
      '    expression: open.file.path == "/etc/passwd" && open.flags & (O_WRONLY|O_RDWR) > 0',
      '  - id: cws_test_kernel_module',
      '    description: A kernel module was loaded',
      '    expression: load_module.name != ""',
      '',
    ].join('\n'),
  );
  files.set('expvar/security-agent', JSON.stringify({ pid: 4242, uptime: 3600, version: { Version: '7.50.3' } }, null, 2) + '\n');
  files.set(
    'envvars.log',
    [
      'Found the following agent-related environment variables:',
      ' - DD_HOSTNAME=' + FLARE_HOSTNAME,
      ' - DD_LOG_LEVEL=info',
      ' - DD_RUNTIME_SECURITY_CONFIG_ENABLED=true',
      ' - DD_RUNTIME_SECURITY_CONFIG_NETWORK_ENABLED=true',
      ' - DD_SITE=datadoghq.com',
      '',
    ].join('\n'),
  );
  files.set(
    'permissions.log',
    [
      'File path                                          | mode        | owner      | group      | error     |',
      '-------------------------------------------------------------------------------------------------------------',
      '/etc/datadog-agent/datadog.yaml                    | -rw-r-----  | dd-agent   | dd-agent   |           |',
      '/etc/datadog-agent/security-agent.yaml             | -rw-r-----  | dd-agent   | dd-agent   |           |',
      '/etc/datadog-agent/system-probe.yaml               | -rw-r-----  | root       | root       |           |',
      '/etc/datadog-agent/runtime-security.d              | drwxr-xr-x  | root       | root       |           |',
      '/var/log/datadog/security-agent.log                | -rw-r--r--  | dd-agent   | dd-agent   |           |',
      '',
    ].join('\n'),
  );
  files.set(
    'flare_creation.log',
    `${t(1)} | SECURITY | ERROR | (comp/core/flare/helpers/builder.go:229 in logError) | error reading file '/var/log/datadog/system-probe.log.1' to be copy to 'logs/system-probe.log.1': open /var/log/datadog/system-probe.log.1: no such file or directory\n`,
  );
  files.set(
    'mountinfo',
    [
      '1250 1180 0:302 / / rw,relatime master:412 - overlay overlay rw,lowerdir=/var/lib/containerd/l/A:/var/lib/containerd/l/B,upperdir=/var/lib/containerd/u,workdir=/var/lib/containerd/w',
      '1251 1250 0:305 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
      '1252 1250 0:306 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
      '1253 1250 0:26 / /sys/kernel/debug rw,nosuid,nodev,noexec,relatime - debugfs debugfs rw',
      '1254 1250 0:27 / /sys/kernel/security ro,nosuid,nodev,noexec,relatime - securityfs securityfs rw',
      '1255 1250 8:1 /var/lib/kubelet/pods/1f2e/volumes/kubernetes.io~configmap/sysprobe-config /etc/datadog-agent/system-probe.yaml ro,relatime - ext4 /dev/sda1 rw',
      '',
    ].join('\n'),
  );
  files.set(
    'dmesg',
    [
      '[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1',
      '[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro quiet',
      '[    1.482113] Lockdown: swapper/0: hibernation is restricted; see man kernel_lockdown.7',
      '[ 3601.219874] audit: type=1400 audit(1700000000.000:42): apparmor="STATUS" operation="profile_load" profile="unconfined" name="system-probe"',
      '',
    ].join('\n'),
  );
  return files;
}

/**
 * Files of the core agent's flare (`pkg/flare/archive.go` CompleteFlare and the flare component, a subset:
 * src/sim/FLARE-SOURCES.md §8), relative to `<hostname>/`. No security-agent-status.log: that is what tells
 * the two flares apart in a review.
 */
export const CORE_FLARE_FILES = [
  'status.log',
  'config-check.log',
  'logs/agent.log',
  'logs/system-probe.log',
  'etc/datadog.yaml',
  'etc/system-probe.yaml',
  'runtime_config_dump.yaml',
  'system_probe_runtime_config_dump.yaml',
  'diagnose.log',
  'envvars.log',
  'health.yaml',
  'permissions.log',
  'flare_creation.log',
] as const;

/** The text files of a core agent flare (`agent flare` on a host without security-agent). */
export function coreFlareContents(variant: FlareVariant, now = new Date()): Map<string, string> {
  const t = (secondsAgo: number) => stamp(new Date(now.getTime() - secondsAgo * 1000));
  const sa = flareContents(variant, now);
  const files = new Map<string, string>();
  files.set(
    'status.log',
    [
      '===============',
      'Agent (v7.77.0)',
      '===============',
      '',
      `  Status date: ${t(1)}`,
      `  Agent start: ${t(3600)}`,
      '  Pid: 1717',
      '  Go Version: go1.24.6',
      '  Python Version: 3.12.11',
      '  Build arch: amd64',
      '  Agent flavor: agent',
      '  Log Level: info',
      '',
      '=============',
      'System Probe',
      '=============',
      '',
      '  Status: Running',
      '  Uptime: 3605 seconds',
      `  Last Updated: ${t(5)}`,
      '',
    ].join('\n'),
  );
  files.set(
    'config-check.log',
    '=== Configuration Checks ===\n\n=== cpu check ===\nConfiguration provider: file\nConfiguration source: file:/etc/datadog-agent/conf.d/cpu.d/conf.yaml.default\n',
  );
  files.set(
    'logs/agent.log',
    [
      `${t(3600)} | CORE | INFO | (cmd/agent/subcommands/run/command.go:312 in startAgent) | Starting Datadog Agent v7.77.0`,
      `${t(3600)} | CORE | INFO | (pkg/config/setup/config.go:2012 in LoadProxyFromEnv) | no proxy configured, api_key ${FLARE_SCRUBBED_API_KEY}`,
      `${t(2)} | CORE | INFO | (comp/core/flare/flare.go:91 in createAndReturnFlarePath) | Making a flare`,
      '',
    ].join('\n'),
  );
  files.set('logs/system-probe.log', sa.get('logs/system-probe.log')!);
  files.set('etc/datadog.yaml', sa.get('etc/datadog.yaml')!);
  files.set('etc/system-probe.yaml', sa.get('etc/system-probe.yaml')!);
  files.set('runtime_config_dump.yaml', `api_key: "${FLARE_SCRUBBED_API_KEY}"\ncmd_port: 5001\nhostname: ${FLARE_HOSTNAME}\nsite: datadoghq.com\n`);
  files.set(
    'system_probe_runtime_config_dump.yaml',
    'runtime_security_config:\n  direct_send_from_system_probe: true\n  enabled: true\nevent_monitoring_config:\n  network:\n    classifier_priority: 10\n    enabled: true\n',
  );
  files.set('diagnose.log', '=== Starting diagnose ===\nSuite: connectivity-datadog-core-endpoints\n  PASS\n');
  files.set(
    'envvars.log',
    [
      'Found the following agent-related environment variables:',
      ` - DD_HOSTNAME=${FLARE_HOSTNAME}`,
      ' - DD_LOG_LEVEL=info',
      ' - DD_SITE=datadoghq.com',
      '',
    ].join('\n'),
  );
  files.set('health.yaml', 'Agent health: PASS\n=== 12 healthy components ===\n');
  files.set(
    'permissions.log',
    [
      'File path                                          | mode        | owner      | group      | error     |',
      '-------------------------------------------------------------------------------------------------------------',
      '/etc/datadog-agent/datadog.yaml                    | -rw-r-----  | dd-agent   | dd-agent   |           |',
      '/etc/datadog-agent/system-probe.yaml               | -rw-r-----  | root       | root       |           |',
      '',
    ].join('\n'),
  );
  files.set('flare_creation.log', `${t(1)} | CORE | INFO | (comp/core/flare/helpers/builder.go:229 in logError) | flare created\n`);
  return files;
}

// ---- a small zip writer (deflate; unix modes in the central directory) ----

function dosDateTime(d: Date): { date: number; time: number } {
  return {
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
  };
}

export interface ZipInput {
  name: string;
  /** Omit for a directory (its name must end with `/`). */
  data?: Uint8Array;
}

/** Build a zip file in memory (deflated files, stored directories). */
export function buildZip(entries: ZipInput[], mtime = new Date()): Buffer {
  const { date, time } = dosDateTime(mtime);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const isDir = e.data === undefined;
    const raw = e.data ?? new Uint8Array(0);
    const crc = isDir ? 0 : zlib.crc32(raw) >>> 0;
    const method = isDir ? 0 : 8;
    const body = isDir ? Buffer.alloc(0) : zlib.deflateRawSync(raw);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk start, internal attrs: 0
    const mode = isDir ? 0o40755 : 0o100644;
    central.writeUInt32LE(((mode << 16) | (isDir ? 0x10 : 0)) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The zip of one flare variant, with directory entries, everything under `<hostname>/`. */
export function buildFlareZip(variant: FlareVariant, now = new Date(), flavour: 'security-agent' | 'agent' = 'security-agent'): Buffer {
  const files = flavour === 'agent' ? coreFlareContents(variant, now) : flareContents(variant, now);
  const entries: ZipInput[] = [];
  const dirs = new Set<string>();
  for (const [rel, text] of files) {
    const full = `${FLARE_HOSTNAME}/${rel}`;
    const parts = full.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ name: dir });
      }
    }
    entries.push({ name: full, data: Buffer.from(text, 'utf8') });
  }
  return buildZip(entries, now);
}

/** Write both archives into `dir` (created if needed), with `core` the core agent's two as well; returns the security-agent's paths. */
export async function writeFlareFixtures(dir: string, opts: { core?: boolean } = {}): Promise<Record<FlareVariant, string>> {
  await mkdir(dir, { recursive: true });
  const now = new Date();
  const out = {} as Record<FlareVariant, string>;
  for (const variant of Object.keys(FLARE_FIXTURE_FILES) as FlareVariant[]) {
    const file = path.join(dir, FLARE_FIXTURE_FILES[variant]);
    await writeFile(file, buildFlareZip(variant, now), { mode: 0o644 });
    if (opts.core) await writeFile(path.join(dir, CORE_FLARE_FIXTURE_FILES[variant]), buildFlareZip(variant, now, 'agent'), { mode: 0o644 });
    out[variant] = file;
  }
  return out;
}
