/**
 * Files the sandbox ships with (the page, the demo fleet), found from the package root rather
 * than from this module's directory: the code may run from `src/` under tsx or from a bundle in
 * `dist/`, and the files stay in `src/sandbox/` either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'cws-chatops';

/** Walks up from `from` to the directory whose package.json is this package's. */
export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isThisPackage(manifest)) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${from}`);
  }
}

function isThisPackage(manifest: string): boolean {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

export const pageDir = (root = packageRoot()): string => join(root, 'src', 'sandbox', 'page');
export const demoFleetPath = (root = packageRoot()): string => join(root, 'src', 'sandbox', 'demo-fleet.yaml');
