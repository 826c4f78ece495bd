/**
 * `tc` (iproute2) and `nsenter` (util-linux) as the agent image ships them (Ubuntu base with
 * `iproute2` installed, util-linux essential), answering what a netcheck worker asks:
 *
 *   nsenter --net=/host/proc/1/ns/net tc filter show dev IFACE ingress
 *
 * `tc` answers for the network namespace it runs in: the container's own (a pod's: `lo`, `eth0`;
 * the host's with `hostNetwork: true`) unless `nsenter` moved it. So a bare
 * `tc filter show dev lxc… ingress` in system-probe gets `Cannot find device "lxc…"`, exit 1,
 * as in a real pod. Strings and exit codes are the tools' own (iproute2 6.1 `tc/tc.c`,
 * `tc/tc_filter.c`; util-linux 2.39 `sys-utils/nsenter.c`, checked against the binaries).
 *
 * nsenter: `--net[=FILE]`/`-n[FILE]`, `--target/-t PID`, `--mount/-m` (the host's filesystem:
 * only /proc, no container mounts), `--all/-a`; the other namespace flags are accepted and change
 * nothing these commands show. Entering needs the file to exist in this container (/host/proc
 * only where the chart's `procdir` is mounted), CAP_SYS_PTRACE to open the host init's
 * namespace, and CAP_SYS_ADMIN for setns(2) — read from the container's securityContext.
 */
import { agentVersionOf } from './agent-status-text.ts';
import { containerOf, currentNetns, envOf, hasCapability, interfacesOf, mountedEntry, systemProbeYamlOf } from './container-files.ts';
import type { ExecContext, ExecNamespaces } from './exec-registry.ts';
import { type AgentClassifier, agentClassifier, agentNetworkConfig, type NetNs, type TcParent, tcFilterJson, tcFilterLines } from './host-net.ts';

export const TC_VERSION = 'tc utility, iproute2-6.1.0, libbpf 1.3.0';
export const NSENTER_VERSION = 'nsenter from util-linux 2.39.3';
/** Binaries a node's own filesystem has (for nsenter --mount into the host). */
const HOST_BINARIES = new Set(['tc', 'nsenter', 'cat', 'ls', 'rm']);

/** iproute2's `matches(arg, word)`: arg is a non-empty prefix of word. */
const matches = (arg: string, word: string) => arg.length > 0 && word.startsWith(arg);

const TC_USAGE =
  'Usage:\ttc [ OPTIONS ] OBJECT { COMMAND | help }\n' +
  '\ttc [-force] -batch filename\n' +
  'where  OBJECT := { qdisc | class | filter | chain |\n' +
  '\t\t    action | monitor | exec }\n' +
  '       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -r[aw] |\n' +
  '\t\t    -o[neline] | -j[son] | -p[retty] | -c[olor]\n' +
  '\t\t    -b[atch] [filename] | -n[etns] name | -N[umeric] |\n' +
  '\t\t     -nm | -nam[es] | { -cf | -conf } path\n' +
  '\t\t     -br[ief] }\n';

/** The agent's classifier on `iface` of `node`'s host namespace, when modelled and configured. */
function agentClassifierFor(ctx: ExecContext, iface: string, direction: 'ingress' | 'egress'): AgentClassifier | undefined {
  const { state, node } = ctx;
  if (!state.agentClassifiersModelled()) return undefined;
  if (!Object.hasOwn(state.nodeSpec(node).tc, iface)) return undefined; // attached on the pod-facing interfaces
  const pod = state.agentPod(node);
  if (!pod || pod.status.phase !== 'Running') return undefined;
  const sp = containerOf(pod, 'system-probe');
  if (!sp) return undefined;
  const cfg = agentNetworkConfig(envOf(pod, 'system-probe'), systemProbeYamlOf(state, pod), agentVersionOf(sp.image));
  if (!cfg.attaches) return undefined;
  const ifindex = state.hostInterfaces(node).indexOf(iface) + 1;
  return agentClassifier(direction, iface, ifindex, pod.metadata.uid, cfg.priority, cfg.handle);
}

interface TcOptions {
  json: boolean;
  pretty: boolean;
}

export function runTc(ctx: ExecContext): number {
  const args = ctx.argv.slice(1);
  const opts: TcOptions = { json: false, pretty: false };
  let i = 0;
  for (; i < args.length; i++) {
    let a = args[i]!;
    if (!a.startsWith('-') || a === '-') break;
    if (a.startsWith('--')) a = a.slice(1);
    const o = a.slice(1);
    if (
      matches(o, 'stats') ||
      matches(o, 'statistics') ||
      matches(o, 'details') ||
      matches(o, 'raw') ||
      matches(o, 'oneline') ||
      matches(o, 'Numeric') ||
      matches(o, 'color')
    )
      continue;
    if (matches(o, 'pretty')) opts.pretty = true;
    else if (matches(o, 'json')) opts.json = true;
    else if (matches(o, 'Version')) {
      ctx.stdout.write(`${TC_VERSION}\n`);
      return 0;
    } else if (matches(o, 'netns')) {
      const name = args[++i];
      if (name === undefined) {
        ctx.stderr.write('Option "-netns" requires an argument\n');
        return 255;
      }
      ctx.stderr.write(`Cannot open network namespace "${name}": No such file or directory\n`);
      return 255;
    } else if (o === 'h' || matches(o, 'help')) {
      ctx.stderr.write(TC_USAGE);
      return 0;
    } else {
      ctx.stderr.write(`Option "${args[i]}" is unknown, try "tc -help".\n`);
      return 255;
    }
  }
  const object = args[i];
  if (object === undefined || object === 'help') {
    ctx.stderr.write(TC_USAGE);
    return 0;
  }
  const rest = args.slice(i + 1);
  if (matches(object, 'filter')) return tcFilter(ctx, rest, opts);
  if (matches(object, 'qdisc')) return tcQdisc(ctx, rest, opts);
  ctx.stderr.write(`Object "${object}" is unknown, try "tc help".\n`);
  return 255;
}

interface ShowArgs {
  dev?: string;
  parent?: TcParent | 'other';
  pref?: number;
}

/** `… show|list [dev D] [root|ingress|egress|parent H] [pref N] [protocol P] [chain N]`; a number is the exit code. */
function parseShow(ctx: ExecContext, object: 'filter' | 'qdisc', args: readonly string[]): ShowArgs | number {
  const cmd = args[0];
  if (cmd !== undefined && !(matches(cmd, 'show') || matches(cmd, 'list') || cmd === 'ls' || cmd === 'lst')) {
    if (cmd === 'help') {
      ctx.stderr.write(`Usage: tc ${object} [ add | del | change | replace | show ] [ dev STRING ] …\n`);
      return 0;
    }
    ctx.stderr.write(`Command "${cmd}" is unknown, try "tc ${object} help".\n`);
    return 255;
  }
  const out: ShowArgs = {};
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) {
        ctx.stderr.write('Command line is not complete. Try option "help"\n');
        return undefined;
      }
      return v;
    };
    if (a === 'dev') {
      const v = value();
      if (v === undefined) return 255;
      out.dev = v;
    } else if (a === 'ingress' || a === 'egress' || a === 'root') out.parent = a;
    else if (a === 'parent') {
      const v = value();
      if (v === undefined) return 255;
      const h = v.toLowerCase();
      out.parent = h === 'ffff:fff2' ? 'ingress' : h === 'ffff:fff3' ? 'egress' : 'other';
    } else if (object === 'filter' && (a === 'pref' || a === 'priority' || a === 'prio')) {
      const v = value();
      if (v === undefined) return 255;
      out.pref = Number.parseInt(v, 10);
    } else if (object === 'filter' && (a === 'protocol' || a === 'chain' || a === 'handle')) {
      if (value() === undefined) return 255;
    } else {
      ctx.stderr.write(` What is "${a}"? Try "tc ${object} help"\n`);
      return 255;
    }
  }
  return out;
}

function findDevice(ctx: ExecContext, dev: string): boolean {
  if (interfacesOf(ctx.state, ctx.node, currentNetns(ctx)).includes(dev)) return true;
  ctx.stderr.write(`Cannot find device "${dev}"\n`);
  return false;
}

function writeJson(ctx: ExecContext, value: unknown, opts: TcOptions): void {
  ctx.stdout.write(`${opts.pretty ? JSON.stringify(value, null, 4) : JSON.stringify(value)}\n`);
}

function tcFilter(ctx: ExecContext, args: readonly string[], opts: TcOptions): number {
  const p = parseShow(ctx, 'filter', args);
  if (typeof p === 'number') return p;
  // Without a device tc dumps nothing useful here (no device, no block): empty output.
  if (p.dev === undefined) {
    if (opts.json) writeJson(ctx, [], opts);
    return 0;
  }
  if (!findDevice(ctx, p.dev)) return 1;
  const ns: NetNs = currentNetns(ctx);
  const parent = p.parent === undefined ? 'root' : p.parent;
  let lines: string[] = [];
  if (ns === 'host' && parent !== 'other') {
    const spec = ctx.state.nodeSpec(ctx.node).tc[p.dev];
    const agent = parent === 'root' ? undefined : agentClassifierFor(ctx, p.dev, parent);
    lines = tcFilterLines(spec, parent, agent, p.pref);
  }
  if (opts.json) writeJson(ctx, tcFilterJson(lines), opts);
  else if (lines.length > 0) ctx.stdout.write(lines.join(''));
  return 0;
}

function tcQdisc(ctx: ExecContext, args: readonly string[], opts: TcOptions): number {
  const p = parseShow(ctx, 'qdisc', args);
  if (typeof p === 'number') return p;
  const ns = currentNetns(ctx);
  const devs = p.dev === undefined ? interfacesOf(ctx.state, ctx.node, ns) : [p.dev];
  if (p.dev !== undefined && !findDevice(ctx, p.dev)) return 1;
  const rows: { text: string; json: Record<string, unknown> }[] = [];
  for (const dev of devs) {
    const dv = p.dev === undefined ? `dev ${dev} ` : '';
    if (p.parent !== 'ingress' && p.parent !== 'egress')
      rows.push({
        text: `qdisc noqueue 0: ${dv}root refcnt 2 `,
        json: { kind: 'noqueue', handle: '0:', ...(p.dev === undefined ? { dev } : {}), root: true, refcnt: 2, options: {} },
      });
    const hasClsact = ns === 'host' && ((ctx.state.nodeSpec(ctx.node).tc[dev] ?? '').trim() !== '' || agentClassifierFor(ctx, dev, 'ingress') !== undefined);
    if (hasClsact && p.parent !== 'root')
      rows.push({
        text: `qdisc clsact ffff: ${dv}parent ffff:fff1 `,
        json: { kind: 'clsact', handle: 'ffff:', ...(p.dev === undefined ? { dev } : {}), parent: 'ffff:fff1', options: {} },
      });
  }
  if (opts.json)
    writeJson(
      ctx,
      rows.map((r) => r.json),
      opts,
    );
  else if (rows.length > 0) ctx.stdout.write(rows.map((r) => `${r.text}\n`).join(''));
  return 0;
}

// ── nsenter ──────────────────────────────────────────────────────────────────────────────

const NS_FLAGS: Record<string, string> = { m: 'mount', u: 'uts', i: 'ipc', n: 'net', p: 'pid', U: 'user', C: 'cgroup', T: 'time' };
const NS_FILES: Record<string, string> = {
  mount: 'ns/mnt',
  uts: 'ns/uts',
  ipc: 'ns/ipc',
  net: 'ns/net',
  pid: 'ns/pid',
  user: 'ns/user',
  cgroup: 'ns/cgroup',
  time: 'ns/time',
};
const NO_ARG_LONG = new Set(['all', 'preserve-credentials', 'no-fork', 'follow-context', 'help', 'version', 'keep-caps', 'user-parent', 'join-cgroup', 'env']);
const ARG_LONG = new Set(['target', 'setuid', 'setgid', 'root', 'wd', 'wdns']);

function usageError(ctx: ExecContext, message: string): number {
  ctx.stderr.write(`nsenter: ${message}\nTry 'nsenter --help' for more information.\n`);
  return 1;
}

interface NsRequest {
  ns: string;
  file?: string;
}

export async function runNsenter(ctx: ExecContext): Promise<number> {
  const args = ctx.argv.slice(1);
  const requested: NsRequest[] = [];
  let target: number | undefined;
  let all = false;
  let i = 0;
  const request = (ns: string, file: string | undefined) => {
    const existing = requested.find((r) => r.ns === ns);
    if (existing) existing.file = file;
    else requested.push({ ns, ...(file !== undefined ? { file } : {}) });
  };
  const setTarget = (v: string): number | undefined => {
    if (!/^\d+$/.test(v)) {
      ctx.stderr.write(`nsenter: failed to parse pid: '${v}'\n`);
      return 1;
    }
    target = Number(v);
    return undefined;
  };
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const value = eq < 0 ? undefined : a.slice(eq + 1);
      const ns = Object.values(NS_FLAGS).find((n) => n === name);
      if (ns) request(ns, value);
      else if (name === 'all') all = true;
      else if (name === 'help') {
        ctx.stdout.write('\nUsage:\n nsenter [options] [<program> [<argument>...]]\n\nRun a program with namespaces of other processes.\n');
        return 0;
      } else if (name === 'version') {
        ctx.stdout.write(`${NSENTER_VERSION}\n`);
        return 0;
      } else if (ARG_LONG.has(name)) {
        const v = value ?? args[++i];
        if (v === undefined) return usageError(ctx, `option '--${name}' requires an argument`);
        if (name === 'target') {
          const bad = setTarget(v);
          if (bad !== undefined) return bad;
        }
      } else if (!NO_ARG_LONG.has(name)) return usageError(ctx, `unrecognized option '--${name}'`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const flags = a.slice(1);
      for (let j = 0; j < flags.length; j++) {
        const f = flags[j]!;
        const ns = NS_FLAGS[f];
        if (ns) {
          const attached = flags.slice(j + 1);
          request(ns, attached === '' ? undefined : attached);
          break;
        }
        if (f === 't' || f === 'S' || f === 'G' || f === 'r' || f === 'w') {
          const v = flags.slice(j + 1) || args[++i];
          if (v === undefined) return usageError(ctx, `option requires an argument -- '${f}'`);
          if (f === 't') {
            const bad = setTarget(v);
            if (bad !== undefined) return bad;
          }
          break;
        }
        if (f === 'a') all = true;
        else if (f === 'V') {
          ctx.stdout.write(`${NSENTER_VERSION}\n`);
          return 0;
        } else if (f === 'h') {
          ctx.stdout.write('\nUsage:\n nsenter [options] [<program> [<argument>...]]\n\nRun a program with namespaces of other processes.\n');
          return 0;
        } else if (!'FeZcPk'.includes(f)) return usageError(ctx, `invalid option -- '${f}'`);
      }
      continue;
    }
    break;
  }
  const program = args.slice(i);
  if (all) {
    if (target === undefined) return usageError(ctx, 'no target PID specified for --all');
    for (const ns of ['net', 'mount']) if (!requested.some((r) => r.ns === ns)) request(ns, undefined);
  }

  // Open every namespace file first (as nsenter does), then setns each.
  const container = containerOf(ctx.pod, ctx.container);
  const entered: { net?: NetNs; mnt?: 'host' | 'container' } = {};
  for (const r of requested) {
    if (r.file === undefined && target === undefined) {
      ctx.stderr.write(`nsenter: neither filename nor target pid supplied for ${NS_FILES[r.ns]}\n`);
      return 1;
    }
    const path = r.file ?? `/proc/${target}/${NS_FILES[r.ns]}`;
    const entry = mountedEntry(ctx, path);
    const own = ctx.state.podFilesByUid(ctx.pod.metadata.uid, ctx.container).kind(path);
    if (!entry && !own) {
      ctx.stderr.write(`nsenter: cannot open ${path}: No such file or directory\n`);
      return 1;
    }
    if (entry?.kind === 'ns' && entry.hostInit && !hasCapability(container, 'SYS_PTRACE')) {
      ctx.stderr.write(`nsenter: cannot open ${path}: Permission denied\n`);
      return 1;
    }
    // setns(fd, type) wants a namespace file of that type (of the PIDs the simulator knows: 1 and self).
    if (entry?.kind !== 'ns' || `ns/${entry.type}` !== NS_FILES[r.ns]) return setnsFailed(ctx, r.ns, 'Invalid argument');
    if (r.ns === 'net') entered.net = entry.net;
    if (r.ns === 'mount') entered.mnt = entry.mnt;
  }
  if (requested.length > 0 && !hasCapability(container, 'SYS_ADMIN')) return setnsFailed(ctx, requested[0]!.ns, 'Operation not permitted');

  const inner = program.length > 0 ? program : ['/bin/sh'];
  const namespaces: ExecNamespaces = { ...ctx.namespaces, ...entered };
  const base = inner[0]!.split('/').pop()!;
  const handler = namespaces.mnt === 'host' && !HOST_BINARIES.has(base) ? undefined : ctx.state.exec.resolve(ctx.container, inner, ctx.pod);
  if (!handler) {
    ctx.stderr.write(`nsenter: failed to execute ${inner[0]}: No such file or directory\n`);
    return 127;
  }
  return handler({ ...ctx, argv: inner, namespaces });
}

function setnsFailed(ctx: ExecContext, ns: string, why: string): number {
  ctx.stderr.write(`nsenter: reassociate to namespace '${NS_FILES[ns]}' failed: ${why}\n`);
  return 1;
}
