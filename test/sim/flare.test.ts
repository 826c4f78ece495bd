/**
 * `security-agent flare` in the simulator: the pure parts (command line, archive name, scrubber,
 * zip), the prompt reader's bufio semantics, and the whole exchange over the REAL
 * @kubernetes/client-node Exec (v5.channel.k8s.io, stdin as a stream) and kubectl.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentLogLevel,
  DEFAULT_API_KEY,
  DEFAULT_APP_KEY,
  FLARE_FILE_NAMES,
  flareArchivePath,
  flareFiles,
  goFloat,
  zipFlare,
} from '../../src/sim/flare-archive.ts';
import { forbiddenError, parseFlareCommandLine } from '../../src/sim/flare-cli.ts';
import { replaceFlareArchive } from '../../src/sim/flare-tools.ts';
import { parseFleet, type Simulator, startSimulator } from '../../src/sim/index.ts';
import { hideKeyExceptLastFiveChars, scrubBytes, scrubYaml } from '../../src/sim/scrubber.ts';
import { PromptReader } from '../../src/sim/stdin-reader.ts';
import { execCollect, until, within } from './support.ts';

const NS = 'datadog';
const ARCHIVE = /^\/tmp\/datadog-agent-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-info\.zip$/;
const dec = new TextDecoder();

describe('flare command line (cobra/pflag)', () => {
  it('takes a case id, -e/--email (also --email=x, -ex), -s/--send, interspersed', () => {
    expect(parseFlareCommandLine(['123', '-e', 'a@b.co'])).toEqual({ kind: 'run', options: { caseId: '123', email: 'a@b.co', send: false } });
    expect(parseFlareCommandLine(['--email=a@b.co', '-s', '42'])).toEqual({ kind: 'run', options: { caseId: '42', email: 'a@b.co', send: true } });
    expect(parseFlareCommandLine(['-sea@b.co'])).toEqual({ kind: 'run', options: { caseId: '', email: 'a@b.co', send: true } });
    expect(parseFlareCommandLine(['--send=false', '--email', 'x@y.z'])).toEqual({ kind: 'run', options: { caseId: '', email: 'x@y.z', send: false } });
    expect(parseFlareCommandLine(['--', '-7'])).toEqual({ kind: 'run', options: { caseId: '-7', email: '', send: false } });
    expect(parseFlareCommandLine(['-h']).kind).toBe('help');
  });

  it('rejects what pflag rejects, with its words', () => {
    expect(parseFlareCommandLine(['--local'])).toEqual({ kind: 'error', message: 'unknown flag: --local' });
    expect(parseFlareCommandLine(['--local=1'])).toEqual({ kind: 'error', message: 'unknown flag: --local' });
    expect(parseFlareCommandLine(['-x'])).toEqual({ kind: 'error', message: "unknown shorthand flag: 'x' in -x" });
    expect(parseFlareCommandLine(['-sx'])).toEqual({ kind: 'error', message: "unknown shorthand flag: 'x' in -x" });
    expect(parseFlareCommandLine(['-e'])).toEqual({ kind: 'error', message: "flag needs an argument: 'e' in -e" });
    expect(parseFlareCommandLine(['--email'])).toEqual({ kind: 'error', message: 'flag needs an argument: --email' });
    expect(parseFlareCommandLine(['--send=maybe'])).toEqual({
      kind: 'error',
      message: 'invalid argument "maybe" for "-s, --send" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    });
  });

  it('403 names the last five characters of the API key', () => {
    expect(forbiddenError('abcd123abcd12344abcd1234')).toBe('HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: d1234');
    expect(forbiddenError('')).toBe('HTTP 403 Forbidden: API key is missing');
  });
});

describe('flare archive (pure)', () => {
  it('is named after the UTC time (RFC 3339, ":" → "-") and the log level, in /tmp', () => {
    expect(flareArchivePath(new Date(Date.UTC(2024, 4, 14, 9, 12, 33, 456)), 'info')).toBe('/tmp/datadog-agent-2024-05-14T09-12-33Z-info.zip');
    expect(agentLogLevel({ DD_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(agentLogLevel({ DD_LOG_LEVEL: 'chatty' })).toBe('info');
    expect(agentLogLevel({})).toBe('info');
  });

  it('scrubs as the agent does: YAML re-marshalled with single quotes, other text with double quotes, comments and the final newline gone', () => {
    expect(hideKeyExceptLastFiveChars(DEFAULT_API_KEY)).toBe('***************************b0a99');
    expect(hideKeyExceptLastFiveChars('short')).toBe('********');
    expect(scrubYaml(`# comment\nsite: datadoghq.com\napi_key: ${DEFAULT_API_KEY}\npassword: hunter2\ntags:\n  - a\n`)).toBe(
      'api_key: \'***************************b0a99\'\npassword: "********"\nsite: datadoghq.com\ntags:\n- a',
    );
    expect(scrubBytes(`# c\nkey in text: ${DEFAULT_API_KEY}\n\nDD_APP_KEY=${DEFAULT_APP_KEY}\n`)).toBe(
      `key in text: "***************************b0a99"\n\nDD_APP_KEY=***********************************21100`,
    );
    expect(scrubBytes('url: https://user:s3cret@example.com/x')).toBe('url: https://user:********@example.com/x');
    expect(goFloat(23_471_096)).toBe('2.3471096e+07');
    expect(goFloat(142_187)).toBe('142187');
  });

  const input = {
    hostname: 'node-1',
    now: new Date(Date.UTC(2024, 4, 14, 9, 12, 33)),
    podName: 'datadog-agent-abcde',
    podUid: '0f6f2a4e-1111-2222-3333-444455556666',
    podStartedAt: new Date(Date.UTC(2024, 4, 14, 8, 0, 0)),
    nodeIP: '10.0.0.10',
    kernelVersion: '5.15.0-1067-aws',
    agentVersion: '7.50.3',
    env: { DD_API_KEY: DEFAULT_API_KEY, DD_LOG_LEVEL: 'info' },
    apiKey: DEFAULT_API_KEY,
    appKey: DEFAULT_APP_KEY,
    systemProbeYaml: undefined,
    statusText: 'Security Agent (v7.50.3)\n',
    secretIn: null,
  };

  it('holds <hostname>/… files in walk order, stored, mode 0644, no secret in clear', () => {
    const files = flareFiles(input);
    expect(files.map((f) => f.name)).toEqual([...FLARE_FILE_NAMES]);
    const zip = zipFlare('node-1', files, input.now);
    const entries = unzipSync(zip);
    expect(Object.keys(entries)).toEqual(FLARE_FILE_NAMES.map((n) => `node-1/${n}`));
    const all = Object.values(entries)
      .map((b) => dec.decode(b))
      .join('\n');
    expect(all).not.toContain(DEFAULT_API_KEY);
    expect(all).not.toContain(DEFAULT_APP_KEY);
    expect(dec.decode(entries['node-1/etc/datadog.yaml'])).toContain("api_key: '***************************b0a99'");
    expect(dec.decode(entries['node-1/envvars.log'])).toMatch(/^Found the following envvars:\n -  DD_KUBERNETES_KUBELET_HOST=10\.0\.0\.10\n/);
    expect(dec.decode(entries['node-1/envvars.log'])).not.toContain('DD_API_KEY');
    expect(dec.decode(entries['node-1/logs/security-agent.log'])).toMatch(
      /^2024-05-14 08:00:01 UTC \| SECURITY \| INFO \| \(cmd\/security-agent\/.*\) \| Hostname is: node-1\n/,
    );
    // Central directory: made by Unix (3), Store (0), external attributes = regular file 0644.
    const cd = Buffer.from(zip).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const view = Buffer.from(zip.subarray(cd));
    expect(view[5]).toBe(3);
    expect(view.readUInt16LE(10)).toBe(0);
    expect(view.readUInt32LE(38) >>> 16).toBe(0o100644);
  });

  it('secretIn leaves an API key and an app key in clear in that file only', () => {
    const files = flareFiles({ ...input, secretIn: 'etc/datadog.yaml' });
    const yaml = files.find((f) => f.name === 'etc/datadog.yaml')!.content;
    expect(yaml).toContain(`api_key: ${DEFAULT_API_KEY}`);
    expect(yaml).toContain(`DD_APP_KEY=${DEFAULT_APP_KEY}`);
    expect(files.filter((f) => f.content.includes(DEFAULT_API_KEY)).map((f) => f.name)).toEqual(['etc/datadog.yaml']);
    const log = flareFiles({ ...input, secretIn: 'logs/security-agent.log' }).find((f) => f.name === 'logs/security-agent.log')!.content;
    expect(log).toMatch(new RegExp(`api_key: ${DEFAULT_API_KEY}\nDD_APP_KEY=${DEFAULT_APP_KEY}\n$`));
  });

  it('the fleet spec validates the flare section: strict keys, files: default only, secretIn a file of the archive', () => {
    const problems = (text: string) => {
      try {
        parseFleet(text, 'f.yaml');
        return [];
      } catch (e) {
        return (e as Error).message.split('\n');
      }
    };
    expect(problems('name: a\nnodes: { flare: { upload: ok, latencyMs: 5, hang: false, files: default, secretIn: etc/datadog.yaml } }')).toEqual([]);
    expect(problems('name: a\nnodes: { flare: { uplaod: ok } }')).toEqual(['f.yaml: nodes.flare.uplaod: unknown key']);
    expect(problems('name: a\nnodes: { flare: { files: [etc/datadog.yaml] } }')).toEqual([
      'f.yaml: nodes.flare.files: ["etc/datadog.yaml"] is not supported (only "default" is)',
    ]);
    expect(problems('name: a\nnodes: { flare: { files: minimal } }')).toEqual(['f.yaml: nodes.flare.files: "minimal" is not supported (only "default" is)']);
    expect(problems('name: a\nnodes: { flare: { secretIn: etc/nope.yaml } }')[0]).toMatch(
      /^f\.yaml: nodes\.flare\.secretIn: "etc\/nope\.yaml" is not a file of the flare archive \(one of: compliance\.d\/cis-docker\.yaml, /,
    );
    expect(problems('name: a\nnodes: { count: 2, overrides: { node-2: { flare: { hang: maybe } } } }')[0]).toMatch(
      /^f\.yaml: nodes\.overrides\.node-2\.flare\.hang: /,
    );
  });
});

describe('prompt reader (bufio.Scanner per prompt)', () => {
  it('reads one line per prompt; two answers that arrive together serve only the first', async () => {
    const s = new PassThrough();
    const r = new PromptReader(s);
    s.write('a@b.co\r\ny\n');
    expect(await r.readLine()).toEqual({ line: 'a@b.co', eof: false });
    s.end();
    expect(await r.readLine()).toEqual({ line: '', eof: true });
  });

  it('waits across chunks for the newline; EOF ends a line without one', async () => {
    const s = new PassThrough();
    const r = new PromptReader(s);
    const p = r.readLine();
    s.write('Y');
    await new Promise((res) => setTimeout(res, 10));
    s.write('es\n');
    expect(await p).toEqual({ line: 'Yes', eof: false });
    const q = r.readLine();
    s.end('y');
    expect(await q).toEqual({ line: 'y', eof: true });
  });

  it('fails past 64 KiB without a newline, as bufio.Scanner does', async () => {
    const s = new PassThrough();
    s.end('x'.repeat(70_000));
    expect(await new PromptReader(s).readLine()).toEqual({ error: 'bufio.Scanner: token too long' });
  });
});

// ── over the wire ─────────────────────────────────────────────────────────────────────────

const FLEET = `
name: flare-sim
nodes:
  count: 6
  flare: { upload: ok, latencyMs: 20 }
  overrides:
    node-2: { flare: { upload: forbidden } }
    node-3: { flare: { upload: error } }
    node-4: { flare: { hang: true } }
    node-5: { flare: { secretIn: etc/datadog.yaml } }
`;

let sim: Simulator;
let kc: KubeConfig;
const podOn = (node: string) => sim.state.agentPod(node)!.metadata.name;
const filesOn = (node: string) => sim.state.podFiles(NS, podOn(node))!;

beforeAll(async () => {
  sim = await startSimulator({ fleet: parseFleet(FLEET, 'flare-fleet') });
  kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
});
afterAll(async () => {
  await sim?.close();
});

/** A flare exec with stdin open: output as it comes, the answers written when the test decides. */
async function openFlare(node: string, args: string[]) {
  const stdin = new PassThrough();
  let stdout = '';
  let stderr = '';
  let status: V1Status | undefined;
  const sink = (push: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (push(c.toString('utf8')), cb()) });
  const ws = await within(
    new Exec(kc).exec(
      NS,
      podOn(node),
      'security-agent',
      ['security-agent', 'flare', ...args],
      sink((s) => (stdout += s)),
      sink((s) => (stderr += s)),
      stdin,
      false,
      (s) => {
        status = s;
      },
    ),
    5_000,
    'exec upgrade',
  );
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  return {
    stdin,
    ws,
    out: () => stdout,
    err: () => stderr,
    status: () => status,
    waitFor: (text: string) => until(() => stdout.includes(text), 5_000, `"${text.trim()}" on stdout (so far: ${JSON.stringify(stdout)})`),
    done: () => within(closed, 10_000, 'the flare session to end'),
  };
}

const pathIn = (stdout: string) => /^(\S+) is going to be uploaded to Datadog$/m.exec(stdout)?.[1] ?? '';

describe('security-agent flare over client-node exec (v5, stdin)', () => {
  it('asks for confirmation after the path line; y uploads that archive, with the case id', async () => {
    const f = await openFlare('node-1', ['1234567', '-e', 'ops@example.com']);
    await f.waitFor('Are you sure you want to upload a flare? [y/N]\n');
    const path = pathIn(f.out());
    expect(path).toMatch(ARCHIVE);
    expect(f.out()).toBe(
      `Asking the Security Agent to build the flare archive.\n${path} is going to be uploaded to Datadog\nAre you sure you want to upload a flare? [y/N]\n`,
    );
    const reviewed = filesOn('node-1').read(path)!.data;
    f.stdin.write('y\n');
    await f.done();
    expect(f.out()).toMatch(/\nYour logs were successfully uploaded\. For future reference, your internal case id is 1234567\n$/);
    expect(f.err()).toBe('');
    expect(f.status()).toEqual({ metadata: {}, status: 'Success' });
    const [upload] = sim.state.flareUploads('node-1');
    expect(upload).toMatchObject({ node: 'node-1', path, caseId: '1234567', email: 'ops@example.com', outcome: 'ok', responseCaseId: 1234567 });
    expect(Buffer.from(upload!.archive).equals(Buffer.from(reviewed))).toBe(true);
    expect(filesOn('node-1').read(path)).toBeDefined(); // the agent does not remove it after sending
  });

  it('n aborts, exit 0, the archive stays; cat returns a valid zip; rm -f removes it', async () => {
    const f = await openFlare('node-1', ['-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    f.stdin.write('n\n');
    await f.done();
    const path = pathIn(f.out());
    expect(f.out()).toMatch(new RegExp(`\\nAborting\\. \\(You can still use ${path.replaceAll('.', '\\.')}\\)\\n$`));
    expect(f.status()).toEqual({ metadata: {}, status: 'Success' });

    const pod = podOn('node-1');
    const stdout: Buffer[] = [];
    let status: V1Status | undefined;
    const ws = await new Exec(kc).exec(
      NS,
      pod,
      'security-agent',
      ['cat', path],
      new Writable({ write: (c: Buffer, _e, cb) => (stdout.push(Buffer.from(c)), cb()) }),
      null,
      null,
      false,
      (s) => (status = s),
    );
    await within(new Promise((r) => ws.on('close', r)), 5_000, 'cat');
    expect(status).toEqual({ metadata: {}, status: 'Success' });
    const zip = Buffer.concat(stdout);
    expect(zip.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    expect(zip.equals(Buffer.from(filesOn('node-1').read(path)!.data))).toBe(true);
    const entries = unzipSync(new Uint8Array(zip));
    expect(Object.keys(entries)).toEqual(
      expect.arrayContaining([
        'node-1/security-agent-status.log',
        'node-1/etc/datadog.yaml',
        'node-1/logs/security-agent.log',
        'node-1/runtime-security.d/default.policy',
        'node-1/flare_creation.log',
      ]),
    );
    expect(dec.decode(entries['node-1/etc/datadog.yaml'])).toContain("api_key: '***************************b0a99'");
    expect(dec.decode(entries['node-1/security-agent-status.log'])).toContain('Runtime Security');

    const ls = await execCollect(kc, NS, pod, 'security-agent', ['ls', '-l', path]);
    expect(ls.stdout).toMatch(new RegExp(`^-rw------- 1 dd-agent root ${zip.length} \\w{3} [ \\d]\\d \\d\\d:\\d\\d ${path.replaceAll('.', '\\.')}\\n$`));
    const rm = await execCollect(kc, NS, pod, 'security-agent', ['rm', '-f', path]);
    expect(rm).toMatchObject({ stdout: '', stderr: '', status: { status: 'Success' } });
    expect(filesOn('node-1').read(path)).toBeUndefined();
    const again = await execCollect(kc, NS, pod, 'security-agent', ['cat', path]);
    expect(again.stderr).toBe(`cat: ${path}: No such file or directory\n`);
    expect(again.status?.message).toBe('command terminated with non-zero exit code: command terminated with exit code 1');
    const rm2 = await execCollect(kc, NS, pod, 'security-agent', ['rm', path]);
    expect(rm2.stderr).toBe(`rm: cannot remove '${path}': No such file or directory\n`);
    expect((await execCollect(kc, NS, pod, 'security-agent', ['rm', '-f', path])).status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('stdin half-closed (channel 255) at the prompt is EOF: abort, exit 0, archive kept, nothing uploaded', async () => {
    const before = sim.state.flareUploads().length;
    const f = await openFlare('node-6', ['-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    f.stdin.end(); // client-node sends [255, 0] over v5
    await f.done();
    const path = pathIn(f.out());
    expect(f.out()).toMatch(/\nAborting\. \(You can still use \S+\)\n$/);
    expect(f.status()).toEqual({ metadata: {}, status: 'Success' });
    expect(filesOn('node-6').list('/tmp')).toContain(path);
    expect(sim.state.flareUploads().length).toBe(before);
  });

  it('closing the session at the prompt aborts: the archive stays, nothing is uploaded, nothing keeps running', async () => {
    const before = sim.state.flareUploads().length;
    const f = await openFlare('node-6', ['99', '-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    const path = pathIn(f.out());
    f.ws.close();
    await f.done();
    await until(() => sim.activeExecs() === 0, 5_000, 'the exec session to be gone');
    expect(filesOn('node-6').read(path)).toBeDefined();
    expect(sim.state.flareUploads().length).toBe(before);
  });

  it('exec without stdin: both prompts read EOF — an empty email, then the abort (exit 0)', async () => {
    const r = await execCollect(kc, NS, podOn('node-1'), 'security-agent', ['security-agent', 'flare', '4242']);
    expect(r.stdout).toMatch(
      /^Please enter your email: \nAsking the Security Agent to build the flare archive\.\n(\S+) is going to be uploaded to Datadog\nAre you sure you want to upload a flare\? \[y\/N\]\nAborting\. \(You can still use \1\)\n$/,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toEqual({ metadata: {}, status: 'Success' });
  });

  it('sha256sum answers as GNU coreutils: "<hex>  <path>", a missing file on stderr with exit 1', async () => {
    const f = await openFlare('node-1', ['-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    const path = pathIn(f.out());
    const pod = podOn('node-1');
    const hex = createHash('sha256').update(filesOn('node-1').read(path)!.data).digest('hex');
    expect(await execCollect(kc, NS, pod, 'security-agent', ['sha256sum', path])).toMatchObject({
      stdout: `${hex}  ${path}\n`,
      stderr: '',
      status: { status: 'Success' },
    });
    expect((await execCollect(kc, NS, pod, 'security-agent', ['/usr/bin/sha256sum', '-b', path])).stdout).toBe(`${hex} *${path}\n`);
    expect((await execCollect(kc, NS, pod, 'security-agent', ['sha256sum', '--tag', path])).stdout).toBe(`SHA256 (${path}) = ${hex}\n`);
    const missing = await execCollect(kc, NS, pod, 'security-agent', ['sha256sum', '/tmp/nope.zip', path]);
    expect(missing.stdout).toBe(`${hex}  ${path}\n`); // the others still print
    expect(missing.stderr).toBe('sha256sum: /tmp/nope.zip: No such file or directory\n');
    expect(missing.status?.message).toBe('command terminated with non-zero exit code: command terminated with exit code 1');
    expect((await execCollect(kc, NS, pod, 'security-agent', ['sha256sum', '/tmp'])).stderr).toBe('sha256sum: /tmp: Is a directory\n');
    expect((await execCollect(kc, NS, pod, 'security-agent', ['sha256sum', '-q', path])).stderr).toBe(
      "sha256sum: invalid option -- 'q'\nTry 'sha256sum --help' for more information.\n",
    );
    const empty = createHash('sha256').update('').digest('hex');
    expect((await execCollect(kc, NS, pod, 'security-agent', ['sha256sum'])).stdout).toBe(`${empty}  -\n`); // stdin (none: empty)
    // Another container, another filesystem: the archive is not there.
    expect((await execCollect(kc, NS, pod, 'system-probe', ['sha256sum', path])).stderr).toBe(`sha256sum: ${path}: No such file or directory\n`);
    f.stdin.write('n\n');
    await f.done();
  });

  it('a test can replace the archive after review: the agent uploads what is at the path when it sends', async () => {
    const f = await openFlare('node-1', ['4321', '-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    const path = pathIn(f.out());
    const reviewed = Uint8Array.from(filesOn('node-1').read(path)!.data);
    const other = new TextEncoder().encode('another flare, written in the same second');
    expect(replaceFlareArchive(sim.state, 'node-1', path, other)).toEqual(reviewed);
    const sum = await execCollect(kc, NS, podOn('node-1'), 'security-agent', ['sha256sum', path]);
    expect(sum.stdout).toBe(`${createHash('sha256').update(other).digest('hex')}  ${path}\n`);
    f.stdin.write('y\n');
    await f.done();
    const upload = sim.state.flareUploads('node-1').at(-1)!;
    expect(upload).toMatchObject({ caseId: '4321', path, sha256: createHash('sha256').update(other).digest('hex') });
    expect(Buffer.from(upload.archive).equals(Buffer.from(other))).toBe(true);
  });

  it('cat, rm and ls answer as coreutils for what is not there', async () => {
    const pod = podOn('node-1');
    expect(await execCollect(kc, NS, pod, 'security-agent', ['cat', '/tmp'])).toMatchObject({ stderr: 'cat: /tmp: Is a directory\n' });
    expect(await execCollect(kc, NS, pod, 'security-agent', ['rm'])).toMatchObject({ stderr: "rm: missing operand\nTry 'rm --help' for more information.\n" });
    expect(await execCollect(kc, NS, pod, 'security-agent', ['rm', '/tmp'])).toMatchObject({ stderr: "rm: cannot remove '/tmp': Is a directory\n" });
    const ls = await execCollect(kc, NS, pod, 'security-agent', ['ls', '-l', '/tmp/nope.zip']);
    expect(ls.stderr).toBe("ls: cannot access '/tmp/nope.zip': No such file or directory\n");
    expect(ls.status?.message).toMatch(/exit code 2$/);
  });

  it('-s uploads without asking', async () => {
    const f = await openFlare('node-1', ['555', '-e', 'ops@example.com', '-s']);
    await f.done();
    expect(f.out()).not.toContain('[y/N]');
    expect(f.out()).toMatch(/is going to be uploaded to Datadog\nYour logs were successfully uploaded\. For future reference, your internal case id is 555\n$/);
  });

  it('without a case id, an email opens a new case with a 7-digit id', async () => {
    const f = await openFlare('node-1', ['--email=new@example.com', '--send']);
    await f.done();
    const id = /your internal case id is (\d+)\n$/.exec(f.out())?.[1];
    expect(id).toMatch(/^\d{7}$/);
    expect(sim.state.flareUploads('node-1').at(-1)).toMatchObject({ caseId: '', email: 'new@example.com', responseCaseId: Number(id) });
  });

  it('without -e it asks for the email first (even with a case id), then builds', async () => {
    const f = await openFlare('node-1', ['777']);
    await f.waitFor('Please enter your email: \n');
    expect(f.out()).toBe('Please enter your email: \n');
    f.stdin.write('me@example.com\n');
    await f.waitFor('[y/N]\n');
    expect(f.out()).toMatch(
      /^Please enter your email: \nAsking the Security Agent to build the flare archive\.\n\S+ is going to be uploaded to Datadog\nAre you sure you want to upload a flare\? \[y\/N\]\n$/,
    );
    f.stdin.write('Y\n');
    await f.done();
    expect(sim.state.flareUploads('node-1').at(-1)).toMatchObject({ caseId: '777', email: 'me@example.com', outcome: 'ok' });
  });

  it('forbidden: an empty line, then the 403 error on stderr, exit 255', async () => {
    const f = await openFlare('node-2', ['1', '-e', 'ops@example.com', '-s']);
    await f.done();
    expect(f.out()).toMatch(/is going to be uploaded to Datadog\n\n$/);
    expect(f.err()).toBe('Error: HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: b0a99\n');
    expect(f.status()?.message).toBe('command terminated with non-zero exit code: command terminated with exit code 255');
    expect(sim.state.flareUploads('node-2').at(-1)?.outcome).toBe('forbidden');
  });

  it('error: the upload error on stdout and stderr, exit 255', async () => {
    const f = await openFlare('node-3', ['1', '-e', 'ops@example.com', '-s']);
    await f.done();
    expect(f.out()).toMatch(/\nAn error occurred while uploading the flare: .+\. Please contact support by email\.\n$/);
    expect(f.err()).toMatch(/^Error: .+\n$/);
    expect(f.status()?.message).toMatch(/exit code 255$/);
  });

  it('hang: the upload never finishes; closing the session ends it without leaving anything running', async () => {
    const f = await openFlare('node-4', ['1', '-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    f.stdin.write('y\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(f.status()).toBeUndefined();
    expect(sim.activeExecs()).toBe(1);
    f.ws.close();
    await f.done();
    await until(() => sim.activeExecs() === 0, 5_000, 'the hanging exec to be gone');
    expect(sim.state.flareUploads('node-4')).toEqual([]);
  });

  it('secretIn leaves the secret in that archive file', async () => {
    const f = await openFlare('node-5', ['-e', 'ops@example.com']);
    await f.waitFor('[y/N]\n');
    f.stdin.write('n\n');
    await f.done();
    const entries = unzipSync(filesOn('node-5').read(pathIn(f.out()))!.data);
    expect(dec.decode(entries['node-5/etc/datadog.yaml'])).toContain(`api_key: ${DEFAULT_API_KEY}`);
    expect(dec.decode(entries['node-5/etc/datadog.yaml'])).toMatch(/DD_APP_KEY=[0-9a-f]{40}/);
  });

  it('unknown flags: the cobra error, exit 255; --help prints the usage', async () => {
    const bad = await execCollect(kc, NS, podOn('node-1'), 'security-agent', ['security-agent', 'flare', '--local']);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('Error: unknown flag: --local\n');
    expect(bad.status?.message).toMatch(/exit code 255$/);
    const help = await execCollect(kc, NS, podOn('node-1'), 'security-agent', ['security-agent', 'flare', '--help']);
    expect(help.stdout).toMatch(/^Collect a flare and send it to Datadog\n\nUsage:\n  datadog-security-agent flare \[caseID\] \[flags\]\n/);
  });

  it('only in the security-agent container; the files are per pod and go with it', async () => {
    const sp = await execCollect(kc, NS, podOn('node-1'), 'system-probe', ['security-agent', 'flare', '-e', 'a@b.co']);
    expect(sp.status?.message).toMatch(/executable file not found in \$PATH/);
    const oldPod = podOn('node-6');
    expect(filesOn('node-6').list('/tmp').length).toBeGreaterThan(0);
    sim.state.deletePod(NS, oldPod);
    expect(podOn('node-6')).not.toBe(oldPod);
    expect(sim.state.podFiles(NS, oldPod)).toBeUndefined();
    expect(filesOn('node-6').list()).toEqual([]);
  });
});

// ── kubectl ───────────────────────────────────────────────────────────────────────────────

function newestKubectl(): { path?: string; reason?: string } {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, 'kubectl'))
    .find((p) => existsSync(p));
  if (!onPath) return { reason: 'kubectl is not on PATH' };
  const dir = dirname(realpathSync(onPath));
  const versions = readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) >= 30)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  if (versions.length > 0) return { path: join(dir, versions.at(-1)![0]) };
  return { path: onPath }; // a plain kubectl: assume 1.30+, exec tells otherwise
}

const kubectl = newestKubectl();
if (kubectl.reason) console.log(`kubectl flare test skipped: ${kubectl.reason}`);

describe.skipIf(!kubectl.path)('security-agent flare with kubectl exec -i', () => {
  it('n piped on stdin: the prompts on stdout, abort, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cws-flare-kubectl-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      await sim.writeKubeconfig(kubeconfig);
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          kubectl.path!,
          [
            '--kubeconfig',
            kubeconfig,
            '--cache-dir',
            join(dir, 'cache'),
            '-n',
            NS,
            'exec',
            '-i',
            podOn('node-1'),
            '-c',
            'security-agent',
            '--',
            'security-agent',
            'flare',
            '123',
            '-e',
            'a@b.co',
          ],
          { timeout: 20_000, env: { ...process.env, KUBECONFIG: kubeconfig } },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
        child.stdin!.end('n\n');
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /^Asking the Security Agent to build the flare archive\.\n(\S+) is going to be uploaded to Datadog\nAre you sure you want to upload a flare\? \[y\/N\]\nAborting\. \(You can still use \1\)\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
