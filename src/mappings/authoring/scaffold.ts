import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { resolveMappingFile } from '../load';
import { copyMappingFolder, YAML_OUTPUT } from './copy';
import { SuggestionError } from './suggest';

/**
 * A new mapping folder for an engineer to adapt: a copy of a built-in mapping (uk-core by default) with its value
 * sets and its tests, renamed, so `hfu mapping test --mapping <folder>` passes before the first edit.
 */
export function scaffoldMapping(name: string, out: string, from = 'uk-core'): string {
  if (!/^[a-z0-9-]+$/.test(name)) {
    throw new SuggestionError(`${name}: a mapping name is lower-case letters, digits and hyphens`);
  }
  const file = copyMappingFolder(resolveMappingFile(from), out);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.set('name', name);
  doc.set('description', `${name}: adapted from the ${from} mapping`);
  doc.commentBefore = [
    ` ${name}, scaffolded from ${from} by hfu mapping new: adapt the features and value sets to the source, add`,
    ` cases to tests.yaml, and check them with hfu mapping test --mapping ${out}`,
  ].join('\n');
  writeFileSync(file, doc.toString(YAML_OUTPUT));
  const tests = path.join(path.dirname(file), 'tests.yaml');
  writeFileSync(tests, readFileSync(tests, 'utf8').replace(`--mapping ${from}`, `--mapping ${out}`));
  return file;
}
