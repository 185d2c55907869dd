import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The folder holding package.json, where `mappings/`, `programmes/` and `profiles/` are shipped: found by walking up,
 * so the same code finds them from `src/` (tests), `dist/` (the CLI, the image) and `dist-bench/src/` (benchmarks).
 */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      return dir;
    }
    if (dir === path.dirname(dir)) {
      throw new Error(`no package.json above ${start}`);
    }
  }
}
