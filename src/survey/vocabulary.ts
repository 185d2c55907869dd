import type { CompiledMapping, SourceType } from '../mappings';
import type { CodedField, CodedValue } from './fields';
import { NO_SYSTEM, REFERENCE } from './fields';

/** What the mapping knows of coded values: its value sets by code system, and the literals its expressions name. */
export interface MappingVocabulary {
  /** Code system → the mapping's value sets that include it, with their codes. */
  bySystem: Map<string, { id: string; codes: Set<string> }[]>;
  /**
   * Per resource type, the string literals in the expressions of the features that read it (`'IMP'`, `'active'`,
   * urls); a feature over several types names its literals for each.
   */
  literals: Map<SourceType, Set<string>>;
  /** Extension urls the expressions name (`extension('...')`), on any type. */
  extensionUrls: Set<string>;
}

export function mappingVocabulary(mapping: Pick<CompiledMapping, 'features' | 'valueSets'>): MappingVocabulary {
  const bySystem = new Map<string, { id: string; codes: Set<string> }[]>();
  for (const valueSet of mapping.valueSets) {
    for (const include of valueSet.compose?.include ?? []) {
      const system = include.system as string;
      const list = bySystem.get(system) ?? [];
      list.push({ id: valueSet.id as string, codes: new Set((include.concept ?? []).map((c) => c.code)) });
      bySystem.set(system, list);
    }
  }
  const literals = new Map<SourceType, Set<string>>();
  const extensionUrls = new Set<string>();
  for (const feature of mapping.features) {
    const text = expressionText(feature.spec);
    const named = [...text.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1] as string);
    for (const type of feature.resources) {
      const set = literals.get(type) ?? new Set<string>();
      named.forEach((literal) => set.add(literal));
      literals.set(type, set);
    }
    [...text.matchAll(/extension\(\s*'([^']+)'\s*\)/g)].forEach((m) => extensionUrls.add(m[1] as string));
  }
  return { bySystem, literals, extensionUrls };
}

/** Whether expressions test codes against value sets or name a code system (a url literal). */
export function namesCodeSystems(
  specs: readonly { where?: string | string[]; date?: string; aggregate: string }[]
): boolean {
  return specs.some((spec) => /inValueSet\(|valueSetsOf\(|'(?:https?|urn):[^']*'/.test(expressionText(spec)));
}

function expressionText(spec: { where?: string | string[]; date?: string; aggregate: string }): string {
  return [spec.where ?? [], spec.date ?? [], spec.aggregate].flat().join('\n');
}

export interface Placement {
  recognised: boolean;
  /** Why, in a few words: `in emergency-admission-methods`, `FHIR standard code`, or why not. */
  note: string;
}

/** Whether the mapping can place one value of a `codes` field: a standard code, in one of its lists, or named. */
export function placeCode(field: CodedField, value: CodedValue, vocabulary: MappingVocabulary): Placement {
  const placed = placeCodeIn(field, value, vocabulary);
  return field.unread
    ? { recognised: false, note: `${placed.note}; the mapping does not read this extension` }
    : placed;
}

function placeCodeIn(field: CodedField, value: CodedValue, vocabulary: MappingVocabulary): Placement {
  const code = value.code ?? '';
  const lists = value.system ? (vocabulary.bySystem.get(value.system) ?? []) : [];
  const inLists = lists.filter((list) => list.codes.has(code)).map((list) => list.id);
  if (inLists.length) {
    return { recognised: true, note: `in ${inLists.join(', ')}` };
  }
  const standard = field.standard;
  if (standard?.codes.includes(code) && (!standard.system || !value.system || value.system === standard.system)) {
    return { recognised: true, note: 'a FHIR standard code' };
  }
  if (vocabulary.literals.get(field.resource)?.has(code) && (!value.system || !lists.length)) {
    return { recognised: true, note: 'named in the mapping' };
  }
  if (!code) {
    return { recognised: false, note: 'no code' };
  }
  if (lists.length) {
    const names = lists.map((list) => list.id);
    return {
      recognised: false,
      note:
        names.length === 1
          ? `not in ${names[0]}`
          : names.length === 2
            ? `in neither ${names[0]} nor ${names[1]}`
            : `in none of ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`,
    };
  }
  return {
    recognised: false,
    note: value.system ? 'the mapping has no list for this code system' : 'not a code the mapping names',
  };
}

/**
 * Whether the mapping can place a code system seen in a `systems` field. `namesSystems` is false when the features
 * reading the field test it against no value set and name no system (Synthea's medicines: any code counts).
 */
export function placeSystem(
  field: CodedField,
  system: string,
  vocabulary: MappingVocabulary,
  readsElement: (element: string) => boolean,
  namesSystems = true
): Placement {
  if (system === REFERENCE) {
    return readsElement('medicationReference')
      ? { recognised: true, note: 'the mapping reads medicationReference' }
      : { recognised: false, note: 'the mapping does not read medicationReference' };
  }
  if (!namesSystems) {
    return { recognised: true, note: 'the mapping reads codes of any system here' };
  }
  const lists = vocabulary.bySystem.get(system);
  if (lists?.length) {
    return { recognised: true, note: `used by ${lists.length} of the mapping's lists` };
  }
  if (vocabulary.literals.get(field.resource)?.has(system)) {
    return { recognised: true, note: 'named in the mapping' };
  }
  return {
    recognised: false,
    note: system === NO_SYSTEM ? 'codings without a system' : 'no list of the mapping uses this code system',
  };
}
