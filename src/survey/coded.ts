import type { CompiledMapping, PatientRecord, SourceType } from '../mappings';
import { elementChecks } from '../mappings';
import { CODED_FIELDS, NO_SYSTEM, valueKey } from './fields';
import { resourcesOf } from './records';
import type { CodedFieldSurvey, SurveyReport, UnrecognisedValue } from './report';
import { Tally } from './stats';
import type { MappingVocabulary } from './vocabulary';
import { namesCodeSystems, placeCode, placeSystem } from './vocabulary';

/** The coded fields the mapping reads, with every value seen and whether the mapping places it. */
export function codedFields(
  mapping: CompiledMapping,
  records: readonly PatientRecord[],
  vocabulary: MappingVocabulary
): CodedFieldSurvey[] {
  const read = elementChecks(mapping);
  const readsElement = (type: SourceType) => (element: string) => read.get(type)?.has(element) ?? false;
  const urls = vocabulary.extensionUrls;
  // Per feature, the elements it reads on each of its types: a feature over several types reads each one's fields.
  const byFeature = mapping.features.map((f) => ({ feature: f, elements: elementChecks({ features: [f] }) }));
  const readers = (field: (typeof CODED_FIELDS)[number]): string[] =>
    byFeature
      .filter(({ elements }) => field.elements.some((e) => elements.get(field.resource)?.has(e)))
      .map(({ feature }) => feature.name);
  return CODED_FIELDS.filter((field) => field.elements.some(readsElement(field.resource))).map((field) => {
    const namesSystems = namesCodeSystems(
      mapping.features.filter((f) => readers(field).includes(f.name)).map((f) => f.spec)
    );
    const tally = new Tally();
    const inLists = new Tally();
    let withValue = 0;
    for (const record of records) {
      for (const resource of resourcesOf(record, field.resource)) {
        const values = field.values(resource, urls);
        if (values.length) {
          withValue++;
        }
        for (const value of values) {
          const key = field.kind === 'codes' ? valueKey(value) : (value.system ?? NO_SYSTEM);
          tally.add(key);
          if (field.kind === 'systems' && inAnyList(value, vocabulary)) {
            inLists.add(key);
          }
        }
      }
    }
    return {
      id: field.id,
      label: field.label,
      resource: field.resource,
      kind: field.kind,
      features: readers(field),
      resourcesWithValue: withValue,
      values: tally.entries().map(([value, count]) => {
        const placement =
          field.kind === 'codes'
            ? placeCode(field, parseKey(value), vocabulary)
            : placeSystem(field, value, vocabulary, readsElement(field.resource), namesSystems);
        return {
          value,
          count,
          ...placement,
          ...(field.kind === 'systems' ? { inLists: inLists.get(value) } : {}),
        };
      }),
    };
  });
}

function inAnyList(value: { system?: string; code?: string }, vocabulary: MappingVocabulary): boolean {
  return (vocabulary.bySystem.get(value.system ?? '') ?? []).some((list) => list.codes.has(value.code ?? ''));
}

function parseKey(key: string): { system?: string; code?: string } {
  const bar = key.lastIndexOf('|');
  return bar < 0 ? { code: key } : { system: key.slice(0, bar), code: key.slice(bar + 1) };
}

/** Fields the mapping reads that no sampled record of the type carries (a local extension the mapping skips aside). */
export function emptyFields(fields: readonly CodedFieldSurvey[], records: readonly PatientRecord[]): string[] {
  const unread = new Set(CODED_FIELDS.filter((f) => f.unread).map((f) => f.id));
  return fields
    .filter((field) => field.resourcesWithValue === 0 && !unread.has(field.id))
    .filter((field) => records.some((record) => resourcesOf(record, field.resource as SourceType).length > 0))
    .map((field) => field.id);
}

/** Sentences for the values the mapping cannot place: "admission method 2E seen 14 times: in neither ... nor ...". */
export function unrecognisedValues(
  fields: readonly CodedFieldSurvey[],
  vocabulary: MappingVocabulary
): UnrecognisedValue[] {
  return fields.flatMap((field) =>
    field.values
      .filter((v) => !v.recognised)
      .map((v) => ({
        field: field.id,
        value: v.value,
        count: v.count,
        features: field.features,
        lists: (vocabulary.bySystem.get(field.kind === 'codes' ? (parseKey(v.value).system ?? '') : v.value) ?? []).map(
          (list) => list.id
        ),
        message: `${field.label}: ${v.value} seen ${v.count} ${v.count === 1 ? 'time' : 'times'}: ${v.note}`,
      }))
  );
}

/** Extensions anywhere in the sampled resources whose url the mapping does not name, by type and element. */
export function unusedExtensions(
  records: readonly PatientRecord[],
  vocabulary: MappingVocabulary
): SurveyReport['unusedExtensions'] {
  const tally = new Tally();
  // An extension's own sub-extensions (`ombCategory` in US Core race) belong to it: only the outer url is reported.
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item) => visit(item, path));
      return;
    }
    if (!value || typeof value !== 'object') {
      return;
    }
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const isExtension = key === 'extension' || key === 'modifierExtension';
      if (isExtension && Array.isArray(child)) {
        for (const extension of child as { url?: unknown }[]) {
          if (typeof extension?.url === 'string' && !vocabulary.extensionUrls.has(extension.url)) {
            tally.add(`${path}.${key}\t${extension.url}`);
          }
        }
      } else if (key !== 'contained') {
        visit(child, `${path}.${key}`);
      }
    }
  };
  for (const record of records) {
    visit(record.patient, 'Patient');
    for (const [type, resources] of Object.entries(record.resources)) {
      resources?.forEach((resource) => visit(resource, type));
    }
  }
  return tally.entries().map(([key, count]) => {
    const [path, url] = key.split('\t') as [string, string];
    return { resource: path.split('.')[0] as string, path, url, count };
  });
}
