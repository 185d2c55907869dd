import { z } from 'zod';

const id = z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and hyphens');
const feature = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'a feature name of the mapping');
const rule = z.strictObject({ id, title: z.string().min(1), when: z.string().min(1) });
const range = z.string().regex(/^[A-Za-z][A-Za-z0-9]*=\d+-\d+$/, 'parameter=from-to, e.g. repeatItems=5-15');

/**
 * Parameters the lifecycle reads, which every programme declares with its default (a site overrides them under
 * programme.parameters): whole numbers, at least `min`.
 */
export const LIFECYCLE_PARAMETERS = {
  /** The What Matters to Me conversation is due within this many days of enrolment. */
  conversationWithinDays: { min: 1 },
  /** Check-ins fall due this many days apart after the conversation. */
  checkInEveryDays: { min: 1 },
  /** Check-ins in all, one open at a time. */
  checkInCount: { min: 0 },
  /** After a decline or discharge the patient is not proposed again for this long (unless their tier rises). */
  coolOffDays: { min: 0 },
} as const satisfies Record<string, { min: number }>;

export type LifecycleParameter = keyof typeof LIFECYCLE_PARAMETERS;

export const programmeSchema = z.strictObject({
  id,
  version: z.string().min(1),
  title: z.string().min(1),
  /** What clinicians call the programme in text the connector writes ("High Frequency Users programme"). */
  shortTitle: z.string().min(1).optional(),
  /**
   * What the patient's Flag says while they are enrolled (Flag.code, in the project's code system): what GP systems
   * show on the banner. `definition` is the code's definition in the published CodeSystem.
   */
  flag: z.strictObject(
    { code: id, display: z.string().min(1), definition: z.string().min(1).optional() },
    {
      error: (issue) =>
        issue.input === undefined ? "missing (the code and display of an enrolled patient's Flag)" : undefined,
    }
  ),
  parameters: z.record(z.string(), z.number()),
  tiers: z.array(rule.extend({ id: z.enum(['first', 'second']) })).min(1),
  riskFactors: z.array(rule).default([]),
  /** `exit: true`: while it holds, a patient already in the programme leaves it (their episode is closed). */
  exclusions: z.array(rule.extend({ exit: z.boolean().default(false) })).default([]),
  rankBy: z.array(z.string()).default([]),
  /** The figures a clinician reads first (the reason on a review Task, a care plan, a candidate line); default: the tiers' features. */
  headline: z.array(feature).min(1).optional(),
  /** Features whose evidence (conditions) a care plan addresses; the rest of the evidence is supporting information. */
  carePlanAddresses: z.array(feature).default([]),
  /** The grid `hfu tune` shows unless told otherwise: two parameters of the first tier's rule, each over a range. */
  tune: z.strictObject({ rows: range, columns: range }).optional(),
  /** Scores for the dominant risk (allocation); absent: every patient goes to a clinician. */
  allocation: z
    .strictObject({ psychosocialScore: z.string().min(1), clinicalScore: z.string().min(1) })
    .default({ psychosocialScore: '0', clinicalScore: '0' }),
});

export type ProgrammeFile = z.output<typeof programmeSchema>;
export type Rule = z.output<typeof rule>;
