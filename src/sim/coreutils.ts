/**
 * `cat`, `rm` and `ls` over a container's in-memory files (pod-fs.ts), with GNU coreutils'
 * messages and exit codes (the agent images are Ubuntu-based). Only what reading, reviewing and
 * removing a flare archive needs:
 *   cat FILE…        bytes as they are (binary-safe), `-` or nothing = stdin; also what the
 *                    container mounts and its procfs show (container-files.ts); a missing file:
 *                    "cat: F: No such file or directory", exit 1 (the other files still print)
 *   rm [-f] [-r] F…  a missing file: "rm: cannot remove 'F': No such file or directory", exit 1;
 *                    silent with -f; a directory without -r: "…: Is a directory"
 *   ls [-l] [-a] P…  one name a line; -l long format; a missing path: exit 2
 */
import { mountedEntry } from './container-files.ts';
import type { ExecContext } from './exec-registry.ts';
import { type PodFile, type PodFilesystem, normalizePath } from './pod-fs.ts';

const CHUNK = 32 * 1024; // the kubelet copies output in 32 KiB reads

function filesOf(ctx: ExecContext): PodFilesystem {
  return ctx.state.podFilesByUid(ctx.pod.metadata.uid, ctx.container);
}

interface Parsed {
  flags: Set<string>;
  operands: string[];
  bad?: string;
}

/** getopt_long-ish: clustered short options, `--long`, `--` ends options, `-` is an operand. */
function parseOptions(args: readonly string[], short: string, long: Record<string, string>): Parsed {
  const flags = new Set<string>();
  const operands: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const f = long[a.slice(2)];
      if (f === undefined) return { flags, operands, bad: `unrecognized option '${a}'` };
      flags.add(f);
    } else if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (!short.includes(c)) return { flags, operands, bad: `invalid option -- '${c}'` };
        flags.add(c);
      }
    } else {
      operands.push(a);
    }
  }
  operands.push(...args.slice(i));
  return { flags, operands };
}

function writeBytes(ctx: ExecContext, data: Uint8Array): void {
  for (let off = 0; off < data.length; off += CHUNK) ctx.stdout.write(data.subarray(off, off + CHUNK));
}

export async function runCat(ctx: ExecContext): Promise<number> {
  const p = parseOptions(ctx.argv.slice(1), 'uAbeEnstTv', { help: 'help' });
  if (p.bad) {
    ctx.stderr.write(`cat: ${p.bad}\nTry 'cat --help' for more information.\n`);
    return 1;
  }
  const fs = filesOf(ctx);
  let code = 0;
  const operands = p.operands.length === 0 ? ['-'] : p.operands;
  for (const name of operands) {
    if (name === '-') {
      for await (const chunk of ctx.stdin) writeBytes(ctx, chunk as Buffer);
      continue;
    }
    const mounted = mountedEntry(ctx, name);
    if (mounted?.kind === 'file') {
      writeBytes(ctx, mounted.data);
      continue;
    }
    // The pod's own files are not there once nsenter moved to the host's mount namespace.
    const kind = mounted ? mounted.kind : ctx.namespaces?.mnt === 'host' ? undefined : fs.kind(name);
    if (kind === 'file') writeBytes(ctx, fs.read(name)!.data);
    else {
      ctx.stderr.write(`cat: ${name}: ${kind === 'dir' ? 'Is a directory' : kind === 'ns' ? 'Invalid argument' : 'No such file or directory'}\n`);
      code = 1;
    }
  }
  return code;
}

export function runRm(ctx: ExecContext): number {
  const p = parseOptions(ctx.argv.slice(1), 'firRvd', { force: 'f', recursive: 'r', verbose: 'v', dir: 'd', help: 'help' });
  if (p.bad) {
    ctx.stderr.write(`rm: ${p.bad}\nTry 'rm --help' for more information.\n`);
    return 1;
  }
  const force = p.flags.has('f');
  const recursive = p.flags.has('r') || p.flags.has('R');
  if (p.operands.length === 0) {
    if (force) return 0;
    ctx.stderr.write("rm: missing operand\nTry 'rm --help' for more information.\n");
    return 1;
  }
  const fs = filesOf(ctx);
  let code = 0;
  for (const name of p.operands) {
    const kind = fs.kind(name);
    if (kind === 'file') {
      fs.remove(name);
      if (p.flags.has('v')) ctx.stdout.write(`removed '${name}'\n`);
    } else if (kind === 'dir') {
      if (!recursive || normalizePath(name) === '/') {
        ctx.stderr.write(
          normalizePath(name) === '/' && recursive
            ? "rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n"
            : `rm: cannot remove '${name}': Is a directory\n`,
        );
        code = 1;
        continue;
      }
      for (const f of fs.list(name)) fs.remove(f);
    } else if (!force) {
      ctx.stderr.write(`rm: cannot remove '${name}': No such file or directory\n`);
      code = 1;
    }
  }
  return code;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ls -l's time column in UTC: "May 14 09:12", or "May 14  2023" when over six months old. */
function lsTime(d: Date, now: Date): string {
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const recent = Math.abs(now.getTime() - d.getTime()) < 182 * 24 * 3600 * 1000;
  const tail = recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`;
  return `${MONTHS[d.getUTCMonth()]} ${day} ${tail}`;
}

function modeString(mode: number, dir: boolean): string {
  const bits = 'rwxrwxrwx';
  let s = dir ? 'd' : '-';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  if (dir && mode & 0o1000) s = `${s.slice(0, 9)}t`;
  return s;
}

interface LsRow {
  mode: string;
  links: string;
  owner: string;
  group: string;
  size: string;
  time: string;
  name: string;
}

function rowFor(name: string, f: PodFile | undefined, now: Date): LsRow {
  if (!f)
    return {
      mode: modeString(name.endsWith('tmp') ? 0o1777 : 0o755, true),
      links: '1',
      owner: 'root',
      group: 'root',
      size: '4096',
      time: lsTime(now, now),
      name,
    };
  return { mode: modeString(f.mode, false), links: '1', owner: f.owner, group: f.group, size: String(f.data.length), time: lsTime(f.mtime, now), name };
}

function formatRows(rows: LsRow[]): string {
  const w = (k: keyof LsRow) => Math.max(...rows.map((r) => r[k].length));
  return rows
    .map(
      (r) =>
        `${r.mode} ${r.links.padStart(w('links'))} ${r.owner.padEnd(w('owner'))} ${r.group.padEnd(w('group'))} ${r.size.padStart(w('size'))} ${r.time} ${r.name}\n`,
    )
    .join('');
}

export function runLs(ctx: ExecContext): number {
  const p = parseOptions(ctx.argv.slice(1), 'lahd1', { all: 'a', help: 'help' });
  if (p.bad) {
    ctx.stderr.write(`ls: ${p.bad}\nTry 'ls --help' for more information.\n`);
    return 2;
  }
  const fs = filesOf(ctx);
  const now = ctx.state.now();
  const long = p.flags.has('l');
  let code = 0;
  const operands = p.operands.length === 0 ? ['.'] : p.operands;
  const files: string[] = [];
  const dirs: string[] = [];
  for (const name of operands) {
    const kind = fs.kind(name === '.' ? '/' : name);
    if (kind === 'file') files.push(name);
    else if (kind === 'dir') dirs.push(name);
    else {
      ctx.stderr.write(`ls: cannot access '${name}': No such file or directory\n`);
      code = 2;
    }
  }
  const out: string[] = [];
  if (files.length > 0) {
    out.push(long ? formatRows(files.map((n) => rowFor(n, fs.read(n), now))) : files.map((n) => `${n}\n`).join(''));
  }
  for (const d of dirs) {
    const dir = d === '.' ? '/' : d;
    const entries = fs.entries(dir);
    let text = operands.length > 1 ? `${d}:\n` : '';
    if (long) {
      const rows = entries.map((e) => rowFor(e.name, e.kind === 'file' ? fs.read(`${normalizePath(dir)}/${e.name}`) : undefined, now));
      const blocks = entries.reduce(
        (sum, e) => sum + (e.kind === 'file' ? Math.ceil((fs.read(`${normalizePath(dir)}/${e.name}`)?.data.length ?? 0) / 4096) * 4 : 4),
        0,
      );
      text += `total ${blocks}\n${rows.length > 0 ? formatRows(rows) : ''}`;
    } else {
      text += entries.map((e) => `${e.name}\n`).join('');
    }
    out.push(text);
  }
  const text = out.join('\n');
  if (text) ctx.stdout.write(text);
  return code;
}
