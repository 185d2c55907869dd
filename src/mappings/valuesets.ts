import type { ValueSet } from '@medplum/fhirtypes';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Named code lists: ValueSet id → set of `system|code`. */
export type CodeLists = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Reads every ValueSet in a folder. Value sets must list their codes explicitly (compose.include.concept), so a
 * mapping needs no terminology server; filters and nested value sets are refused with the file named.
 */
export function loadValueSets(folder: string): { lists: CodeLists; valueSets: ValueSet[]; problems: string[] } {
  const lists = new Map<string, Set<string>>();
  const valueSets: ValueSet[] = [];
  const problems: string[] = [];
  let files: string[];
  try {
    files = readdirSync(folder)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return { lists, valueSets, problems: [`${folder}: cannot read the value set folder`] };
  }
  for (const file of files) {
    const where = path.join(folder, file);
    let valueSet: ValueSet;
    try {
      valueSet = JSON.parse(readFileSync(where, 'utf8')) as ValueSet;
    } catch (err) {
      problems.push(`${where}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const problem = checkValueSet(valueSet);
    if (problem) {
      problems.push(`${where}: ${problem}`);
      continue;
    }
    const codes = new Set<string>();
    for (const include of valueSet.compose?.include ?? []) {
      for (const concept of include.concept ?? []) {
        codes.add(`${include.system}|${concept.code}`);
      }
    }
    lists.set(valueSet.id as string, codes);
    valueSets.push(valueSet);
  }
  return { lists, valueSets, problems };
}

function checkValueSet(valueSet: ValueSet): string | undefined {
  if (valueSet.resourceType !== 'ValueSet' || !valueSet.id) {
    return 'not a ValueSet with an id';
  }
  const includes = valueSet.compose?.include ?? [];
  if (!includes.length) {
    return 'compose.include is empty';
  }
  for (const include of includes) {
    if (!include.system || !include.concept?.length || include.filter?.length || include.valueSet?.length) {
      return 'each compose.include needs a system and explicit concepts (no filters or nested value sets)';
    }
  }
  if (valueSet.compose?.exclude?.length) {
    return 'compose.exclude is not supported; list the included codes instead';
  }
  return undefined;
}
