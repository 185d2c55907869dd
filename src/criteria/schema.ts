import { z } from 'zod';

const id = z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and hyphens');
const rule = z.strictObject({ id, title: z.string().min(1), when: z.string().min(1) });

export const programmeSchema = z.strictObject({
  id,
  version: z.string().min(1),
  title: z.string().min(1),
  parameters: z.record(z.string(), z.number()),
  tiers: z.array(rule.extend({ id: z.enum(['first', 'second']) })).min(1),
  riskFactors: z.array(rule).default([]),
  exclusions: z.array(rule).default([]),
  rankBy: z.array(z.string()).default([]),
  /** Scores for the dominant risk (allocation); absent: every patient goes to a clinician. */
  allocation: z
    .strictObject({ psychosocialScore: z.string().min(1), clinicalScore: z.string().min(1) })
    .default({ psychosocialScore: '0', clinicalScore: '0' }),
});

export type ProgrammeFile = z.output<typeof programmeSchema>;
export type Rule = z.output<typeof rule>;
