/**
 * `security-agent flare [caseID] [-e EMAIL] [-s]` in the security-agent container, and the core
 * agent's `agent flare [caseID] [-e EMAIL] [-s] [-l] …` in the agent container (the same flow with
 * its own first lines, flags and archive; FLARE-SOURCES.md §8), as the agent
 * runs it (FLARE-SOURCES.md): the email prompt when no -e, "Asking the Security Agent to build
 * the flare archive.", a real zip written to the container's /tmp (pod-fs.ts; it stays after the
 * command ends, until `rm` or the pod goes), "<path> is going to be uploaded to Datadog", the
 * confirmation prompt when no -s (one line read; anything but y/Y, EOF included, aborts with exit
 * 0 and keeps the archive), then the upload the node's fleet `flare:` settings decide:
 *   ok        after latencyMs: the case id line (the given one, or a new 7-digit case), exit 0
 *   forbidden an empty line, then "Error: HTTP 403 Forbidden: …" on stderr, exit 255
 *   error     "An error occurred while uploading the flare: …" then "Error: …" on stderr, exit 255
 *   hang      never answers; the command ends when the client closes the session
 * Every upload attempt is recorded with the bytes it sent (`state.flareUploads()`).
 */
import { createHash, randomInt } from 'node:crypto';
import { agentVersionOf } from './agent-status-text.ts';
import type { ExecContext, ExecRegistry } from './exec-registry.ts';
import { coreFlareFiles } from './core-flare-archive.ts';
import { agentLogLevel, DEFAULT_API_KEY, DEFAULT_APP_KEY, flareArchivePath, flareFiles, zipFlare } from './flare-archive.ts';
import {
  aborting,
  BUILDING,
  CONFIRM_PROMPT,
  CORE_BUILDING,
  CORE_BUILDING_LOCALLY,
  CORE_FLARE_HELP,
  CORE_FLARE_UI_NOTICE,
  invalidProfiling,
  EMAIL_PROMPT,
  EMAIL_READ_ERROR,
  errorLine,
  EXIT_ERROR,
  FLARE_HELP,
  flareIntakeURL,
  forbiddenError,
  goingToBeUploaded,
  parseFlareCommandLine,
  responseCaseId,
  SIMULATED_BACKEND_ERROR,
  uploadErrorResponse,
  uploadSuccess,
} from './flare-cli.ts';
import { registerSha256sum } from './flare-tools.ts';
import { PromptReader } from './stdin-reader.ts';

/** The container's environment as the pod spec sets it (literal values only). */
export function containerEnv(ctx: Pick<ExecContext, 'pod' | 'container'>): Record<string, string> {
  const c = ctx.pod.spec.containers.find((x) => x.name === ctx.container);
  const env: Record<string, string> = {};
  for (const e of c?.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}

export interface FlareHooks {
  /** `security-agent status` text for the archive's security-agent-status.log. */
  statusText(ctx: ExecContext, now: Date): string;
  /** Resolves after `ms`, rejects when the session ends; and never resolves until then. */
  delay(ms: number, signal: AbortSignal): Promise<void>;
  untilAborted(signal: AbortSignal): Promise<never>;
}

/** Which agent's flare: the security-agent's (security-agent container) or the core agent's (agent container). */
export type FlareFlavour = 'security-agent' | 'agent';

/** Builds the archive and writes it to the container's /tmp; returns its path. */
export function writeFlareArchive(ctx: ExecContext, now: Date, statusText: string): string {
  const env = containerEnv(ctx);
  const pod = ctx.pod;
  const image = pod.spec.containers.find((c) => c.name === ctx.container)?.image ?? ctx.state.fleet.agent.image;
  const nodeObj = ctx.state.getNode(ctx.node);
  const path = flareArchivePath(now, agentLogLevel(env));
  const files = flareFiles({
    hostname: ctx.node,
    now,
    podName: pod.metadata.name,
    podUid: pod.metadata.uid,
    podStartedAt: pod.status.startTime ? new Date(pod.status.startTime) : now,
    nodeIP: pod.status.hostIP ?? '',
    kernelVersion: nodeObj?.status.nodeInfo?.kernelVersion ?? '5.15.0-1067-aws',
    agentVersion: agentVersionOf(image),
    env,
    apiKey: apiKeyOf(env),
    appKey: DEFAULT_APP_KEY,
    systemProbeYaml: ctx.state.fleet.agent.systemProbeYaml,
    ...(pod.spec.containers.some((c) => c.name === 'system-probe') ? { systemProbeEnv: containerEnv({ pod, container: 'system-probe' }) } : {}),
    statusText,
    secretIn: ctx.state.flareFor(ctx.node).secretIn,
  });
  // The builder zips in a private temp dir, restricts the file to its owner (0600, chown dd-agent)
  // and renames it into os.TempDir(): a flare in the same second replaces the previous one.
  ctx.state
    .podFilesByUid(pod.metadata.uid, ctx.container)
    .write(path, zipFlare(ctx.node, files, now), { mode: 0o600, mtime: now, owner: 'dd-agent', group: 'root' });
  return path;
}

/** The core agent's archive (the running agent builds it in its own /tmp, the agent container's). */
export function writeCoreFlareArchive(ctx: ExecContext, now: Date, statusText: string, local: boolean): string {
  const env = containerEnv(ctx);
  const pod = ctx.pod;
  const image = pod.spec.containers.find((c) => c.name === ctx.container)?.image ?? ctx.state.fleet.agent.image;
  const names = pod.spec.containers.map((c) => c.name);
  const path = flareArchivePath(now, agentLogLevel(env));
  const files = coreFlareFiles({
    hostname: ctx.node,
    now,
    podStartedAt: pod.status.startTime ? new Date(pod.status.startTime) : now,
    nodeIP: pod.status.hostIP ?? '',
    kernelVersion: ctx.state.getNode(ctx.node)?.status.nodeInfo?.kernelVersion ?? '5.15.0-1067-aws',
    agentVersion: agentVersionOf(image),
    env,
    systemProbeEnv: names.includes('system-probe') ? containerEnv({ pod, container: 'system-probe' }) : undefined,
    containers: names,
    apiKey: apiKeyOf(env),
    appKey: DEFAULT_APP_KEY,
    systemProbeYaml: ctx.state.fleet.agent.systemProbeYaml,
    statusText,
    local,
    secretIn: ctx.state.flareFor(ctx.node).secretIn,
  });
  ctx.state
    .podFilesByUid(pod.metadata.uid, ctx.container)
    .write(path, zipFlare(ctx.node, files, now), { mode: 0o600, mtime: now, owner: 'dd-agent', group: 'root' });
  return path;
}

function apiKeyOf(env: Record<string, string>): string {
  return env.DD_API_KEY?.trim() || DEFAULT_API_KEY;
}

export async function runFlare(ctx: ExecContext, hooks: FlareHooks, flavour: FlareFlavour = 'security-agent'): Promise<number> {
  const core = flavour === 'agent';
  const cl = parseFlareCommandLine(ctx.argv.slice(2), flavour);
  if (cl.kind === 'help') {
    ctx.stdout.write(core ? CORE_FLARE_HELP : FLARE_HELP);
    return 0;
  }
  if (cl.kind === 'error') {
    ctx.stderr.write(errorLine(cl.message));
    return EXIT_ERROR;
  }
  const { caseId, send } = cl.options;
  let email = cl.options.email;
  const stdin = new PromptReader(ctx.stdin);
  if (core) ctx.stdout.write(CORE_FLARE_UI_NOTICE);

  if (email === '') {
    ctx.stdout.write(EMAIL_PROMPT);
    const r = await stdin.readLine();
    if ('error' in r) {
      ctx.stdout.write(EMAIL_READ_ERROR);
      ctx.stderr.write(errorLine(r.error));
      return EXIT_ERROR;
    }
    email = r.line.trim();
  }

  const profile = cl.options.profile ?? -1;
  if (core && profile !== -1 && profile < 30) {
    ctx.stdout.write(invalidProfiling(profile));
    return 0; // makeFlare returns the (nil) err it holds at that point
  }

  const now = ctx.state.now();
  let path: string;
  if (core) {
    const local = cl.options.local === true;
    ctx.stdout.write(local ? CORE_BUILDING_LOCALLY : CORE_BUILDING);
    path = writeCoreFlareArchive(ctx, now, hooks.statusText(ctx, now), local);
  } else {
    ctx.stdout.write(BUILDING);
    path = writeFlareArchive(ctx, now, hooks.statusText(ctx, now));
  }
  ctx.stdout.write(goingToBeUploaded(path));

  if (!send) {
    ctx.stdout.write(CONFIRM_PROMPT);
    const r = await stdin.readLine();
    const answer = 'error' in r ? '' : r.line.trim();
    if (answer !== 'y' && answer !== 'Y') {
      ctx.stdout.write(aborting(path));
      return 0;
    }
  }

  // SendFlare: HEAD then POST of the file at `path` to the intake.
  const behaviour = ctx.state.flareFor(ctx.node);
  if (behaviour.hang) await hooks.untilAborted(ctx.signal);
  await hooks.delay(behaviour.latencyMs, ctx.signal);
  const file = ctx.state.podFilesByUid(ctx.pod.metadata.uid, ctx.container).read(path);
  if (!file) {
    ctx.stdout.write('\n');
    ctx.stderr.write(
      errorLine(
        `Post "${flareIntakeURL(agentVersionOf(ctx.pod.spec.containers.find((c) => c.name === ctx.container)?.image ?? ''), caseId)}": open ${path}: no such file or directory`,
      ),
    );
    return EXIT_ERROR;
  }
  const record = {
    node: ctx.node,
    pod: ctx.pod.metadata.name,
    path,
    caseId,
    email,
    archive: Uint8Array.from(file.data),
    sha256: createHash('sha256').update(file.data).digest('hex'),
    at: ctx.state.now(),
  };
  switch (behaviour.upload) {
    case 'ok': {
      const id = responseCaseId(caseId, () => randomInt(1_000_000, 10_000_000));
      ctx.state.recordFlareUpload({ ...record, outcome: 'ok', responseCaseId: id });
      ctx.stdout.write(uploadSuccess(id));
      return 0;
    }
    case 'forbidden':
      ctx.state.recordFlareUpload({ ...record, outcome: 'forbidden' });
      ctx.stdout.write('\n'); // fmt.Println(response) with an empty response
      ctx.stderr.write(errorLine(forbiddenError(apiKeyOf(containerEnv(ctx)))));
      return EXIT_ERROR;
    case 'error':
      ctx.state.recordFlareUpload({ ...record, outcome: 'error' });
      ctx.stdout.write(uploadErrorResponse(SIMULATED_BACKEND_ERROR));
      ctx.stderr.write(errorLine(SIMULATED_BACKEND_ERROR));
      return EXIT_ERROR;
  }
}

/** The flare command, and the coreutils the worker reviews its archive with (`sha256sum`; cat/rm/ls: coreutils.ts). */
export function registerFlareCommand(
  registry: ExecRegistry,
  command: { containers: readonly string[]; paths: readonly string[] },
  hooks: FlareHooks,
  flavour: FlareFlavour = 'security-agent',
): void {
  registry.register({ ...command, argv: [flavour, 'flare'], handler: (ctx) => runFlare(ctx, hooks, flavour) });
  registerSha256sum(registry);
}
