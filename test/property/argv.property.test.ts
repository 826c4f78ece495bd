/**
 * Property-based fuzz of every argv the worker builds from job data (issue 15 point 7): only
 * validated values of the parsed command (or facts read on the node) become argv elements, each
 * as exactly one element, never split, never joined into a shell string — from the job code down
 * to what each target hands its transport (execFile, the Docker Engine API, the Kubernetes exec URL).
 *
 * Where the worker builds argv (grep execFile|exec(|Exec|argv|cmd: in workers/):
 * - workers/jobs/flare.ts      ['security-agent','flare',CASE_ID?,'-e',EMAIL], ['cat',PATH], ['sha256sum',PATH], ['rm','-f',PATH]   (processFlare)
 * - workers/jobs/selftest.ts   [BINARY,'runtime','self-test'], ['security-agent','status']                       (runSelftestOnAgent)
 * - workers/jobs/netcheck.ts   NET_DEV, tcShow(IFACE)                                                         (processNetcheck)
 * - workers/targets/host.ts    resolve(argv) → execFile/spawn(file, args)
 * - workers/targets/docker.ts  container.exec({ Cmd: argv })
 * - workers/targets/kubernetes-exec.ts  KubeExecClient.open(…, argv, …) → `command=` query parameters of the exec URL
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { Job } from 'bullmq';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/core/grammar.ts';
import { DockerCluster, HostCluster, KubernetesCluster } from '../../src/config/clusters.ts';
import { type FlareDeps, processFlare } from '../../workers/jobs/flare.ts';
import { NET_DEV, processNetcheck, tcShow } from '../../workers/jobs/netcheck.ts';
import { runSelftestOnAgent } from '../../workers/jobs/selftest.ts';
import { DockerTarget } from '../../workers/targets/docker.ts';
import { AgentNotFoundError, ExecFailedError, ExecTimeoutError } from '../../workers/targets/errors.ts';
import { HostTarget } from '../../workers/targets/host.ts';
import { KubernetesTarget } from '../../workers/targets/kubernetes.ts';
import type { ClusterInspector } from '../../workers/targets/kubernetes-inspect.ts';
import type { AgentRef, AgentTarget, ExecResult, ExecSession } from '../../workers/targets/types.ts';
import { type PrivateRedis, startRedis } from '../support/redis.ts';
import { anyText, check, checkAsync, fc, gap, wellFormed } from './fc.ts';
import { CASE_ID_RE, CLUSTER_NAME_RE, EMAIL_RE, NODE_RE, UNSAFE } from './rules.ts';

/**
 * A target that records every argv and answers as told; nothing runs. Its flare session prints
 * `sessionOutput` (the agent's lines) and never ends by itself.
 */
function recordingTarget(answer: (argv: string[]) => ExecResult = () => ({ stdout: '', stderr: '', exitCode: 1 }), sessionOutput = '') {
  const execs: string[][] = [];
  const sessions: string[][] = [];
  const filters: ({ node?: string } | undefined)[] = [];
  const session: ExecSession = {
    waitForOutput: async (re) => {
      const m = re.exec(sessionOutput);
      if (!m) throw new ExecTimeoutError(1000, 'memory');
      return m;
    },
    output: () => ({ stdout: sessionOutput, stderr: '' }),
    write: () => {},
    endStdin: () => {},
    result: async () => ({ stdout: sessionOutput, stderr: '', exitCode: 1 }),
    close: () => {},
  };
  const target: AgentTarget = {
    kind: 'kubernetes',
    description: 'memory',
    async listAgents(filter) {
      filters.push(filter);
      return [{ node: filter?.node ?? 'node-1', pod: 'datadog-agent-x1' }];
    },
    async exec(_agent, argv) {
      execs.push(argv);
      return answer(argv);
    },
    async openSession(_agent, argv) {
      sessions.push(argv);
      return session;
    },
  };
  return { target, execs, sessions, filters };
}

let jobs = 0;
const fakeJob = (data: unknown) => ({ id: `fl-${++jobs}`, data, updateProgress: async () => {}, updateData: async () => {} }) as unknown as Job;

// processFlare keeps its per-node lock and polls its decision in Redis (src/flare/lock.ts): a
// private loopback server, and the worker's one shared client.
let server: PrivateRedis;
let client: Redis;
beforeAll(async () => {
  server = await startRedis();
  client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});
/** No wait for a bot-side lock: nobody else holds one here. */
const flareDeps = (target: AgentTarget): FlareDeps => ({
  target,
  redis: client,
  buildTimeoutMs: 1000,
  uploadTimeoutMs: 1000,
  failure: (_c, m) => m,
  lockWaitMs: 0,
});

// ---------------------------------------------------------------------------------------------
// The command text, as Slack sends it, down to the flare's argv.

const WORDS = [
  'flare',
  'demo',
  'cluster-a',
  '--node',
  '--email',
  '--node=',
  '--email=',
  '—email',
  '--',
  '1234567',
  'node-7',
  'ops@example.com',
  '-x@y.co',
  'a..b@x.co',
  '<mailto:ops@example.com|ops@example.com>',
  '"; rm -rf /"',
  '$(id)',
  '`id`',
  '-e',
  '-rf',
  'a;b',
  'x|y',
  '&&',
];
const flareText = fc.oneof(
  fc
    .tuple(
      fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...WORDS) }, { weight: 1, arbitrary: anyText(40) }), { maxLength: 8 }),
      fc.array(gap, { minLength: 8, maxLength: 8 }),
    )
    .map(([ws, gs]) => `flare ${ws.map((w, i) => `${w}${gs[i]}`).join('')}`),
  fc
    .tuple(
      fc.stringMatching(CLUSTER_NAME_RE),
      fc.option(fc.stringMatching(NODE_RE)),
      fc.option(fc.stringMatching(CASE_ID_RE)),
      fc.stringMatching(EMAIL_RE).filter((e) => e.length < 200),
    )
    .map(([c, n, id, e]) => `flare ${c}${n ? ` --node ${n}` : ''}${id ? ` ${id}` : ''} --email ${e}`),
);

const FIXED_FLARE = new Set(['security-agent', 'flare', '-e']);

describe('the flare argv holds exactly the validated case ID and email, one element each', () => {
  it('command text → parseCommand → flare job data → processFlare → openSession argv', async () => {
    let flares = 0;
    await checkAsync(
      fc.asyncProperty(flareText, async (text) => {
        const r = parseCommand(text);
        if (!r.ok || r.command.name !== 'flare' || !r.command.email) return;
        flares++;
        const cmd = r.command;
        // what enqueueFlare (src/commands/flare.ts) puts in the job
        const data = {
          kind: 'flare',
          cluster: cmd.cluster,
          ...(cmd.node ? { node: cmd.node } : {}),
          ...(cmd.caseId ? { caseId: cmd.caseId } : {}),
          email: cmd.email,
          requestedBy: 'U1',
          requestedAt: new Date().toISOString(),
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        };
        const t = recordingTarget();
        const result = await processFlare(fakeJob(data), flareDeps(t.target));
        expect(result.stage).toBe('failed'); // the fake agent never builds: the job stops after the exec
        expect(t.sessions).toHaveLength(1);
        const argv = t.sessions[0]!;
        expect(argv).toEqual(['security-agent', 'flare', ...(cmd.caseId ? [cmd.caseId] : []), '-e', cmd.email]);
        for (const el of argv) {
          expect(typeof el).toBe('string');
          if (FIXED_FLARE.has(el)) continue;
          // every other element is a value of the parsed command, validated, whole
          expect([cmd.caseId, cmd.email]).toContain(el);
          expect(el === cmd.caseId ? CASE_ID_RE.test(el) : EMAIL_RE.test(el), el).toBe(true);
          expect(el).not.toMatch(UNSAFE);
          expect(el.startsWith('-')).toBe(false);
        }
        // the node only chooses the agent; it is never an argument
        expect(t.filters).toEqual([cmd.node ? { node: cmd.node } : undefined]);
        expect(t.execs).toEqual([]);
      }),
      1500,
    );
    expect(flares).toBeGreaterThan(400);
  });
  it('the archive path the agent prints is one argv element of cat / sha256sum / rm, exactly as printed', async () => {
    const pathChars = fc.constantFrom(...'abcXYZ019._-/'.split(''), '$', '(', ')', ';', '|', '&', '`', "'", '"', '*', '?', '\\', '=', '%', 'é', '\u{1F600}');
    const printedPath = fc.string({ unit: pathChars, maxLength: 40 }).map((p) => `/tmp/${p}datadog-agent-x.zip`);
    await checkAsync(
      fc.asyncProperty(printedPath, fc.constantFrom('', 'Are you sure you want to upload a flare? [y/N]'), async (path, prompt) => {
        const t = recordingTarget(
          () => ({ stdout: '', stderr: 'No such file', exitCode: 1 }),
          `Asking the agent to build the flare archive.\n${path} is going to be uploaded to Datadog\n${prompt}`,
        );
        const data = {
          kind: 'flare',
          cluster: 'demo',
          email: 'ops@example.com',
          requestedBy: 'U1',
          requestedAt: new Date(0).toISOString(),
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        };
        await processFlare(fakeJob(data), flareDeps(t.target));
        expect(t.sessions).toEqual([['security-agent', 'flare', '-e', 'ops@example.com']]);
        if (prompt) expect(t.execs.length).toBeGreaterThan(0);
        for (const argv of t.execs) {
          expect([
            ['cat', path],
            ['sha256sum', path],
            ['rm', '-f', path],
          ]).toContainEqual(argv);
        }
      }),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Self-test: nothing from the job or the agent listing reaches argv.

describe('the self-test argv is fixed whatever the agent is called', () => {
  it('runSelftestOnAgent runs [binary, runtime, self-test] and [security-agent, status] only', async () => {
    await checkAsync(
      fc.asyncProperty(
        fc.record({ node: anyText(60), pod: anyText(60) }),
        fc.constantFrom('security-agent', 'system-probe'),
        fc.boolean(),
        anyText(200),
        async (agent: AgentRef, binary, readStatus, stdout) => {
          const t = recordingTarget(() => ({ stdout, stderr: '', exitCode: 0 }));
          await runSelftestOnAgent(t.target, agent, binary, 5000, readStatus);
          expect(t.execs[0]).toEqual([binary, 'runtime', 'self-test']);
          for (const argv of t.execs.slice(1)) expect(argv).toEqual(['security-agent', 'status']);
        },
      ),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Netcheck: interface names read on the node become one `dev` argument each.

const IFACE_HEADS = ['lxc', 'cali', 'vethwepl', 'veth', 'eni0', 'azv', 'gke0', 'eth', 'lo', 'cilium_', 'docker'];
const ifaceName = fc
  .tuple(
    fc.constantFrom(...IFACE_HEADS),
    fc.string({ unit: fc.constantFrom(...'abc019-_.;$`|&()\'"<>*?[]{}\\=,@#!%+~^'.split(''), 'é', '\u{1F600}'), maxLength: 12 }),
  )
  .map(([h, t]) => h + t);
const counters = fc.array(fc.nat(), { minLength: 16, maxLength: 16 }).map((ns) => ns.join(' '));

describe('netcheck: tcShow takes the interface name as one argv element', () => {
  it('tcShow(name) is the fixed command with the name as the only variable element', () => {
    check(
      fc.property(anyText(80), (name) => {
        const argv = tcShow(name);
        expect(argv).toEqual(['nsenter', '--net=/host/proc/1/ns/net', 'tc', 'filter', 'show', 'dev', name, 'ingress']);
      }),
      1000,
    );
  });

  it('processNetcheck: argv is NET_DEV, or tcShow of a pod-facing name exactly as /proc/net/dev printed it', async () => {
    const cfg = KubernetesCluster.parse({ kind: 'kubernetes' });
    const inspector: ClusterInspector = {
      agentDaemonSet: async () => undefined,
      daemonSets: async () => [],
      configMap: async () => undefined,
    } as unknown as ClusterInspector;
    await checkAsync(
      fc.asyncProperty(
        fc.uniqueArray(ifaceName, { minLength: 1, maxLength: 6 }),
        fc.array(counters, { minLength: 6, maxLength: 6 }),
        fc.array(
          gap.filter((g) => !/[\n\u2028]/.test(g)),
          { minLength: 6, maxLength: 6 },
        ),
        async (names, nums, gaps) => {
          const dev = `Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n${names.map((n, i) => `${gaps[i]}${n}:${gaps[i]}${nums[i]}\n`).join('')}`;
          const t = recordingTarget((argv) => (argv === NET_DEV ? { stdout: dev, stderr: '', exitCode: 0 } : { stdout: '', stderr: '', exitCode: 0 }));
          const job = { data: { kind: 'netcheck', cluster: 'demo', requestedBy: 'U1', requestedAt: 'now' } } as unknown as Job;
          await processNetcheck(job, { cluster: 'demo', config: cfg, target: t.target, inspector });
          expect(t.execs[0]).toEqual(NET_DEV);
          for (const argv of t.execs.slice(1)) {
            expect(argv).toHaveLength(8);
            expect(argv).toEqual(tcShow(argv[6]!));
            expect(names).toContain(argv[6]); // a name from the node, whole, not a piece of one
          }
        },
      ),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The targets: what each one hands its transport is the argv, element for element.

/** argv as the jobs build them, with hostile values where the job has a variable. */
const builtArgv: fc.Arbitrary<string[]> = fc.oneof<fc.Arbitrary<string[]>[]>(
  fc
    .tuple(fc.option(fc.stringMatching(CASE_ID_RE), { nil: undefined }), fc.stringMatching(EMAIL_RE))
    .map(([id, e]) => ['security-agent', 'flare', ...(id ? [id] : []), '-e', e]),
  fc.constantFrom<string[]>(['security-agent', 'runtime', 'self-test'], ['system-probe', 'runtime', 'self-test'], ['security-agent', 'status'], NET_DEV),
  ifaceName.map(tcShow),
  fc
    .stringMatching(/^\/tmp\/datadog-agent-[A-Za-z0-9._-]{1,30}\.zip$/)
    .chain((p) => fc.constantFrom<string[]>(['cat', p], ['sha256sum', p], ['rm', '-f', p], ['rm', p], ['cat', '-n', p], ['rm', '-rf', p])),
  fc.tuple(fc.constantFrom('cat', 'rm', 'sha256sum'), anyText(60)).map(([tool, p]) => [tool, p]),
  fc.array(anyText(40), { minLength: 1, maxLength: 6 }),
);

describe('HostTarget.resolve hands execFile the argv unchanged, and runs only what it allows', () => {
  const targets = [false, true].map((sudo) => new HostTarget(HostCluster.parse({ kind: 'host', sudo }), 'this-host'));
  const FLARE_ARCHIVE_RE = /^\/[A-Za-z0-9._/-]*\/datadog-agent-[A-Za-z0-9._-]+\.zip$/;
  /** The file tools the host target may run on the archive (sha256sum since the uploaded = reviewed check). */
  const FILE_TOOLS: Record<string, string> = { cat: '/bin/cat', rm: '/bin/rm', sha256sum: '/usr/bin/sha256sum' };

  it('args are argv minus the program (behind `sudo -n -- PROGRAM`), or the command is refused with ExecFailedError', () => {
    check(
      fc.property(builtArgv, fc.nat({ max: 1 }), (argv, which) => {
        const target = targets[which]!;
        const sudo = which === 1;
        let resolved: { file: string; args: string[] };
        try {
          resolved = target.resolve(argv);
        } catch (err) {
          expect(err).toBeInstanceOf(ExecFailedError);
          return;
        }
        const [program, ...rest] = argv;
        const file = sudo ? resolved.args[2]! : resolved.file;
        const args = sudo ? resolved.args.slice(3) : resolved.args;
        if (sudo) expect([resolved.file, resolved.args[0], resolved.args[1]]).toEqual(['sudo', '-n', '--']);
        expect(args).toEqual(rest);
        if (Object.hasOwn(FILE_TOOLS, program!)) {
          expect(file).toBe(FILE_TOOLS[program!]);
          expect(rest.length).toBe(program === 'rm' ? 2 : 1);
          if (program === 'rm') expect(rest[0]).toBe('-f');
          expect(rest.at(-1)).toMatch(FLARE_ARCHIVE_RE);
          expect(rest.at(-1)).not.toContain('..');
        } else {
          expect(['security-agent', 'system-probe']).toContain(program);
          expect(file).toBe(`/opt/datadog-agent/embedded/bin/${program}`);
        }
      }),
      3000,
    );
  });
});

describe('DockerTarget gives the Engine API the argv as Cmd, element for element', () => {
  it('Cmd is the argv array, never a joined string', async () => {
    let cmd: unknown;
    const docker = {
      getContainer: () => ({
        exec: async (o: { Cmd: unknown }) => {
          cmd = o.Cmd;
          throw Object.assign(new Error('no such container'), { statusCode: 404 });
        },
      }),
    } as unknown as Docker;
    const target = new DockerTarget(DockerCluster.parse({ kind: 'docker', socket: '/nonexistent.sock' }), docker);
    await checkAsync(
      fc.asyncProperty(builtArgv, fc.boolean(), async (argv, session) => {
        cmd = undefined;
        const run = session ? target.openSession(anAgent, argv) : target.exec(anAgent, argv, { timeoutMs: 1000 });
        await expect(run).rejects.toBeInstanceOf(AgentNotFoundError);
        expect(Array.isArray(cmd)).toBe(true);
        expect(cmd).toEqual(argv);
      }),
      1000,
    );
  });
});
const anAgent: AgentRef = { node: 'node-1', pod: 'datadog-agent-x1' };

describe('KubernetesTarget puts each argv element in its own `command=` parameter of the exec URL', () => {
  // A loopback API server that records exec upgrade requests and refuses them with 404.
  let server: Server;
  let target: KubernetesTarget;
  const urls: string[] = [];
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, socket) => {
      urls.push(req.url ?? '');
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'loopback', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-a-secret' }],
      contexts: [{ name: 'c', cluster: 'loopback', user: 'u' }],
      currentContext: 'c',
    });
    target = new KubernetesTarget(KubernetesCluster.parse({ kind: 'kubernetes' }), kc);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('the API server receives the argv back, element for element, whatever the elements hold', async () => {
    await checkAsync(
      fc.asyncProperty(
        builtArgv.filter((a) => a.every(wellFormed)),
        fc.boolean(),
        async (argv, session) => {
          urls.length = 0;
          const run = session
            ? target.openSession(anAgent, argv, { container: 'securityAgent' })
            : target.exec(anAgent, argv, { timeoutMs: 5000, container: 'systemProbe' });
          await expect(run).rejects.toBeInstanceOf(AgentNotFoundError);
          expect(urls).toHaveLength(1);
          const url = new URL(urls[0]!, 'http://api');
          expect(url.pathname).toBe(`/api/v1/namespaces/datadog/pods/${anAgent.pod}/exec`);
          expect(url.searchParams.getAll('command')).toEqual(argv);
          expect(url.searchParams.getAll('container')).toEqual([session ? 'security-agent' : 'system-probe']);
        },
      ),
      1000,
    );
  });
});
