import { z } from 'zod';
import { SOURCE_TYPES } from '../vocabulary';
import type { SourceType } from '../vocabulary';

export { SOURCE_TYPES };
export type { SourceType };

/** count | exists | countDistinct(expr) | sum(expr) | min(expr) | max(expr) | latest(expr) */
const AGGREGATE = /^(count|exists)$|^(countDistinct|sum|min|max|latest)\((.+)\)$/s;

/** An ISO 8601 duration in whole years, months, weeks or days: P12M, P1Y, P6W, P30D. */
const DURATION = /^P(\d+)([YMWD])$/;

const featureSchema = z.strictObject({
  description: z.string().min(1),
  /** What a clinician reads for the feature ("Unplanned admissions"). */
  title: z.string().min(1).optional(),
  /** One of what it counts ("unplanned admission"), for "1 unplanned admission"; and its plural when not noun + s. */
  noun: z.string().min(1).optional(),
  plural: z.string().min(1).optional(),
  /**
   * The resource type the feature reads, or several read as one list (medicines recorded as MedicationRequest in one
   * system and MedicationStatement in another: `[MedicationRequest, MedicationStatement]`, so one medicine recorded
   * both ways is counted once). The expressions then run on each type: elements a type lacks are empty on it.
   */
  resource: z.union([z.enum(SOURCE_TYPES), z.array(z.enum(SOURCE_TYPES)).min(1)]),
  /**
   * FHIRPath boolean, evaluated against each resource of the type; true keeps the resource. A list of them keeps
   * the resources for which all hold, tested in order, each only on what the ones before kept: put the cheap and
   * selective test first (fhirpath.js evaluates both sides of `and`, so a list is the faster way to write one).
   */
  where: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** FHIRPath to the resource's date or dateTime; needed when there is a window. */
  date: z.string().min(1).optional(),
  window: z.string().regex(DURATION, 'must be an ISO 8601 duration such as P12M, P1Y, P6W or P30D').optional(),
  aggregate: z
    .string()
    .regex(AGGREGATE, 'must be count, exists, countDistinct(expr), sum(expr), min(expr), max(expr) or latest(expr)'),
});

const searchSchema = z.strictObject({
  /** The search parameter naming the patient: subject for most types, patient for Consent. */
  subject: z.string().min(1),
  /** A date search parameter to bound the search to the look-back window, when every feature of the type has one. */
  date: z.string().min(1).optional(),
});

export const mappingSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and hyphens'),
    description: z.string().min(1),
    /** Folder of FHIR ValueSet JSON files (explicit codes), relative to the mapping file. */
    valueSets: z.string().default('valuesets'),
    search: z.partialRecord(z.enum(SOURCE_TYPES), searchSchema).default({}),
    features: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'feature names are identifiers'), featureSchema),
  })
  .superRefine((mapping, ctx) => {
    for (const [name, feature] of Object.entries(mapping.features)) {
      if (feature.window && !feature.date) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', name, 'date'],
          message: 'a feature with a window needs a date',
        });
      }
      const types = resourceTypesOf(feature);
      if (types.length > 1 && types.includes('Patient')) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', name, 'resource'],
          message: 'Patient is the record itself: it cannot be read in a list with other types',
        });
      }
      for (const type of types) {
        if (type !== 'Patient' && !mapping.search[type]) {
          ctx.addIssue({
            code: 'custom',
            path: ['search', type],
            message: `feature '${name}' reads ${type}: say how to search it (search.${type}.subject)`,
          });
        }
      }
    }
  });

export type MappingFile = z.output<typeof mappingSchema>;
export type FeatureSpec = MappingFile['features'][string];

/** The types a feature reads, without repeats, in the order the mapping gives them. */
export function resourceTypesOf(feature: Pick<FeatureSpec, 'resource'>): SourceType[] {
  return [...new Set([feature.resource].flat())];
}

export type Aggregate =
  { kind: 'count' | 'exists' } | { kind: 'countDistinct' | 'sum' | 'min' | 'max' | 'latest'; expression: string };

export function parseAggregate(text: string): Aggregate {
  const match = AGGREGATE.exec(text);
  if (!match) {
    throw new Error(`not an aggregate: ${text}`);
  }
  if (match[1]) {
    return { kind: match[1] as 'count' | 'exists' };
  }
  return { kind: match[2] as 'countDistinct', expression: (match[3] as string).trim() };
}

export interface Duration {
  amount: number;
  unit: 'Y' | 'M' | 'W' | 'D';
}

export function parseDuration(text: string): Duration {
  const match = DURATION.exec(text);
  if (!match) {
    throw new Error(`not a duration: ${text}`);
  }
  return { amount: Number(match[1]), unit: match[2] as Duration['unit'] };
}
