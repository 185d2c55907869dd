import type { CodeLists } from './valuesets';

type Coding = { system?: string; code?: string };

/** The codings in a FHIRPath input item: a Coding, a CodeableConcept, or a bare code string. */
function codingsOf(item: unknown): Coding[] {
  if (typeof item === 'string') {
    return [{ code: item }];
  }
  if (item && typeof item === 'object') {
    const coding = (item as { coding?: Coding[] }).coding;
    if (Array.isArray(coding)) {
      return coding;
    }
    if ('code' in item) {
      return [item as Coding];
    }
  }
  return [];
}

/** Whole years from an ISO date (or dateTime) to another: an age on a date. */
export function ageOn(birthDate: string, onDate: string): number | undefined {
  const birth = /^(\d{4})-(\d{2})-(\d{2})/.exec(birthDate);
  const on = /^(\d{4})-(\d{2})-(\d{2})/.exec(onDate);
  if (!birth || !on) {
    return undefined;
  }
  const [, by, bm, bd] = birth.map(Number) as [number, number, number, number];
  const [, oy, om, od] = on.map(Number) as [number, number, number, number];
  return oy - by - (om < bm || (om === bm && od < bd) ? 1 : 0);
}

/**
 * FHIRPath functions a mapping may use (fhirpath.js `userInvocationTable`):
 * - `inValueSet('id')`: true when any coding of the input is in the mapping's value set `id`;
 * - `valueSetsOf('prefix')`: the ids of the value sets starting with `prefix` that hold any of the input's codings
 *   (e.g. `code.valueSetsOf('ltc-')` names the long-term condition registers a diagnosis belongs to);
 * - `ageOn(date)`: whole years from the input date to `date` (e.g. `birthDate.ageOn(%asOfDate)`).
 */
export function mappingFunctions(lists: CodeLists) {
  const inList = (item: unknown, codes: ReadonlySet<string>): boolean =>
    codingsOf(item).some((c) => codes.has(`${c.system ?? ''}|${c.code ?? ''}`));
  return {
    inValueSet: {
      fn: (inputs: unknown[], id: string): boolean[] => {
        const codes = lists.get(id);
        if (!codes) {
          throw new Error(`inValueSet: no value set '${id}' in this mapping`);
        }
        return [inputs.some((item) => inList(item, codes))];
      },
      arity: { 1: ['String'] },
    },
    valueSetsOf: {
      fn: (inputs: unknown[], prefix: string): string[] => {
        const names: string[] = [];
        for (const [id, codes] of lists) {
          if (id.startsWith(prefix) && inputs.some((item) => inList(item, codes))) {
            names.push(id);
          }
        }
        return names;
      },
      arity: { 1: ['String'] },
    },
    ageOn: {
      fn: (inputs: unknown[], onDate: unknown): number[] => {
        const age = inputs.length === 1 ? ageOn(String(inputs[0]), String(onDate)) : undefined;
        return age === undefined ? [] : [age];
      },
      arity: { 1: ['Any'] },
    },
  };
}
