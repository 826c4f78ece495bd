/**
 * `security-agent status` output. The "Runtime Security" section follows the agent's template
 * (pkg/status/templates/runtimesecurity.tmpl, see test/fixtures/selftest/SOURCES.md §2),
 * including its whitespace-only lines; the header above it is a short stand-in. Without the
 * runtime security agent (its socket to system-probe not mounted, as in the Operator's direct-send
 * mode) the section is absent: its status provider belongs to the running RuntimeSecurityAgent
 * (pkg/security/agent/status_provider.go), which StartRuntimeSecurity does not create then.
 *
 * `agent status` (the core agent, agent container): a short stand-in (header, Hostnames, and the
 * "System Probe" section of pkg/status/templates/systemprobe.tmpl: Status / Uptime / Last Updated).
 * Pure.
 */

export const SELF_TEST_RULES = [
  'datadog_agent_cws_self_test_rule_open',
  'datadog_agent_cws_self_test_rule_chmod',
  'datadog_agent_cws_self_test_rule_chown',
] as const;

export interface AgentStatusInput {
  agentVersion: string;
  now: Date;
  startedAt: Date;
  /** When the self-tests last ran. */
  lastSelftest: Date;
  failedTests: readonly string[];
  eventsReceived: number;
  /** false: no "Runtime Security" section (the runtime security agent is not running here). */
  runtimeSecurity?: boolean;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** Go's time.RFC822 ("02 Jan 06 15:04 MST") in UTC, as the self-tester's GetStatus formats it. */
export function rfc822(d: Date): string {
  return `${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

function statusDate(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC (${d.getTime()})`;
}

/** The image tag as the agent reports its version (`7.50.3-jmx` → `7.50.3`). */
export function agentVersionOf(image: string): string {
  const name = image.split('@')[0]!;
  const tag = /:([^/:]+)$/.exec(name)?.[1];
  if (!tag) return 'unknown';
  return tag.replace(/-(jmx|fips|full|servercore.*)$/, '');
}

export function selfTestsBlock(lastExecution: Date, failed: readonly string[]): string {
  const succeeded = SELF_TEST_RULES.filter((r) => !failed.includes(r));
  const list = (title: string, ids: readonly string[]) => (ids.length === 0 ? [`    ${title}: none`] : [`    ${title}:`, ...ids.map((id) => `      - ${id}`)]);
  return [
    '  Self Tests',
    '  ==========',
    '',
    `    Last execution: ${rfc822(lastExecution)}`,
    '    ',
    ...list('Succeeded', succeeded),
    '    ',
    ...list('Failed', failed),
  ].join('\n');
}

export function renderAgentStatus(s: AgentStatusInput): string {
  const title = `Security Agent (v${s.agentVersion})`;
  const bar = '='.repeat(title.length + 2);
  return [
    bar,
    ` ${title}`,
    bar,
    '',
    `  Status date: ${statusDate(s.now)}`,
    `  Agent start: ${statusDate(s.startedAt)}`,
    '  Pid: 1',
    '  Build arch: amd64',
    '  Agent flavor: security_agent',
    '  Log Level: info',
    '',
    ...(s.runtimeSecurity === false ? [] : runtimeSecuritySection(s)),
  ].join('\n');
}

function runtimeSecuritySection(s: AgentStatusInput): string[] {
  return [
    'Runtime Security',
    '================',
    '  ',
    '  Reliable: Sending compressed logs in HTTPS to runtime-security-http-intake.logs.datadoghq.com on port 443',
    '  Connected: true',
    `  Events received: ${s.eventsReceived}`,
    '',
    selfTestsBlock(s.lastSelftest, s.failedTests),
    '',
    '  Environment',
    '  ===========',
    '    ',
    '    Kernel lockdown: none',
    '    Use eBPF mmapable maps: true',
    '    Use eBPF ring buffer: true',
    '    ',
    '',
  ];
}

export interface CoreAgentStatusInput {
  agentVersion: string;
  hostname: string;
  now: Date;
  startedAt: Date;
  /** The pod's system-probe container, if any (when it started). */
  systemProbe: { startedAt: Date } | undefined;
}

const goUptime = (ms: number) => {
  const t = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
};

export function renderCoreAgentStatus(s: CoreAgentStatusInput): string {
  const title = `Agent (v${s.agentVersion})`;
  const bar = '='.repeat(title.length + 2);
  const sp = s.systemProbe;
  return [
    bar,
    ` ${title}`,
    bar,
    '',
    `  Status date: ${statusDate(s.now)}`,
    `  Agent start: ${statusDate(s.startedAt)}`,
    '  Pid: 1',
    '  Build arch: amd64',
    '  Agent flavor: agent',
    '  Log Level: info',
    '',
    '  Hostnames',
    '  =========',
    `    hostname: ${s.hostname}`,
    '    hostname provider: container',
    '',
    '============',
    'System Probe',
    '============',
    ...(sp
      ? ['  Status: Running', `  Uptime: ${goUptime(s.now.getTime() - sp.startedAt.getTime())}`, `  Last Updated: ${statusDate(s.now)}`]
      : ['  Status: Not running or unreachable', '  Error: dial unix /var/run/sysprobe/sysprobe.sock: connect: no such file or directory']),
    '',
  ].join('\n');
}
