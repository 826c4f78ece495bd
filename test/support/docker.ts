// Private, throw-away Docker engines for integration tests.
//
// Each startPrivateDocker() runs its own dockerd (vfs storage, no bridge, no
// iptables) with every path - socket, data-root, exec-root, pidfile, config
// file, trust key - inside one temp dir. dockerd 20.10 then starts its own
// containerd whose root/state/socket live under data-root/exec-root, so two
// test processes can each run one at the same time without sharing state.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { constants as fsc, createWriteStream } from 'node:fs';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { FLARE_FIXTURE_IMAGE_DIR, writeFlareFixtures } from './fake-agent/flare-fixtures.ts';

const execFileP = promisify(execFile);

export const FAKE_AGENT_SCRIPT = fileURLToPath(new URL('./fake-agent/security-agent', import.meta.url));
/** The `datadog/agent` image's PATH (its Dockerfile: `/opt/datadog-agent/bin/agent/:/opt/datadog-agent/embedded/bin/:$PATH`). */
export const AGENT_PATH_ENV = 'PATH=/opt/datadog-agent/bin/agent:/opt/datadog-agent/embedded/bin:/usr/bin:/bin';
export { FLARE_FIXTURE_IMAGE_DIR } from './fake-agent/flare-fixtures.ts';

export interface PrivateDocker {
  socketPath: string;
  stop(): Promise<void>;
}

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      await access(p, fsc.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/** Can this process run a private dockerd and build the fake-agent image? */
export async function dockerAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== 'linux') return { ok: false, reason: `needs linux, got ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root to run dockerd' };
  for (const bin of ['dockerd', 'busybox', 'tar']) {
    if (!(await which(bin))) return { ok: false, reason: `${bin} not found on PATH` };
  }
  return { ok: true };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch (e) {
    return `(no log: ${String(e)})`;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Processes left behind by a dockerd that did not shut down cleanly: those whose command line
 * names `dir` (containerd, containerd-shim-runc-v2 -address <dir>/...) plus all their
 * descendants (the container processes, which live in their own mount/pid namespaces).
 */
async function pidsUsing(dir: string): Promise<number[]> {
  const children = new Map<number, number[]>();
  const seeds: number[] = [];
  for (const ent of await readdir('/proc')) {
    const pid = Number(ent);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(dir)) seeds.push(pid);
    } catch {
      /* process went away */
    }
  }
  const found = new Set<number>();
  const queue = [...seeds];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (found.has(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...found];
}

/** Mount points at or below `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function cleanupDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    for (const pid of await pidsUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const mp of await mountsUnder(dir)) {
      await execFileP('umount', ['-l', mp]).catch(() => undefined);
    }
    // Never recurse into something still mounted (a bind mount could point at host files).
    if ((await mountsUnder(dir)).length === 0) {
      try {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        return;
      } catch (e) {
        if (attempt >= 5) throw e;
      }
    } else if (attempt >= 5) {
      throw new Error(`cannot unmount everything under ${dir}: ${(await mountsUnder(dir)).join(', ')}`);
    }
    await sleep(200);
  }
}

/** Start a private dockerd; resolves once it answers /_ping (30 s max). */
export async function startPrivateDocker(): Promise<PrivateDocker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cwsd-'));
  const socketPath = path.join(dir, 'docker.sock');
  const logFile = path.join(dir, 'dockerd.log');
  // Own config file: ignores any host /etc/docker/daemon.json, and keeps the trust key
  // out of /etc/docker/key.json (shared and racy between parallel daemons; no CLI flag for it).
  await writeFile(path.join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': `${dir}/key.json` }) + '\n');

  const log = createWriteStream(logFile);
  await new Promise((r) => log.once('open', r));
  const child = spawn(
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--host=unix://${socketPath}`,
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/docker.pid`,
      `--config-file=${dir}/daemon.json`,
      '--shutdown-timeout=2',
    ],
    { stdio: ['ignore', log, log] },
  );
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  // If the test process dies without calling stop(), dockerd would outlive it: ask it to shut
  // down (it stops its containers and containerd itself). The temp dir is left behind then.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if (!(await waitExit(child, 10_000))) {
          child.kill('SIGKILL');
          await waitExit(child, 5_000);
        }
      }
      log.end();
      await cleanupDir(dir);
    })());

  const docker = new Docker({ socketPath });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      const why = spawnError ? String(spawnError) : `exited with ${child.exitCode ?? child.signalCode}`;
      const logTail = await tail(logFile);
      await stop();
      throw new Error(`dockerd ${why}; log tail:\n${logTail}`);
    }
    try {
      await docker.ping();
      return { socketPath, stop };
    } catch {
      /* not ready yet */
    }
    if (Date.now() > deadline) {
      const logTail = await tail(logFile);
      await stop();
      throw new Error(`dockerd not ready after 30 s; log tail:\n${logTail}`);
    }
    await sleep(100);
  }
}

const BUSYBOX_APPLETS = [
  'sh',
  'sleep',
  'cat',
  'echo',
  'tail',
  'head',
  'rm',
  'ls',
  'mkdir',
  'printf',
  'test',
  '[',
  'env',
  'true',
  'false',
  'grep',
  'ps',
  'kill',
  'id',
  'touch',
  'cp',
  'mv',
  'ln',
  'chmod',
  'wc',
  // used by `security-agent flare` and by tests that inspect its archive
  'unzip',
  'date',
  'hostname',
  'dirname',
  'basename',
  'sed',
  'awk',
  'stat',
  'find',
  'uname',
  'tr',
  'cut',
];

/**
 * Import a tiny busybox rootfs carrying the fake security-agent and its flare archives
 * (FLARE_FIXTURE_IMAGE_DIR); returns the image reference. `coreAgent` adds the fake core agent at
 * /opt/datadog-agent/bin/agent/agent (where the `datadog/agent` image has it); `securityAgent: false`
 * leaves the security-agent out (an image or container without it).
 */
export async function buildFakeAgentImage(
  socketPath: string,
  tag = 'cws-fake-agent:test',
  opts: { securityAgent?: boolean; coreAgent?: boolean } = {},
): Promise<string> {
  const busybox = await which('busybox');
  if (!busybox) throw new Error('busybox not found on PATH');
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  const [repo, version] = colon > slash ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cws-rootfs-'));
  try {
    const root = path.join(tmp, 'rootfs');
    const agentDir = path.join(root, 'opt/datadog-agent/embedded/bin');
    for (const d of ['bin', 'usr/bin', 'etc/fake-agent', 'tmp', 'proc', 'sys', 'dev', agentDir]) {
      await mkdir(path.resolve(root, d), { recursive: true });
    }
    await chmod(path.join(root, 'tmp'), 0o1777);
    await copyFile(busybox, path.join(root, 'bin/busybox'));
    await chmod(path.join(root, 'bin/busybox'), 0o755);
    for (const applet of BUSYBOX_APPLETS) await symlink('busybox', path.join(root, 'bin', applet));
    if (opts.securityAgent !== false) {
      await copyFile(FAKE_AGENT_SCRIPT, path.join(agentDir, 'security-agent'));
      await chmod(path.join(agentDir, 'security-agent'), 0o755);
      await symlink('/opt/datadog-agent/embedded/bin/security-agent', path.join(root, 'usr/bin/security-agent'));
    }
    if (opts.coreAgent) {
      const coreDir = path.join(root, 'opt/datadog-agent/bin/agent');
      await mkdir(coreDir, { recursive: true });
      await copyFile(FAKE_AGENT_SCRIPT, path.join(coreDir, 'agent'));
      await chmod(path.join(coreDir, 'agent'), 0o755);
    }
    await writeFlareFixtures(path.join(root, FLARE_FIXTURE_IMAGE_DIR), { core: opts.coreAgent === true });

    const tar = spawn('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tarErr = '';
    tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
    const tarDone = new Promise<void>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}: ${tarErr}`))));
    });

    const docker = new Docker({ socketPath });
    const stream = await docker.importImage(tar.stdout, { repo, tag: version });
    const output = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out as Array<{ error?: string }>))),
    );
    await tarDone;
    const failed = output.find((o) => o.error ?? o.errorDetail);
    if (failed) throw new Error(`docker import failed: ${failed.error ?? failed.errorDetail?.message}`);
    const ref = `${repo}:${version}`;
    await docker.getImage(ref).inspect(); // throws if the import silently produced nothing
    return ref;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Create and start a long-running container of the fake-agent image (no network).
 * `selftest` sets FAKE_SELFTEST and `flare` sets FAKE_FLARE (both default to "ok"); the files
 * /etc/fake-agent/selftest and /etc/fake-agent/flare override them in a running container.
 * `securityAgentStopped` creates /etc/fake-agent/security-agent-stopped: the security-agent process
 * is not running (its flare builds a partial archive locally), as when its s6 service exited.
 * `uploads` sets FAKE_FLARE_UPLOADS (where the fake records what an upload sent).
 */
export async function runAgentContainer(
  socketPath: string,
  opts: { name: string; image: string; selftest?: string; flare?: string; securityAgentStopped?: boolean; uploads?: string },
): Promise<void> {
  const docker = new Docker({ socketPath });
  const container = await docker.createContainer({
    name: opts.name,
    Image: opts.image,
    Cmd: ['/bin/sleep', '2147483647'],
    Env: [
      AGENT_PATH_ENV,
      `FAKE_SELFTEST=${opts.selftest ?? 'ok'}`,
      `FAKE_FLARE=${opts.flare ?? 'ok'}`,
      ...(opts.uploads ? [`FAKE_FLARE_UPLOADS=${opts.uploads}`] : []),
    ],
    // sleep as PID 1 ignores SIGTERM; SIGKILL keeps `docker stop` and daemon shutdown instant.
    StopSignal: 'SIGKILL',
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  if (opts.securityAgentStopped) {
    const exec = await container.exec({ Cmd: ['touch', '/etc/fake-agent/security-agent-stopped'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.resume();
    });
    if ((await exec.inspect()).ExitCode !== 0) throw new Error(`could not mark the security-agent stopped in ${opts.name}`);
  }
}
