// The fake security-agent on the host: a private copy of the script with its mode files and
// flare archives next to it, and a private TMPDIR for the archives `flare` writes.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FAKE_AGENT_SCRIPT } from './docker.ts';
import { writeFlareFixtures } from './fake-agent/flare-fixtures.ts';

export interface HostAgentModes {
  /** Written to `selftest-mode` next to the script (wins over $FAKE_SELFTEST). */
  selftest?: string;
  /** Written to `flare-mode` next to the script (wins over $FAKE_FLARE). */
  flare?: string;
  /**
   * `security-agent` (default): the script is `security-agent`. `core-only`: a host without security-agent
   * (issue 19): the script is only the core agent, `agent` next to where security-agent would be, and
   * `binary` (what the cluster config names) does not exist.
   */
  layout?: 'security-agent' | 'core-only' | 'both';
  /** false: the security-agent process is not running (its flare builds a partial archive locally). */
  securityAgentRunning?: boolean;
}

export interface HostAgent {
  /** Private directory holding the script, its mode files and `fixtures/`. */
  dir: string;
  /** Path of the executable `security-agent` script (absent in the `core-only` layout). */
  binary: string;
  /** Path of the core agent (`agent`), in the `core-only` and `both` layouts. */
  coreAgent?: string;
  /** Where `flare` writes its archives when run with `env` (Go's os.TempDir honours $TMPDIR). */
  tmpDir: string;
  /** process.env plus TMPDIR=tmpDir and `dir` first on PATH: pass it to spawn(). */
  env: NodeJS.ProcessEnv;
  /** Change modes between runs; `undefined` leaves a mode as is, `null` removes its file. */
  setModes(modes: { selftest?: string | null; flare?: string | null }): void;
  /** Remove the directory (archives included). Safe to call twice. */
  cleanup(): void;
}

export async function prepareHostAgent(modes: HostAgentModes = {}): Promise<HostAgent> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cws-host-agent-'));
  const binary = path.join(dir, 'security-agent');
  const tmpDir = path.join(dir, 'tmp');
  const coreOnly = modes.layout === 'core-only';
  const withCore = coreOnly || modes.layout === 'both';
  const coreAgent = path.join(dir, 'agent');
  for (const file of [...(coreOnly ? [] : [binary]), ...(withCore ? [coreAgent] : [])]) {
    await copyFile(FAKE_AGENT_SCRIPT, file);
    chmodSync(file, 0o755);
  }
  if (modes.securityAgentRunning === false) await writeFile(path.join(dir, 'security-agent-stopped'), '');
  await mkdir(tmpDir);
  await writeFlareFixtures(path.join(dir, 'fixtures'), { core: withCore });
  if (modes.selftest !== undefined) await writeFile(path.join(dir, 'selftest-mode'), `${modes.selftest}\n`);
  if (modes.flare !== undefined) await writeFile(path.join(dir, 'flare-mode'), `${modes.flare}\n`);

  const setModes = (m: { selftest?: string | null; flare?: string | null }): void => {
    for (const [key, file] of [
      ['selftest', 'selftest-mode'],
      ['flare', 'flare-mode'],
    ] as const) {
      const v = m[key];
      if (v === undefined) continue;
      if (v === null) rmSync(path.join(dir, file), { force: true });
      else writeFileSync(path.join(dir, file), `${v}\n`);
    }
  };

  return {
    dir,
    binary,
    ...(withCore ? { coreAgent } : {}),
    tmpDir,
    env: { ...process.env, TMPDIR: tmpDir, PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}` },
    setModes,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
