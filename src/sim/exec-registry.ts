/**
 * What runs when a client execs into a simulated container: a registry of commands, each for
 * some containers and an argv prefix (`['security-agent', 'runtime', 'self-test']`). The
 * longest matching prefix wins; later registrations win ties, so a test can replace a
 * behaviour. No match means the binary is not in that container: the runtime's start error.
 *
 * Handlers are transport-free: they read stdin as a stream, write stdout/stderr as they go,
 * honour `signal` (the client went away) and resolve to an exit code.
 */
import type { Readable } from 'node:stream';
import type { Pod } from './k8s-types.ts';
import type { ClusterState } from './state.ts';

export interface ExecOutput {
  write(chunk: string | Uint8Array): void;
}

/**
 * The namespaces a command runs in when `nsenter` moved it (netns-tools.ts); absent = the
 * container's own. `net: 'host'` is the node's network namespace; `mnt: 'host'` the node's
 * filesystem (no container mounts, the host's /proc).
 */
export interface ExecNamespaces {
  readonly net?: 'host' | 'pod';
  readonly mnt?: 'host' | 'container';
}

export interface ExecContext {
  readonly pod: Pod;
  readonly node: string;
  readonly container: string;
  readonly argv: readonly string[];
  /** Ends when the client half-closes stdin (v5), or at once when stdin was not requested. */
  readonly stdin: Readable;
  readonly stdout: ExecOutput;
  readonly stderr: ExecOutput;
  /** Aborted when the client closes the session: stop, and leave nothing running. */
  readonly signal: AbortSignal;
  readonly state: ClusterState;
  /** Set by `nsenter` for the command it runs; undefined = the container's own namespaces. */
  readonly namespaces?: ExecNamespaces;
}

/** Resolves to the exit code (0–255). */
export type ExecHandler = (ctx: ExecContext) => Promise<number> | number;

export interface ExecCommand {
  /** Container names the binary is in; '*' for every container. */
  readonly containers: readonly string[] | '*';
  /** argv prefix; argv[0] is the binary as found on $PATH. */
  readonly argv: readonly string[];
  /** Absolute paths that name the same binary (argv[0] may be one of them). */
  readonly paths?: readonly string[];
  /** Whether the binary is in this pod's container after all (its image may lack it); absent = always. */
  readonly present?: (pod: Pod, container: string) => boolean;
  readonly handler: ExecHandler;
}

export class ExecRegistry {
  private readonly commands: ExecCommand[] = [];

  /** Adds a command; returns a function that removes it again. */
  register(command: ExecCommand): () => void {
    if (command.argv.length === 0) throw new Error('an exec command needs at least the binary name');
    this.commands.push(command);
    return () => {
      const i = this.commands.indexOf(command);
      if (i >= 0) this.commands.splice(i, 1);
    };
  }

  resolve(container: string, argv: readonly string[], pod: Pod): ExecHandler | undefined {
    let best: ExecCommand | undefined;
    for (const c of this.commands) {
      if (c.containers !== '*' && !c.containers.includes(container)) continue;
      if (c.present && !c.present(pod, container)) continue;
      if (argv[0] !== c.argv[0] && !(argv[0] !== undefined && c.paths?.includes(argv[0]))) continue;
      if (!c.argv.slice(1).every((a, i) => argv[i + 1] === a)) continue;
      if (!best || c.argv.length >= best.argv.length) best = c;
    }
    return best?.handler;
  }
}
