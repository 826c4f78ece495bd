/**
 * The writable part of a simulated container's filesystem, in memory: what commands run over exec
 * leave behind (the flare archive in /tmp), for `cat`, `rm` and `ls` to find. One per container of
 * a pod, keyed by the pod's uid, so it goes away with the pod: a deleted or recreated pod starts
 * empty, as a new container's writable layer does. Directories are implied by the files' paths
 * (plus `/` and `/tmp`, which every image has). Paths are absolute, normalised POSIX paths.
 */
import { posix } from 'node:path';

export interface PodFile {
  readonly data: Uint8Array;
  /** Permission bits (e.g. 0o600); regular files only. */
  readonly mode: number;
  readonly mtime: Date;
  readonly owner: string;
  readonly group: string;
}

const BASE_DIRS = new Set(['/', '/tmp']);

/** An absolute, normalised path; relative paths resolve against `/` (the agent images' working directory). */
export function normalizePath(path: string): string {
  const abs = posix.resolve('/', path);
  return abs.length > 1 && abs.endsWith('/') ? abs.slice(0, -1) : abs;
}

export class PodFilesystem {
  private readonly files = new Map<string, PodFile>();

  write(path: string, data: Uint8Array, opts: { mode?: number; mtime?: Date; owner?: string; group?: string } = {}): string {
    const p = normalizePath(path);
    this.files.set(p, {
      data: Uint8Array.from(data),
      mode: opts.mode ?? 0o644,
      mtime: opts.mtime ?? new Date(),
      owner: opts.owner ?? 'root',
      group: opts.group ?? 'root',
    });
    return p;
  }

  read(path: string): PodFile | undefined {
    return this.files.get(normalizePath(path));
  }

  /** 'file', 'dir' (a base directory or a parent of some file), or undefined when nothing is there. */
  kind(path: string): 'file' | 'dir' | undefined {
    const p = normalizePath(path);
    if (this.files.has(p)) return 'file';
    if (BASE_DIRS.has(p)) return 'dir';
    const prefix = p === '/' ? '/' : `${p}/`;
    for (const f of this.files.keys()) if (f.startsWith(prefix)) return 'dir';
    return undefined;
  }

  /** Removes a regular file; false when there was none. */
  remove(path: string): boolean {
    return this.files.delete(normalizePath(path));
  }

  /** Every file's path, sorted; only those under `dir` when given. */
  list(dir?: string): string[] {
    const prefix = dir === undefined ? '' : normalizePath(dir) === '/' ? '/' : `${normalizePath(dir)}/`;
    return [...this.files.keys()].filter((p) => p.startsWith(prefix)).sort();
  }

  /** The names directly inside `dir` (files and implied subdirectories), sorted. */
  entries(dir: string): { name: string; kind: 'file' | 'dir' }[] {
    const d = normalizePath(dir);
    const prefix = d === '/' ? '/' : `${d}/`;
    const out = new Map<string, 'file' | 'dir'>();
    if (d === '/') out.set('tmp', 'dir');
    for (const p of this.files.keys()) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) out.set(rest, 'file');
      else out.set(rest.slice(0, slash), 'dir');
    }
    return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, kind]) => ({ name, kind }));
  }
}

/** Every container's filesystem, by pod uid and container name. */
export class PodFilesystems {
  private readonly byPod = new Map<string, Map<string, PodFilesystem>>();

  of(podUid: string, container: string): PodFilesystem {
    let pod = this.byPod.get(podUid);
    if (!pod) this.byPod.set(podUid, (pod = new Map()));
    let fs = pod.get(container);
    if (!fs) pod.set(container, (fs = new PodFilesystem()));
    return fs;
  }

  /** The pod is gone: its containers' files go with it. */
  drop(podUid: string): void {
    this.byPod.delete(podUid);
  }
}
