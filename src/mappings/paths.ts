import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { elementNames, walkExpression } from './elements';

/**
 * Element paths of mapping expressions, checked against the R4 definitions of the resource type at load. FHIRPath
 * itself accepts any name (`class.cod` is valid and simply empty), so a misspelt element would silently empty a
 * feature and, with it, the cohort. The walk is the record check's (elements.ts: fhirpath.js's R4 model, the one the
 * expressions are evaluated with): members, choice elements (`value`, `valueQuantity`), backbone elements,
 * `extension(url)`, `ofType()` / `as`, and the arguments of `where()`, `select()` and the like over the items they
 * filter. Where the type cannot be known (after `resolve()`, in a contained resource, a function's result) it stops
 * rather than guess.
 */

const MODEL = r4 as unknown as { type2Parent: Record<string, string | undefined>; availableTypes: Set<string> };
/** FHIRPath's own types, which `ofType()` also takes (`ofType(DateTime)` keeps a dateTime). */
const SYSTEM_TYPES = ['Boolean', 'String', 'Integer', 'Decimal', 'Date', 'DateTime', 'Time', 'Quantity'];

/**
 * Every element path of `expression` that its resource type does not have, as one message each. A feature over
 * several types (MedicationRequest and MedicationStatement as one list) may name an element only one of them has
 * (`authoredOn | dateAsserted`): a path is wrong only when none of them can reach it.
 */
export function elementPathProblems(expression: string, resourceTypes: string | readonly string[]): string[] {
  const perType = [resourceTypes].flat().map((type) => problemsOver(type, expression));
  const [first, ...others] = perType;
  const unreachable = (at: string, missing: Map<string, string>): boolean =>
    [...missing.keys()].some((key) => at === key || at.startsWith(`${key}.`));
  return [...(first ?? new Map<string, string>())]
    .filter(([at]) => others.every((missing) => unreachable(at, missing)))
    .map(([, problem]) => problem);
}

/** What `expression` names that `resourceType` does not have: by the JSON path below the resource, its message. */
function problemsOver(resourceType: string, expression: string): Map<string, string> {
  const problems = new Map<string, string>();
  walkExpression(resourceType, expression, {
    noSuchElement(at, type, modelPath, name) {
      if (isOpen(type) || name === 'resourceType') {
        // A contained resource or a FHIRPath system value: its elements are not known from the path. `resourceType`
        // is no element, but fhirpath.js reads it from the JSON (a feature over several types tells them apart by it).
        return;
      }
      const owner = modelPath.includes('.') ? modelPath : type;
      const below = [at, name].filter(Boolean).join('.');
      const message = `${resourceType}.${below}: ${owner} has no element '${name}'${suggestion(name, elementNames(modelPath))}`;
      problems.set(below, problems.get(below) ?? message);
    },
    ofType(at, types, typeName, keptNone) {
      const name = typeName.replace(/^FHIR\./, '');
      const below = `${commonPrefix(at)}.ofType(${name})`;
      const path = `${[resourceType, commonPrefix(at)].filter(Boolean).join('.')}.ofType(${name})`;
      if (!isTypeName(typeName)) {
        const names = [...types, ...SYSTEM_TYPES, ...MODEL.availableTypes];
        problems.set(below, `${path}: no FHIR type '${name}'${suggestion(name, names)}`);
      } else if (keptNone && !types.some(isOpen) && !types.some((type) => isA(type, name))) {
        problems.set(below, `${path}: never a ${name} here (it is ${types.join(', ')})`);
      }
    },
  });
  return problems;
}

/** Types whose elements the model does not list: any resource, or a FHIRPath system type. */
function isOpen(type: string): boolean {
  return type === 'Resource' || type === 'DomainResource' || type.startsWith('System.');
}

/** Whether fhirpath.js resolves the name as a type (else every evaluation of the expression throws). */
function isTypeName(typeName: string): boolean {
  try {
    fhirpath.evaluate({ resourceType: 'Basic' }, `ofType(${typeName})`, undefined, r4);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a value of `type` passes `ofType(name)`, as fhirpath.js sees it: the type itself, one it derives from (an
 * Age is a Quantity, a code a string), or the FHIRPath type of a primitive (DateTime for dateTime).
 */
function isA(type: string, name: string): boolean {
  if (type === 'BackboneElement' || type === 'Element') {
    return name === 'BackboneElement' || name === 'Element';
  }
  for (let t: string | undefined = type; t; t = MODEL.type2Parent[t]) {
    if (t === name || t.toLowerCase() === name.replace(/^System\./, '').toLowerCase()) {
      return true;
    }
  }
  return false;
}

/** `effective` for the variants `effectiveDateTime`, `effectivePeriod`, ...; the path itself when there is one. */
function commonPrefix(paths: readonly string[]): string {
  const first = paths[0] ?? '';
  let length = first.length;
  for (const path of paths.slice(1)) {
    while (length && path.slice(0, length) !== first.slice(0, length)) {
      length--;
    }
  }
  return first.slice(0, length);
}

/** ` (nearest: 'code')`: the closest of `names` by edit distance, if any is close enough to be a likely typo. */
export function suggestion(name: string, names: readonly string[]): string {
  const nearest = nearestName(name, names);
  return nearest ? ` (nearest: '${nearest}')` : '';
}

export function nearestName(name: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of new Set(names)) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) {
      best = { name: candidate, distance };
    }
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}
