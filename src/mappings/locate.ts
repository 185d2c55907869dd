import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { suggestion } from './paths';

/** The mappings that ship with the connector, by name: `mappings/<name>/mapping.yaml`. */
export const BUILT_IN_MAPPINGS_DIR = path.join(PACKAGE_ROOT, 'mappings');

const MAPPING_FILE = 'mapping.yaml';

/** Where a mapping reference leads: its file, or why there is none (said in terms the user can act on). */
export interface MappingLocation {
  file: string;
  problem?: string;
}

/** The built-in mapping names, e.g. `synthea`, `uk-core`. */
export function builtInMappings(): string[] {
  return readdirSync(BUILT_IN_MAPPINGS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(BUILT_IN_MAPPINGS_DIR, entry.name, MAPPING_FILE)))
    .map((entry) => entry.name)
    .sort();
}

/**
 * `--mapping` / `mapping`: a built-in name (`uk-core`), a mapping folder (holding `mapping.yaml`) or a mapping file.
 * A name is looked up among the built-in mappings first; anything else is a path.
 */
export function locateMapping(ref: string): MappingLocation {
  const names = builtInMappings();
  if (names.includes(ref)) {
    return { file: path.join(BUILT_IN_MAPPINGS_DIR, ref, MAPPING_FILE) };
  }
  const given = path.resolve(ref);
  const builtIn = `built-in mappings: ${names.join(', ')}`;
  if (!existsSync(given)) {
    const bareName = !ref.includes('/') && !ref.includes(path.sep) && !/\.ya?ml$/.test(ref);
    return bareName
      ? {
          file: ref,
          problem: `no built-in mapping '${ref}'${suggestion(ref, names)} (${builtIn}), nor a file or folder of that name`,
        }
      : { file: given, problem: `no such mapping file or folder (${builtIn})` };
  }
  if (statSync(given).isDirectory()) {
    const file = path.join(given, MAPPING_FILE);
    return existsSync(file)
      ? { file }
      : { file, problem: `the folder holds no ${MAPPING_FILE} (a mapping folder holds one; ${builtIn})` };
  }
  return { file: given };
}
