// Exercises the private-dockerd fixture and the fake security-agent image.
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildFakeAgentImage, dockerAvailable, runAgentContainer, startPrivateDocker, type PrivateDocker } from '../support/docker.ts';

const avail = await dockerAvailable();
if (!avail.ok && process.env.CI !== 'true') {
  console.warn(`[docker-fixture] skipped: ${avail.reason}`);
}
const runIt = avail.ok || process.env.CI === 'true';

const SELFTEST_CMD = ['security-agent', 'runtime', 'self-test'];
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const nameFor = (mode: string) => `agent-${mode}-${suffix}`;

interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  running: boolean;
}

/** Run a command in a container; if it has not finished within `waitMs`, report it as still running. */
async function execIn(docker: Docker, container: string, cmd: string[], waitMs = 10_000): Promise<ExecResult> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  docker.modem.demuxStream(stream, out, err);
  const ended = new Promise<boolean>((resolve) => {
    stream.once('end', () => resolve(true));
    stream.once('close', () => resolve(true));
    setTimeout(() => resolve(false), waitMs);
  });
  const finished = await ended;
  if (!finished) stream.destroy();
  // The stream can end a moment before the daemon records the exit code.
  let info = await exec.inspect();
  for (let i = 0; finished && info.Running && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  return { stdout, stderr, exitCode: info.ExitCode, running: info.Running };
}

describe.runIf(runIt)('private docker + fake security-agent', { timeout: 60_000 }, () => {
  let daemon: PrivateDocker | undefined;
  let docker: Docker;
  let image: string;

  beforeAll(async () => {
    const t0 = Date.now();
    daemon = await startPrivateDocker();
    const t1 = Date.now();
    image = await buildFakeAgentImage(daemon.socketPath);
    const t2 = Date.now();
    docker = new Docker({ socketPath: daemon.socketPath });
    for (const mode of ['ok', 'failed', 'disabled', 'unreachable', 'hang']) {
      await runAgentContainer(daemon.socketPath, { name: nameFor(mode), image, selftest: mode });
    }
    console.info(`[docker-fixture] dockerd ready ${t1 - t0} ms, image ${t2 - t1} ms, 5 containers ${Date.now() - t2} ms`);
  }, 60_000);

  afterAll(async () => {
    const t0 = Date.now();
    await daemon?.stop();
    console.info(`[docker-fixture] stop ${Date.now() - t0} ms`);
  }, 60_000);

  it('ok', async () => {
    const r = await execIn(docker, nameFor('ok'), SELFTEST_CMD);
    expect(r).toEqual({ stdout: 'Runtime self test: OK\n', stderr: '', exitCode: 0, running: false });
  });

  it('failed (server-side failure still exits 0)', async () => {
    const r = await execIn(docker, nameFor('failed'), SELFTEST_CMD);
    expect(r).toEqual({
      stdout: 'Runtime self test: error: failed to receive expected event: [datadog_agent_cws_self_test_rule_open datadog_agent_cws_self_test_rule_chmod]\n',
      stderr: '',
      exitCode: 0,
      running: false,
    });
  });

  it('disabled', async () => {
    const r = await execIn(docker, nameFor('disabled'), SELFTEST_CMD);
    expect(r).toEqual({
      stdout: 'Runtime self test: error: self-test is disabled\n',
      stderr: '',
      exitCode: 0,
      running: false,
    });
  });

  it('unreachable', async () => {
    const r = await execIn(docker, nameFor('unreachable'), SELFTEST_CMD);
    expect(r).toEqual({
      stdout: '',
      stderr:
        'Error: unable to get a process self test: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /opt/datadog-agent/run/runtime-security.sock: connect: no such file or directory"\n',
      exitCode: 255,
      running: false,
    });
  });

  it('hang keeps running', async () => {
    const r = await execIn(docker, nameFor('hang'), SELFTEST_CMD, 1_000);
    expect(r.running).toBe(true);
    expect(r.stdout + r.stderr).toBe('');
  });

  it('unknown command', async () => {
    const r = await execIn(docker, nameFor('ok'), ['security-agent', 'bogus']);
    expect(r).toMatchObject({ stderr: 'Error: unknown command "bogus" for "security-agent"\n', exitCode: 1 });
  });

  it('version', async () => {
    const r = await execIn(docker, nameFor('ok'), ['security-agent', '--version']);
    expect(r).toMatchObject({ stdout: expect.stringMatching(/^Security agent 7\.\d+\.\d+/), exitCode: 0 });
  });

  it('/etc/fake-agent/selftest overrides FAKE_SELFTEST in a running container', async () => {
    const name = nameFor('ok');
    const w = await execIn(docker, name, ['sh', '-c', 'echo disabled > /etc/fake-agent/selftest']);
    expect(w.exitCode).toBe(0);
    try {
      const r = await execIn(docker, name, SELFTEST_CMD);
      expect(r.stdout).toBe('Runtime self test: error: self-test is disabled\n');
    } finally {
      await execIn(docker, name, ['rm', '-f', '/etc/fake-agent/selftest']);
    }
    expect((await execIn(docker, name, SELFTEST_CMD)).stdout).toBe('Runtime self test: OK\n');
  });
});
