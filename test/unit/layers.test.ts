/**
 * The layers are folders (README "Layout"), and imports only point down:
 *   src/core      pure: imports only itself (and zod, yaml, fflate): no node:*, no client library
 *   src/contract  what bot and worker share: core, itself
 *   src/config    the environment and the clusters file: core, itself
 *   src/bot       the Slack side: core, contract, config, observability, itself
 *   workers       the cluster side: core, contract, config, observability, itself
 *   src/cli       the terminal front end: core, contract, config, observability, the bot's state
 * and no product code imports the tools beside it (src/sim, src/sandbox); src/main.ts, the entry
 * point, starts what it is asked to.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

type Layer = 'core' | 'contract' | 'config' | 'bot' | 'workers' | 'cli' | 'observability' | 'sim' | 'sandbox' | 'main';
const LAYER_OF: [string, Layer][] = [
  ['src/core/', 'core'],
  ['src/contract/', 'contract'],
  ['src/config/', 'config'],
  ['src/bot/', 'bot'],
  ['workers/', 'workers'],
  ['src/cli/', 'cli'],
  ['src/observability/', 'observability'],
  ['src/sim/', 'sim'],
  ['src/sandbox/', 'sandbox'],
  ['src/main.ts', 'main'],
];
const layerOf = (file: string): Layer | undefined => LAYER_OF.find(([prefix]) => file.startsWith(prefix))?.[1];

/** Which layers each layer may import; `undefined` = anything (the tools and the entry point). */
const MAY_IMPORT: Partial<Record<Layer, Layer[]>> = {
  core: ['core'],
  contract: ['core', 'contract'],
  config: ['core', 'config'],
  observability: ['observability'],
  bot: ['core', 'contract', 'config', 'observability', 'bot'],
  workers: ['core', 'contract', 'config', 'observability', 'workers'],
  cli: ['core', 'contract', 'config', 'observability', 'cli', 'bot'],
};
/** Packages the pure core may use: validation, YAML and inflate, all pure JavaScript. */
const CORE_PACKAGES = new Set(['zod', 'yaml', 'fflate']);
/** The CLI is a front end like the bot: it may use the bot's Redis state (producer, audit), nothing Slack. */
const CLI_FROM_BOT = /^src\/bot\/state\//;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function importsOf(file: string): string[] {
  const code = readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const specs = [
    ...code.matchAll(/(?:^|\s)(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/g),
    ...code.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
  ];
  return specs.map((m) => m[1]!);
}

const files = [...sources('src'), ...sources('workers')];

describe('layers', () => {
  it('every source file is in a layer', () => {
    expect(files.filter((f) => !layerOf(f))).toEqual([]);
  });

  it('imports only point down, and the core is pure', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file)!;
      const allowed = MAY_IMPORT[from];
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) {
          const target = normalize(relative(ROOT, join(ROOT, dirname(file), spec)));
          const to = layerOf(target);
          if (!to) wrong.push(`${file} imports ${target}, which is in no layer`);
          else if (allowed && !allowed.includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
          else if (from === 'cli' && to === 'bot' && !CLI_FROM_BOT.test(target)) wrong.push(`${file} (cli) imports ${target}: only the bot's state`);
          else if (from !== 'main' && from !== 'sim' && from !== 'sandbox' && (to === 'sim' || to === 'sandbox'))
            wrong.push(`${file} imports the tool ${target}`);
        } else if (from === 'core') {
          const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!CORE_PACKAGES.has(pkg)) wrong.push(`${file} (core) imports ${spec}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the test catches a wrong import', () => {
    // The checks above on a made-up file: a core module that reaches for ioredis and the bot.
    expect(MAY_IMPORT.core).not.toContain('bot');
    expect(CORE_PACKAGES.has('ioredis')).toBe(false);
    expect(layerOf('src/core/x.ts')).toBe('core');
    expect(importsOf('test/unit/layers.test.ts')).toContain('node:fs');
  });
});
