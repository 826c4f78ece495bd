// The fake `security-agent flare`: prompts, archive, upload outcomes — on the host and in Docker.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeAgentImage, dockerAvailable, FLARE_FIXTURE_IMAGE_DIR, runAgentContainer, startPrivateDocker, type PrivateDocker } from '../support/docker.ts';
import { FLARE_FILES, FLARE_HOSTNAME, FLARE_SECRET_API_KEY } from '../support/fake-agent/flare-fixtures.ts';
import { prepareHostAgent, type HostAgent } from '../support/host-agent.ts';
import { fakeUploads } from '../support/fake-agent/uploads.ts';

const execFileP = promisify(execFile);

const ASKING = 'Asking the Security Agent to build the flare archive.';
const CONFIRM = 'Are you sure you want to upload a flare? [y/N]';
const EMAIL = 'Please enter your email: ';
const SUCCESS = /^Your logs were successfully uploaded\. For future reference, your internal case id is (\d+)$/;
const FORBIDDEN = 'Error: HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: abcde\n';
const ARCHIVE = /^(\/\S+\/datadog-agent-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-info\.zip) is going to be uploaded to Datadog$/m;
const EXPECTED_FILES = FLARE_FILES.map((f) => `${FLARE_HOSTNAME}/${f}`);

function archiveOf(stdout: string): string {
  const m = ARCHIVE.exec(stdout);
  if (!m?.[1]) throw new Error(`no archive path in stdout:\n${stdout}`);
  return m[1];
}

/** Resolve once `get()` contains `text`; reject after `ms` with what was seen. */
function waitForText(get: () => string, text: string, ms: number, onData: (cb: () => void) => () => void): Promise<void> {
  if (get().includes(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = onData(() => {
      if (get().includes(text)) {
        clearTimeout(t);
        off();
        resolve();
      }
    });
    const t = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms waiting for ${JSON.stringify(text)}; output so far:\n${get()}`));
    }, ms);
  });
}

// ---------------------------------------------------------------------------------------------
// Host
// ---------------------------------------------------------------------------------------------

interface HostRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitFor(text: string, ms?: number): Promise<void>;
  /** Exit code (null if killed by a signal); kills the process and rejects after `ms`. */
  exit(ms?: number): Promise<number | null>;
}

function runHost(agent: HostAgent, args: string[]): HostRun {
  const child = spawn(agent.binary, args, { env: agent.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.on('error', () => undefined); // EPIPE if the script is already gone
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (text, ms = 5_000) =>
      waitForText(
        () => out,
        text,
        ms,
        (cb) => {
          child.stdout!.on('data', cb);
          return () => child.stdout!.off('data', cb);
        },
      ),
    exit: (ms = 5_000) =>
      Promise.race([
        closed,
        new Promise<never>((_, reject) =>
          setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`still running after ${ms} ms; stdout:\n${out}\nstderr:\n${err}`));
          }, ms),
        ),
      ]),
  };
}

async function unzipList(zip: string): Promise<string[]> {
  const [cmd, args] = existsSync('/usr/bin/unzip') ? ['unzip', ['-Z1', zip]] : ['busybox', ['unzip', '-l', zip]];
  const { stdout } = await execFileP(cmd, args, { timeout: 5_000 });
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/).pop() ?? '')
    .filter((n) => n.startsWith(`${FLARE_HOSTNAME}/`));
}

async function unzipCat(zip: string, member: string): Promise<string> {
  const { stdout } = await execFileP('busybox', ['unzip', '-p', zip, member], { timeout: 5_000 });
  return stdout;
}

describe('fake security-agent flare on the host', { timeout: 20_000 }, () => {
  const agents: HostAgent[] = [];
  const agent = async (flare?: string): Promise<HostAgent> => {
    const a = await prepareHostAgent(flare === undefined ? {} : { flare });
    agents.push(a);
    return a;
  };
  afterEach(() => {
    for (const a of agents.splice(0)) a.cleanup();
  });

  it('waits at the prompt; "n" aborts and leaves a real zip in $TMPDIR', async () => {
    const a = await agent();
    const run = runHost(a, ['flare', '-e', 'ops@example.com']);
    await run.waitFor(CONFIRM);
    // Still waiting for an answer: the archive can be reviewed now.
    await new Promise((r) => setTimeout(r, 200));
    expect(run.child.exitCode).toBeNull();
    const path = archiveOf(run.stdout());
    expect(path.startsWith(`${a.tmpDir}/`)).toBe(true);
    expect(await unzipList(path)).toEqual(expect.arrayContaining(EXPECTED_FILES));
    expect(await unzipCat(path, `${FLARE_HOSTNAME}/etc/datadog.yaml`)).toContain('api_key: "***************************abcde"');

    run.child.stdin!.end('n\n');
    expect(await run.exit()).toBe(0);
    expect(run.stdout()).toBe(`${ASKING}\n${path} is going to be uploaded to Datadog\n${CONFIRM}\nAborting. (You can still use ${path})\n`);
    expect(run.stderr()).toBe('');
    expect(existsSync(path)).toBe(true);
  });

  it('"y" uploads and prints a generated 7-digit case id', async () => {
    const a = await agent('ok');
    const run = runHost(a, ['flare', '--email=ops@example.com']);
    await run.waitFor(CONFIRM);
    run.child.stdin!.end('y\n');
    expect(await run.exit()).toBe(0);
    const lines = run.stdout().trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([ASKING, `${archiveOf(run.stdout())} is going to be uploaded to Datadog`, CONFIRM]);
    expect(lines[3]).toMatch(SUCCESS);
    expect(SUCCESS.exec(lines[3] ?? '')?.[1]).toMatch(/^\d{7}$/);
    expect(lines).toHaveLength(4);
    expect(run.stderr()).toBe('');
  });

  it('EOF at the prompt aborts with exit 0', async () => {
    const a = await agent();
    const run = runHost(a, ['flare', '-e', 'ops@example.com']);
    await run.waitFor(CONFIRM);
    run.child.stdin!.end();
    expect(await run.exit()).toBe(0);
    const path = archiveOf(run.stdout());
    expect(run.stdout().endsWith(`${CONFIRM}\nAborting. (You can still use ${path})\n`)).toBe(true);
    expect(existsSync(path)).toBe(true);
  });

  it('-s uploads without asking; the case id argument is echoed', async () => {
    const a = await agent();
    const run = runHost(a, ['flare', '1234567', '-e', 'ops@example.com', '-s']);
    run.child.stdin!.end();
    expect(await run.exit()).toBe(0);
    const path = archiveOf(run.stdout());
    expect(run.stdout()).toBe(
      `${ASKING}\n${path} is going to be uploaded to Datadog\n` +
        'Your logs were successfully uploaded. For future reference, your internal case id is 1234567\n',
    );
  });

  it('without -e it asks for the email first (even with a case id), then for confirmation', async () => {
    const a = await agent();
    const run = runHost(a, ['flare', '1234567']);
    await run.waitFor(EMAIL);
    expect(run.stdout()).toBe(`${EMAIL}\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(run.stdout()).toBe(`${EMAIL}\n`); // blocked on the email line
    run.child.stdin!.write('ops@example.com\n');
    await run.waitFor(CONFIRM);
    run.child.stdin!.end(' Y \r\n'); // TrimSpace'd, like the agent
    expect(await run.exit()).toBe(0);
    expect(run.stdout().startsWith(`${EMAIL}\n${ASKING}\n`)).toBe(true);
    expect(run.stdout()).toContain('your internal case id is 1234567\n');
  });

  it('forbidden: 403 on stderr, exit 255', async () => {
    const a = await agent('forbidden');
    const run = runHost(a, ['flare', '-e', 'ops@example.com', '-s']);
    run.child.stdin!.end();
    expect(await run.exit()).toBe(255);
    expect(run.stderr()).toBe(FORBIDDEN);
    expect(run.stdout()).toBe(`${ASKING}\n${archiveOf(run.stdout())} is going to be uploaded to Datadog\n\n`);
  });

  it('error: the upload error on stdout and stderr, exit 255', async () => {
    const a = await agent('error');
    const run = runHost(a, ['flare', '-e', 'ops@example.com']);
    await run.waitFor(CONFIRM);
    run.child.stdin!.end('y\n');
    expect(await run.exit()).toBe(255);
    expect(run.stdout()).toMatch(/\nAn error occurred while uploading the flare: .+\. Please contact support by email\.\n$/);
    expect(run.stderr()).toMatch(/^Error: .+\n$/);
  });

  it('secret: uploads, and the archive holds an unscrubbed API key', async () => {
    const a = await agent('secret');
    const run = runHost(a, ['flare', '-e', 'ops@example.com', '-s']);
    run.child.stdin!.end();
    expect(await run.exit()).toBe(0);
    expect(run.stdout()).toMatch(/your internal case id is \d{7}\n$/);
    const yaml = await unzipCat(archiveOf(run.stdout()), `${FLARE_HOSTNAME}/etc/datadog.yaml`);
    expect(yaml).toContain(`api_key: ${FLARE_SECRET_API_KEY}`);
  });

  it('hang: never finishes after "y"', async () => {
    const a = await agent('hang');
    const run = runHost(a, ['flare', '-e', 'ops@example.com']);
    await run.waitFor(CONFIRM);
    run.child.stdin!.end('y\n');
    await expect(run.exit(800)).rejects.toThrow(/still running after 800 ms/);
  });

  it('flag errors go through runcmd: "Error: ..." and exit 255', async () => {
    const a = await agent();
    const run = runHost(a, ['flare', '--local']);
    run.child.stdin!.end();
    expect(await run.exit()).toBe(255);
    expect(run.stderr()).toBe('Error: unknown flag: --local\n');
    expect(run.stdout()).toBe('');
  });

  it('records what it uploads: the bytes at the archive path when it sends, even if replaced after review', async () => {
    const a = await agent('ok');
    const run = runHost(a, ['flare', '4242', '-e', 'ops@example.com']);
    await run.waitFor(CONFIRM);
    const path = archiveOf(run.stdout());
    const reviewed = readFileSync(path);
    const other = Buffer.from('another archive, written in the same second');
    writeFileSync(path, other);
    run.child.stdin!.end('y\n');
    expect(await run.exit()).toBe(0);
    const [up, ...more] = fakeUploads(a.dir);
    expect(more).toEqual([]);
    expect(up).toMatchObject({ n: 1, outcome: 'ok', caseId: '4242', path, sha256: createHash('sha256').update(other).digest('hex') });
    expect(up!.bytes.equals(reviewed)).toBe(false);
    // "n" records nothing
    const no = runHost(a, ['flare', '-e', 'ops@example.com']);
    await no.waitFor(CONFIRM);
    no.child.stdin!.end('n\n');
    expect(await no.exit()).toBe(0);
    expect(fakeUploads(a.dir)).toHaveLength(1);
  });

  it('an archive removed before "y": the POST fails as the real uploader does, nothing is recorded', async () => {
    const a = await agent('ok');
    const run = runHost(a, ['flare', '77', '-e', 'ops@example.com']);
    await run.waitFor(CONFIRM);
    const path = archiveOf(run.stdout());
    rmSync(path);
    run.child.stdin!.end('y\n');
    expect(await run.exit()).toBe(255);
    expect(run.stderr()).toBe(`Error: Post "https://7-50-3-flare.agent.datadoghq.com/support/flare/77": open ${path}: no such file or directory\n`);
    expect(fakeUploads(a.dir)).toEqual([]);
  });

  it('the flare-mode file can change between runs', async () => {
    const a = await agent('ok');
    a.setModes({ flare: 'forbidden' });
    const run = runHost(a, ['flare', '-e', 'x@example.com', '-s']);
    run.child.stdin!.end();
    expect(await run.exit()).toBe(255);
  });
});

// ---------------------------------------------------------------------------------------------
// Docker
// ---------------------------------------------------------------------------------------------

const avail = await dockerAvailable();
if (!avail.ok && process.env.CI !== 'true') {
  console.warn(`[fake-flare] Docker tests skipped: ${avail.reason}`);
}
const runDocker = avail.ok || process.env.CI === 'true';
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const nameFor = (mode: string) => `flare-${mode}-${suffix}`;

interface ExecSession {
  /** The hijacked connection: write() feeds the process's stdin, end() closes it (EOF). */
  stream: Duplex;
  stdout(): string;
  stderr(): string;
  waitFor(text: string, ms?: number): Promise<void>;
  /** Wait for the stream to end (bounded), then the exit code from exec.inspect(). */
  finish(ms?: number): Promise<{ exitCode: number | null; running: boolean }>;
}

async function startExec(docker: Docker, container: string, cmd: string[], stdin: boolean): Promise<ExecSession> {
  const exec = await docker.getContainer(container).exec({
    Cmd: cmd,
    AttachStdin: stdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  // hijack: true upgrades the HTTP connection to a raw socket; with stdin: true dockerode
  // hands that socket back (it is both stdin and the multiplexed stdout/stderr stream).
  const stream = (await exec.start({ hijack: true, stdin })) as Duplex;
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  docker.modem.demuxStream(stream, out, err);
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
  return {
    stream,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (text, ms = 10_000) =>
      waitForText(
        () => stdout,
        text,
        ms,
        (cb) => {
          out.on('data', cb);
          return () => out.off('data', cb);
        },
      ),
    async finish(ms = 10_000) {
      const finished = await Promise.race([ended.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), ms))]);
      if (!finished) stream.destroy();
      let info = await exec.inspect();
      for (let i = 0; finished && info.Running && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 20));
        info = await exec.inspect();
      }
      return { exitCode: info.ExitCode, running: info.Running };
    },
  };
}

async function run(docker: Docker, container: string, cmd: string[]) {
  const s = await startExec(docker, container, cmd, false);
  const r = await s.finish();
  return { ...r, stdout: s.stdout(), stderr: s.stderr() };
}

describe.runIf(runDocker)('fake security-agent flare in Docker', { timeout: 60_000 }, () => {
  let daemon: PrivateDocker | undefined;
  let docker: Docker;

  beforeAll(async () => {
    daemon = await startPrivateDocker();
    const image = await buildFakeAgentImage(daemon.socketPath, 'cws-fake-agent:flare');
    docker = new Docker({ socketPath: daemon.socketPath });
    for (const flare of ['ok', 'forbidden', 'hang']) {
      await runAgentContainer(daemon.socketPath, { name: nameFor(flare), image, flare });
    }
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop();
  }, 60_000);

  it('has the tools a reviewer needs', async () => {
    const r = await run(docker, nameFor('ok'), [
      'sh',
      '-c',
      'for c in cat rm ls unzip sleep date hostname; do command -v $c >/dev/null || { echo missing $c; exit 1; }; done; ls ' + FLARE_FIXTURE_IMAGE_DIR,
    ]);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'flare-clean.zip\nflare-secret.zip\n' });
  });

  it('keeps the prompt open while a second exec reviews the archive, then "y" uploads it', async () => {
    const name = nameFor('ok');
    const s = await startExec(docker, name, ['security-agent', 'flare', '-e', 'ops@example.com'], true);
    await s.waitFor(CONFIRM);
    const path = archiveOf(s.stdout());
    expect(path).toMatch(/^\/tmp\/datadog-agent-/);

    const list = await run(docker, name, ['unzip', '-l', path]);
    expect(list.exitCode).toBe(0);
    for (const f of EXPECTED_FILES) expect(list.stdout).toContain(f);
    const yaml = await run(docker, name, ['unzip', '-p', path, `${FLARE_HOSTNAME}/etc/datadog.yaml`]);
    expect(yaml.stdout).toContain('api_key: "***************************abcde"');

    s.stream.write('y\n');
    s.stream.end(); // half-close: the process sees EOF on stdin, stdout keeps flowing
    const r = await s.finish();
    expect(r).toEqual({ exitCode: 0, running: false });
    expect(s.stdout().split('\n').at(-2)).toMatch(SUCCESS);
    expect(s.stderr()).toBe('');
  });

  it('closing stdin at the prompt aborts and keeps the archive', async () => {
    const name = nameFor('ok');
    const s = await startExec(docker, name, ['security-agent', 'flare', '-e', 'ops@example.com'], true);
    await s.waitFor(CONFIRM);
    s.stream.end();
    expect(await s.finish()).toEqual({ exitCode: 0, running: false });
    const path = archiveOf(s.stdout());
    expect(s.stdout().endsWith(`Aborting. (You can still use ${path})\n`)).toBe(true);
    expect((await run(docker, name, ['ls', path])).exitCode).toBe(0);
    expect((await run(docker, name, ['rm', path])).exitCode).toBe(0);
  });

  it('asks for the email first when -e is missing', async () => {
    const s = await startExec(docker, nameFor('ok'), ['security-agent', 'flare'], true);
    await s.waitFor(EMAIL);
    s.stream.write('ops@example.com\n');
    await s.waitFor(CONFIRM);
    s.stream.end('y\n');
    expect(await s.finish()).toEqual({ exitCode: 0, running: false });
    expect(s.stdout().startsWith(`${EMAIL}\n${ASKING}\n`)).toBe(true);
    expect(s.stdout()).toMatch(/your internal case id is \d{7}\n$/);
  });

  it('forbidden with -s: exit 255', async () => {
    const r = await run(docker, nameFor('forbidden'), ['security-agent', 'flare', '-e', 'ops@example.com', '-s']);
    expect(r).toMatchObject({ exitCode: 255, stderr: FORBIDDEN });
  });

  it('hang with -s keeps running', async () => {
    const s = await startExec(docker, nameFor('hang'), ['security-agent', 'flare', '-e', 'ops@example.com', '-s'], false);
    const r = await s.finish(1_000);
    expect(r.running).toBe(true);
    expect(s.stdout()).toMatch(/is going to be uploaded to Datadog\n$/);
  });

  it('/etc/fake-agent/flare switches a running container to "secret"', async () => {
    const name = nameFor('ok');
    expect((await run(docker, name, ['sh', '-c', 'echo secret > /etc/fake-agent/flare'])).exitCode).toBe(0);
    try {
      const r = await run(docker, name, ['security-agent', 'flare', '-e', 'ops@example.com', '-s']);
      expect(r.exitCode).toBe(0);
      const yaml = await run(docker, name, ['unzip', '-p', archiveOf(r.stdout), `${FLARE_HOSTNAME}/etc/datadog.yaml`]);
      expect(yaml.stdout).toContain(`api_key: ${FLARE_SECRET_API_KEY}`);
    } finally {
      await run(docker, name, ['rm', '-f', '/etc/fake-agent/flare']);
    }
  });
});
