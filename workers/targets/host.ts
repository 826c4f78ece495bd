import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { HostClusterConfig } from '../../src/config/clusters.ts';
import { AgentNotFoundError, ExecFailedError, ExecTimeoutError } from './errors.ts';
import type { AgentRef, AgentTarget, ExecOptions, ExecResult } from './types.ts';

const MAX_OUTPUT = 1024 * 1024;

/**
 * The agent installed on the worker's own machine. argv[0] names the agent binary
 * (`security-agent` or `system-probe`); it is resolved next to the configured binary,
 * so a request can never choose an arbitrary program.
 */
export class HostTarget implements AgentTarget {
  readonly kind = 'host' as const;
  readonly description: string;
  private readonly machine: string;

  constructor(private readonly cfg: HostClusterConfig, machine = hostname()) {
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
    const known = new Set(['security-agent', 'system-probe', basename(this.cfg.binary)]);
    if (!known.has(program)) throw new ExecFailedError(`refusing to run ${program}: only the agent binaries may run on the host`);
    const path = program === basename(this.cfg.binary) ? this.cfg.binary : join(dirname(this.cfg.binary), program);
    return this.cfg.sudo ? { file: 'sudo', args: ['-n', '--', path, ...args] } : { file: path, args };
  }

  exec(agent: AgentRef, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const { file, args } = this.resolve(argv);
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        { timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, encoding: 'utf8', windowsHide: true },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr, exitCode: 0 });
          const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
          if (e.code === 'ENOENT')
            return reject(new AgentNotFoundError(`${file === 'sudo' ? 'sudo' : file} not found on ${agent.node}`, 'Check the cluster\'s `binary` setting.'));
          if (e.code === 'EACCES')
            return reject(new AgentNotFoundError(`${file} is not executable by the worker on ${agent.node}`, 'Run the worker as root or set `sudo: true`.'));
          if (e.killed && e.signal === 'SIGKILL')
            return reject(new ExecTimeoutError(opts.timeoutMs, `${agent.node}`));
          if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
            return resolve({ stdout: `${stdout}\n[output truncated]\n`, stderr, exitCode: -1 });
          if (typeof e.code === 'number') return resolve({ stdout, stderr, exitCode: e.code });
          if (e.signal) return resolve({ stdout, stderr: `${stderr}\nkilled by ${e.signal}`, exitCode: 128 });
          reject(new ExecFailedError(`running ${file} on ${agent.node} failed: ${e.message}`));
        },
      );
    });
  }
}
