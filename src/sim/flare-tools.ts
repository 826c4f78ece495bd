/**
 * `sha256sum` in the agent containers (GNU coreutils 8.32, as in the Ubuntu-based agent images),
 * over the same files `cat` reads (the container's writable files and its mounts): what the worker
 * uses to record the reviewed archive's digest and to re-check it before answering the flare's
 * prompt. And `replaceFlareArchive`, for tests: another flare (or anyone on the node) writing a
 * different file at the reviewed path after the review.
 *
 *   sha256sum [-b|-t] [--tag] [-z] [--] [FILE…]
 *     "<64 hex>  <FILE>\n" per file (" *FILE" with -b); `-` or no FILE reads stdin; a name holding
 *     "\\" or a newline is escaped and the line starts with "\\" (coreutils' escaping);
 *     --tag: "SHA256 (FILE) = <hex>"; -z: lines end with NUL and names are not escaped
 *   a missing FILE: "sha256sum: FILE: No such file or directory" on stderr, exit 1 (the others
 *   still print); a directory: "sha256sum: FILE: Is a directory", exit 1.
 *   --check/-c and the options that only make sense with it are not simulated: they say so, exit 1.
 */
import { createHash } from 'node:crypto';
import { mountedEntry } from './container-files.ts';
import type { ExecContext, ExecRegistry } from './exec-registry.ts';
import type { ClusterState } from './state.ts';

const SHORT = 'btzc';
const LONG: Record<string, string> = {
  binary: 'b',
  text: 't',
  tag: 'tag',
  zero: 'z',
  check: 'c',
  help: 'help',
  version: 'version',
  'ignore-missing': 'c',
  quiet: 'c',
  status: 'c',
  strict: 'c',
  warn: 'c',
};

const HELP = `Usage: sha256sum [OPTION]... [FILE]...
Print or check SHA256 (256-bit) checksums.

With no FILE, or when FILE is -, read standard input.

  -b, --binary         read in binary mode
  -c, --check          read SHA256 sums from the FILEs and check them
      --tag            create a BSD-style checksum
  -t, --text           read in text mode (default)
  -z, --zero           end each output line with NUL, not newline,
                       and disable file name escaping
`;

/** coreutils' filename escaping in checksum lines: "\\" → "\\\\", newline → "\\n", CR → "\\r". */
function escapeName(name: string): { name: string; escaped: boolean } {
  if (!/[\\\n\r]/.test(name)) return { name, escaped: false };
  return { name: name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r'), escaped: true };
}

async function readStdin(ctx: ExecContext): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

export async function runSha256sum(ctx: ExecContext): Promise<number> {
  const flags = new Set<string>();
  const operands: string[] = [];
  const args = ctx.argv.slice(1);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const f = LONG[a.slice(2)];
      if (!f) {
        ctx.stderr.write(`sha256sum: unrecognized option '${a}'\nTry 'sha256sum --help' for more information.\n`);
        return 1;
      }
      flags.add(f);
    } else if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (!SHORT.includes(c)) {
          ctx.stderr.write(`sha256sum: invalid option -- '${c}'\nTry 'sha256sum --help' for more information.\n`);
          return 1;
        }
        flags.add(c);
      }
    } else operands.push(a);
  }
  if (flags.has('help')) {
    ctx.stdout.write(HELP);
    return 0;
  }
  if (flags.has('version')) {
    ctx.stdout.write('sha256sum (GNU coreutils) 8.32\n');
    return 0;
  }
  if (flags.has('c')) {
    ctx.stderr.write('sha256sum: --check is not simulated\n');
    return 1;
  }
  const files = ctx.state.podFilesByUid(ctx.pod.metadata.uid, ctx.container);
  const end = flags.has('z') ? '\0' : '\n';
  let code = 0;
  for (const name of operands.length === 0 ? ['-'] : operands) {
    let data: Uint8Array | undefined;
    let problem: string | undefined;
    if (name === '-') data = await readStdin(ctx);
    else {
      const mounted = mountedEntry(ctx, name);
      if (mounted?.kind === 'file') data = mounted.data;
      else {
        // The pod's own files are not there once nsenter moved to the host's mount namespace.
        const kind = mounted ? mounted.kind : ctx.namespaces?.mnt === 'host' ? undefined : files.kind(name);
        if (kind === 'file') data = files.read(name)!.data;
        else problem = kind === 'dir' ? 'Is a directory' : kind === 'ns' ? 'Invalid argument' : 'No such file or directory';
      }
    }
    if (!data) {
      ctx.stderr.write(`sha256sum: ${name}: ${problem}\n`);
      code = 1;
      continue;
    }
    const hex = createHash('sha256').update(data).digest('hex');
    if (flags.has('tag')) {
      ctx.stdout.write(`SHA256 (${name}) = ${hex}${end}`);
      continue;
    }
    const e = flags.has('z') ? { name, escaped: false } : escapeName(name);
    ctx.stdout.write(`${e.escaped ? '\\' : ''}${hex} ${flags.has('b') ? '*' : ' '}${e.name}${end}`);
  }
  return code;
}

/** The containers of the agent image: sha256sum is a coreutils binary, in every one of them. */
export const SHA256SUM_CONTAINERS = ['agent', 'security-agent', 'system-probe'] as const;

const withSha256sum = new WeakSet<ExecRegistry>();

/** Registers `sha256sum` once per registry (both flares' registrations ask for it). */
export function registerSha256sum(registry: ExecRegistry): void {
  if (withSha256sum.has(registry)) return;
  withSha256sum.add(registry);
  registry.register({ containers: SHA256SUM_CONTAINERS, paths: ['/usr/bin/sha256sum', '/bin/sha256sum'], argv: ['sha256sum'], handler: runSha256sum });
}

/**
 * Puts other bytes at a flare archive's path in a node's agent pod (the security-agent container,
 * or `container`: 'agent' for the core agent's flare), as a second flare in the same second would
 * (the agent renames its new archive over the old one).
 * Returns the bytes that were there before, or undefined when there was no file.
 */
export function replaceFlareArchive(state: ClusterState, node: string, path: string, data: Uint8Array, container = 'security-agent'): Uint8Array | undefined {
  const pod = state.agentPod(node);
  if (!pod) throw new Error(`no agent pod on ${node}`);
  const files = state.podFilesByUid(pod.metadata.uid, container);
  const before = files.read(path);
  files.write(path, data, { mode: 0o600, mtime: state.now(), owner: 'dd-agent', group: 'root' });
  return before ? Uint8Array.from(before.data) : undefined;
}
