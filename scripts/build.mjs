/**
 * Bundles the entry points into dist/ (`npm run build`; `npm start`, `bot`, `worker` and `sim`
 * build first). Processes then run plain JavaScript: the tsx loader costs a running worker
 * some 80 MB of memory (a loader thread with its own V8 heap, transpiled sources kept), which
 * a fleet-wide self-test cannot afford. Packages stay external, loaded from node_modules, but for
 * `@kubernetes/client-node`: its ~900 modules (every API group and model) cost a process some 75 MB
 * of RSS loaded one by one, about 29 MB bundled (only what we use, in one module: `npm run bench`
 * measures the difference under `npm start`). Its own dependencies stay external.
 * Code split, so each role's dynamic imports (Bolt for the bot, client-node or dockerode for
 * a worker) load only when that role runs. Tests and the CLI still run the sources with tsx.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--outdir DIR` (inside the repository, so node_modules resolves) is for the build test.
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 && process.argv[at + 1] ? join(root, process.argv[at + 1]) : join(root, 'dist');

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts', sim: 'src/sim/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [externalPackagesBut(/^@kubernetes\/client-node(\/|$)/)],
  sourcemap: 'linked',
  logLevel: 'warning',
});

/** Every bare import is external (node_modules at run time), except the packages `bundled` matches. */
function externalPackagesBut(bundled) {
  return {
    name: 'external-packages-but',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => (bundled.test(args.path) ? undefined : { path: args.path, external: true }));
    },
  };
}
