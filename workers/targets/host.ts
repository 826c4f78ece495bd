import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { HostClusterConfig } from '../../src/config/clusters.ts';
import { AgentNotFoundError, ExecFailedError, ExecTimeoutError } from './errors.ts';
import { SessionCore } from './session.ts';
import type { AgentRef, AgentTarget, ExecOptions, ExecResult, ExecSession } from './types.ts';

const MAX_OUTPUT = 1024 * 1024;
/** Where the Linux packages install system-probe (beside security-agent in embedded/bin; test/fixtures/selftest/SOURCES.md §4). */
export const SYSTEM_PROBE_PATH = '/opt/datadog-agent/embedded/bin/system-probe';
/** Where the Linux packages install the core agent (`datadog-agent` in PATH links to it; src/sim/FLARE-SOURCES.md §9). */
export const CORE_AGENT_PATH = '/opt/datadog-agent/bin/agent/agent';
/** Where `security-agent flare` / `agent flare` write their archive (TMPDIR, usually /tmp). */
const FLARE_ARCHIVE_RE = /^\/[A-Za-z0-9._\/-]*\/datadog-agent-[A-Za-z0-9._-]+\.zip$/;

/**
 * The agent installed on the worker's own machine. argv[0] names the agent binary
 * (`security-agent`, `system-probe`, or the core `agent` for its flare where security-agent is
 * not installed); it is resolved next to the configured binary (the core agent: in the package's
 * `bin/agent/`), so a request can never choose an arbitrary program.
 */
export class HostTarget implements AgentTarget {
  readonly kind = 'host' as const;
  readonly description: string;
  private readonly machine: string;

  constructor(
    private readonly cfg: HostClusterConfig,
    machine = hostname(),
  ) {
    this.machine = machine;
    this.description = `host ${machine} (${cfg.binary}${cfg.sudo ? ' via sudo -n' : ''})`;
  }

  async listAgents(filter?: { node?: string }): Promise<AgentRef[]> {
    if (filter?.node && filter.node !== this.machine) return [];
    return [{ node: this.machine, pod: 'host' }];
  }

  resolve(argv: string[]): { file: string; args: string[] } {
    const [program, ...args] = argv;
    if (!program) throw new ExecFailedError('empty command');
    // Reading, hashing and removing a flare archive: fixed programs, and only paths the agent's flare writes.
    const FILE_TOOLS: Record<string, string> = { cat: '/bin/cat', rm: '/bin/rm', sha256sum: '/usr/bin/sha256sum' };
    if (Object.hasOwn(FILE_TOOLS, program)) {
      const path = args.at(-1) ?? '';
      const flags = args.slice(0, -1);
      const okFlags = program === 'rm' ? flags.length === 1 && flags[0] === '-f' : flags.length === 0;
      if (!okFlags || !FLARE_ARCHIVE_RE.test(path) || path.includes('..'))
        throw new ExecFailedError(`refusing to run ${program} ${args.join(' ')}: only the flare archive may be read, hashed or removed`);
      const file = FILE_TOOLS[program]!;
      return this.cfg.sudo ? { file: 'sudo', args: ['-n', '--', file, ...args] } : { file, args };
    }
    const known = new Set(['security-agent', 'system-probe', 'agent', basename(this.cfg.binary)]);
    if (!known.has(program)) throw new ExecFailedError(`refusing to run ${program}: only the agent binaries may run on the host`);
    let path = program === basename(this.cfg.binary) ? this.cfg.binary : program === 'agent' ? this.coreAgentPath() : join(dirname(this.cfg.binary), program);
    // system-probe next to a configured binary that is not in the agent's embedded/bin: the package's own path.
    if (program === 'system-probe' && path !== SYSTEM_PROBE_PATH && !existsSync(path)) path = SYSTEM_PROBE_PATH;
    return this.cfg.sudo ? { file: 'sudo', args: ['-n', '--', path, ...args] } : { file: path, args };
  }

  /**
   * The core agent beside the configured binary: `<root>/bin/agent/agent` when that is the package's
   * `<root>/embedded/bin`, else an `agent` in the same folder, else the package's own path.
   */
  coreAgentPath(): string {
    const dir = dirname(this.cfg.binary);
    if (dir.endsWith('/embedded/bin')) return join(dirname(dirname(dir)), 'bin', 'agent', 'agent');
    const beside = join(dir, 'agent');
    return existsSync(beside) ? beside : CORE_AGENT_PATH;
  }

  /** Whether an agent program (`security-agent`, `system-probe`, `agent`) is installed where this target would run it. */
  hasProgram(program: string): boolean {
    try {
      const { file, args } = this.resolve([program]);
      return existsSync(file === 'sudo' ? args[2]! : file);
    } catch {
      return false;
    }
  }

  exec(agent: AgentRef, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const { file, args } = this.resolve(argv);
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        { timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: opts.maxBytes ?? MAX_OUTPUT, encoding: 'buffer', windowsHide: true },
        (error, stdoutBytes, stderrBytes) => {
          const stdout = stdoutBytes.toString('utf8');
          const stderr = stderrBytes.toString('utf8');
          if (!error) return resolve({ stdout, stderr, exitCode: 0, ...(opts.binary ? { stdoutBytes } : {}) });
          const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
          if (e.code === 'ENOENT')
            return reject(new AgentNotFoundError(`${file === 'sudo' ? 'sudo' : file} not found on ${agent.node}`, "Check the cluster's `binary` setting."));
          if (e.code === 'EACCES')
            return reject(new AgentNotFoundError(`${file} is not executable by the worker on ${agent.node}`, 'Run the worker as root or set `sudo: true`.'));
          if (e.killed && e.signal === 'SIGKILL') return reject(new ExecTimeoutError(opts.timeoutMs, `${agent.node}`));
          if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return resolve({ stdout: `${stdout}\n[output truncated]\n`, stderr, exitCode: -1 });
          if (typeof e.code === 'number') return resolve({ stdout, stderr, exitCode: e.code, ...(opts.binary ? { stdoutBytes } : {}) });
          if (e.signal) return resolve({ stdout, stderr: `${stderr}\nkilled by ${e.signal}`, exitCode: 128 });
          reject(new ExecFailedError(`running ${file} on ${agent.node} failed: ${e.message}`));
        },
      );
    });
  }

  async openSession(agent: AgentRef, argv: string[]): Promise<ExecSession> {
    const { file, args } = this.resolve(argv);
    // Said before anything runs (also through sudo, which would only print "command not found"): the
    // flare falls back to the core agent's where security-agent is not installed.
    const program = file === 'sudo' ? args[2]! : file;
    if (!existsSync(program)) throw new AgentNotFoundError(`${program} not found on ${agent.node}`, "Check the cluster's `binary` setting.");
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const session = new SessionCore(
      {
        write: (t) => void child.stdin.write(t),
        endStdin: () => void child.stdin.end(),
        close: () => {
          child.stdin.end();
          // The agent sees EOF at its prompt and aborts; make sure nothing lingers.
          setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
        },
      },
      agent.node,
    );
    child.stdin.on('error', () => {}); // EPIPE when the command has already ended
    child.stdout.on('data', (c: Buffer) => session.pushStdout(c));
    child.stderr.on('data', (c: Buffer) => session.pushStderr(c));
    child.once('error', (err: NodeJS.ErrnoException) =>
      session.fail(
        err.code === 'ENOENT' ? new AgentNotFoundError(`${file} not found on ${agent.node}`) : new ExecFailedError(`running ${file} failed: ${err.message}`),
      ),
    );
    child.once('close', (code, signal) => session.finish(code ?? (signal ? 128 : -1)));
    return session;
  }
}
