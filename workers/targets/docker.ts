import Docker from 'dockerode';
import type { DockerClusterConfig } from '../../src/config/clusters.ts';
import { AgentNotFoundError, AgentUnreachableError, ExecFailedError, ExecTimeoutError } from './errors.ts';
import { CappedSink } from './output.ts';
import { pushSink, SessionCore } from './session.ts';
import type { AgentRef, AgentTarget, ExecOptions, ExecResult, ExecSession } from './types.ts';

/** Connection options for dockerode from a socket path or a DOCKER_HOST-style URL. */
export function dockerConnection(cfg: Pick<DockerClusterConfig, 'socket' | 'host'>, env = process.env): Docker.DockerOptions {
  const spec = cfg.host ?? cfg.socket ?? env.DOCKER_HOST ?? '/var/run/docker.sock';
  if (spec.startsWith('/')) return { socketPath: spec };
  const url = new URL(spec);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (url.protocol === 'tcp:' || url.protocol === 'http:') return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
  if (url.protocol === 'https:') return { host: url.hostname, port: Number(url.port || 2376), protocol: 'https' };
  throw new Error(`unsupported Docker endpoint ${spec}`);
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE']);
/**
 * What the engine's runtime says when the exec'd program is not in the container, with exit code
 * 126/127 (`OCI runtime exec failed: exec failed: … exec: "security-agent": executable file not
 * found in $PATH: unknown`): the command never ran.
 */
const NOT_IN_CONTAINER = /OCI runtime exec failed|executable file not found in \$PATH/;
const notInContainer = (exitCode: number, output: string) => (exitCode === 126 || exitCode === 127) && NOT_IN_CONTAINER.test(output);

export class DockerTarget implements AgentTarget {
  readonly kind = 'docker' as const;
  readonly description: string;
  private readonly docker: Docker;
  private engineName?: string;

  constructor(
    private readonly cfg: DockerClusterConfig,
    docker?: Docker,
  ) {
    const conn = dockerConnection(cfg);
    this.docker = docker ?? new Docker(conn);
    this.description = conn.socketPath ? `Docker engine at unix://${conn.socketPath}` : `Docker engine at ${conn.host}:${conn.port}`;
  }

  private unreachable(err: unknown): AgentUnreachableError {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return new AgentUnreachableError(`${this.description} is unreachable (${code})`, 'Check that dockerd is running and that the worker can open its socket.');
  }

  private isUnreachable(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && UNREACHABLE_CODES.has(code);
  }

  async listAgents(filter?: { node?: string }): Promise<AgentRef[]> {
    let name: string;
    try {
      name = this.engineName ??= (await this.docker.info()).Name as string;
    } catch (err) {
      throw this.isUnreachable(err) ? this.unreachable(err) : err;
    }
    if (filter?.node && filter.node !== name) return [];
    const ref: AgentRef = { node: name, pod: this.cfg.container };
    try {
      const info = await this.docker.getContainer(this.cfg.container).inspect();
      if (!info.State.Running) ref.unavailable = `container ${this.cfg.container} is ${info.State.Status}, not running`;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) ref.unavailable = `container ${this.cfg.container} not found on ${this.description}`;
      else if (this.isUnreachable(err)) throw this.unreachable(err);
      else throw err;
    }
    return [ref];
  }

  private async createExec(agent: AgentRef, argv: string[], stdin: boolean): Promise<Docker.Exec> {
    const container = this.docker.getContainer(agent.pod);
    try {
      return await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, AttachStdin: stdin, Tty: false });
    } catch (err) {
      if (this.isUnreachable(err)) throw this.unreachable(err);
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) throw new AgentNotFoundError(`container ${agent.pod} not found on ${this.description}`);
      if (status === 409) throw new AgentNotFoundError(`container ${agent.pod} is not running on ${this.description}`);
      throw new ExecFailedError(`docker exec into ${agent.pod} failed: ${(err as Error).message}`);
    }
  }

  async exec(agent: AgentRef, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const exec = await this.createExec(agent, argv, false);
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new CappedSink(opts.maxBytes);
    const err = new CappedSink();
    this.docker.modem.demuxStream(stream, out, err);

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        // The Engine API cannot kill an exec'd process; it ends with the container or by itself.
        reject(new ExecTimeoutError(opts.timeoutMs, `container ${agent.pod} (${agent.node})`));
      }, opts.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', (e: Error) => {
        clearTimeout(timer);
        reject(this.isUnreachable(e) ? this.unreachable(e) : new ExecFailedError(`docker exec stream failed: ${e.message}`));
      });
    });
    const inspected = await exec.inspect();
    if (inspected.Running) {
      // The stream closed before the process: treat as a broken session, not a result.
      throw new ExecFailedError(`docker exec session into ${agent.pod} closed before the command finished`);
    }
    return { stdout: out.text(), stderr: err.text(), exitCode: inspected.ExitCode ?? -1, ...(opts.binary ? { stdoutBytes: out.bytes() } : {}) };
  }

  /**
   * Whether `program` runs in the agent's container (found on its PATH): `<program> version`, which
   * every agent binary has and which changes nothing. The `datadog/agent` image runs every agent
   * process in one container (s6 services) and puts `/opt/datadog-agent/bin/agent/` (the core
   * agent) and `/opt/datadog-agent/embedded/bin/` (security-agent, system-probe) on PATH.
   */
  async hasProgram(program: string): Promise<boolean> {
    const [agent] = await this.listAgents();
    if (!agent || agent.unavailable) return false;
    const r = await this.exec(agent, [program, 'version'], { timeoutMs: 10_000 }).catch(() => undefined);
    return r !== undefined && !notInContainer(r.exitCode, `${r.stdout}\n${r.stderr}`);
  }

  async openSession(agent: AgentRef, argv: string[]): Promise<ExecSession> {
    const exec = await this.createExec(agent, argv, true);
    const stream = await exec.start({ hijack: true, stdin: true });
    const session = new SessionCore(
      {
        write: (t) => void stream.write(t),
        // Half-close: the engine closes the process's stdin, as `docker exec -i` does on EOF.
        endStdin: () => void stream.end(),
        close: () => {
          stream.end();
          setTimeout(() => stream.destroy(), 5000).unref();
        },
      },
      `container ${agent.pod} (${agent.node})`,
    );
    this.docker.modem.demuxStream(
      stream,
      pushSink((c) => session.pushStdout(c)),
      pushSink((c) => session.pushStderr(c)),
    );
    let ended = false;
    const onEnd = () => {
      if (ended) return;
      ended = true;
      exec.inspect().then(
        (i) => {
          const out = session.output();
          // A program the container does not have never ran: not a result of it (flare.ts falls back on this).
          if (notInContainer(i.ExitCode ?? -1, `${out.stdout}\n${out.stderr}`))
            session.fail(new AgentNotFoundError(`${argv[0]} not found in container ${agent.pod} on ${this.description}`));
          else session.finish(i.ExitCode ?? -1);
        },
        (e: Error) => session.fail(new ExecFailedError(`docker exec inspect failed: ${e.message}`)),
      );
    };
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', (e: Error) =>
      session.fail(this.isUnreachable(e) ? this.unreachable(e) : new ExecFailedError(`docker exec stream failed: ${e.message}`)),
    );
    return session;
  }
}
