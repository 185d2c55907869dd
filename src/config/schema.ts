import { z } from 'zod';

/**
 * Values from environment variables arrive as strings; numbers and booleans accept their string forms so that
 * `HFU_FHIR__TIMEOUT_MS=5000` works, while a non-numeric string still fails with a message naming the key.
 */
function integer(defaultValue: number, min: number, max: number) {
  return z
    .preprocess(
      (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
      z.number().int().min(min).max(max)
    )
    .default(defaultValue);
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const authSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({ type: z.literal('bearer'), token: z.string().min(1) }),
    z.strictObject({
      type: z.literal('client-credentials'),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      /** When absent, discovered from `<baseUrl>/.well-known/smart-configuration`. */
      tokenUrl: httpUrl.optional(),
      scope: z.string().optional(),
    }),
  ])
  .prefault({ type: 'none' });

const fhirSchema = z
  .strictObject({
    /** The FHIR R4 endpoint. Absent: the embedded server (`hfu fhir-server`, `npm start`). */
    baseUrl: httpUrl.optional(),
    auth: authSchema,
    timeoutMs: integer(30_000, 100, 600_000),
    /** Attempts per request including the first; retries apply to 429, 502, 503, 504 and network errors. */
    maxAttempts: integer(5, 1, 20),
    retryBaseDelayMs: integer(500, 1, 60_000),
    retryMaxDelayMs: integer(30_000, 1, 600_000),
    /** A `Retry-After` longer than this fails the request instead of stalling the run. */
    maxRetryAfterMs: integer(120_000, 0, 3_600_000),
    /** Requests in flight at once against the endpoint. */
    concurrency: integer(4, 1, 64),
    /** `_count` asked of the server per search page (servers may return fewer). */
    pageSize: integer(1000, 1, 10_000),
    /** Patients per `subject=Patient/a,Patient/b,...` search. */
    chunkSize: integer(100, 1, 1000),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    format: z.enum(['json', 'pretty', 'auto']).default('auto'),
  })
  .prefault({});

const embeddedSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: integer(8103, 0, 65_535),
    /** Patients in the synthetic practice seeded at start-up (0: start empty). */
    seedPractice: integer(5000, 0, 2_000_000),
    seed: integer(1, 0, 2 ** 31 - 1),
  })
  .prefault({});

const tierNumbers = z.strictObject({
  first: integer(0, 0, 1_000_000).optional(),
  second: integer(0, 0, 1_000_000).optional(),
});

const programmeSchema = z
  .strictObject({
    /** A built-in programme id or a path to a programme YAML file. */
    file: z.string().min(1).default('nhse-hfu-2022'),
    /** Overrides of the programme's parameters (thresholds), e.g. repeatItems: 8. */
    parameters: z
      .record(
        z.string(),
        z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number())
      )
      .default({}),
    /** Candidates proposed per tier; absent: every qualifying patient. */
    capacity: z
      .union([
        tierNumbers,
        z.strictObject({
          perThousand: z.strictObject({ first: z.number().min(0).optional(), second: z.number().min(0).optional() }),
        }),
      ])
      .optional(),
  })
  .prefault({});

const scopeSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('all') }),
    /** The patients registered with a practice, found by its ODS code. */
    z.strictObject({
      type: z.literal('practice'),
      ods: z.string().regex(/^[A-Z0-9]{3,10}$/, 'an ODS code such as Y99001'),
    }),
    /** The members of a FHIR Group on the endpoint. */
    z.strictObject({ type: z.literal('group'), id: z.string().min(1) }),
    /** An explicit list of Patient ids. */
    z.strictObject({ type: z.literal('list'), patients: z.array(z.string().min(1)).min(1) }),
  ])
  .prefault({ type: 'all' });

const extractSchema = z
  .strictObject({
    /** Chunks of patients evaluated at once. */
    concurrency: integer(4, 1, 64),
    /** Bound searches to the look-back window with the mapping's date parameters (off for servers that refuse them). */
    dateBounds: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).default(true),
  })
  .prefault({});

const writebackSchema = z
  .strictObject({
    /** Owner of the MDT review Tasks, e.g. CareTeam/pcn-mdt or Organization/y99001; absent: unassigned. */
    reviewOwner: z
      .string()
      .regex(/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/, 'a reference such as CareTeam/pcn-mdt')
      .optional(),
    /**
     * Entries per transaction the FHIR server accepts. One patient's changes go in one transaction with their
     * Provenance, at most 6 entries (exit: three open Tasks, Flag, CarePlan, Provenance); Medplum accepts 8 when any
     * entry is conditional.
     */
    transactionMaxEntries: integer(8, 6, 1000),
  })
  .prefault({});

const roleSchema = z.enum([
  'gp',
  'nurse',
  'pharmacist',
  'advanced-nurse-practitioner',
  'physician-associate',
  'care-coordinator',
  'social-prescribing-link-worker',
  'health-and-wellbeing-coach',
]);

const allocationSchema = z
  .strictObject({
    /** Who can take HFU caseloads; empty: allocation is left to the MDT and no caseload limit applies. */
    workforce: z
      .array(
        z.strictObject({
          /** The PractitionerRole or CareTeam that will own the Tasks and care plans. */
          reference: z
            .string()
            .regex(
              /^(PractitionerRole|CareTeam|Practitioner)\/[A-Za-z0-9\-.]{1,64}$/,
              'a reference such as PractitionerRole/splw-1'
            ),
          role: roleSchema,
          /** Patients this person or team can carry at once (open Tasks and active care plans they own). */
          caseload: integer(10, 0, 10_000),
        })
      )
      .default([]),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    fhir: fhirSchema,
    /** uk-core, synthea, or a path to a mapping YAML file. */
    mapping: z.string().min(1).default('uk-core'),
    programme: programmeSchema,
    scope: scopeSchema,
    extract: extractSchema,
    writeback: writebackSchema,
    allocation: allocationSchema,
    log: logSchema,
    embedded: embeddedSchema,
  })
  .prefault({});

export type Config = z.output<typeof configSchema>;
export type Scope = Config['scope'];
export type WorkforceMember = Config['allocation']['workforce'][number];
export type FhirConfig = Config['fhir'];
export type AuthConfig = FhirConfig['auth'];
