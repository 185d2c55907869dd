import { validate as isCronExpression } from 'node-cron';
import { isIP } from 'node:net';
import { z } from 'zod';
import { SOURCE_TYPES } from '../vocabulary';

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

/** A boolean that also accepts `true` / `false` as strings (from environment variables). */
function boolean(defaultValue: boolean) {
  return z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).default(defaultValue);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** What a run reads (rs: read and search) and writes (cu: create and update), in SMART v2 scope syntax. */
const SMART_SCOPES = [
  ...[...SOURCE_TYPES, 'Organization'].map((type) => `system/${type}.rs`),
  ...['Group', 'Flag', 'Task', 'CarePlan', 'Goal', 'ServiceRequest'].map((type) => `system/${type}.crus`),
  'system/Provenance.cu',
  'system/Observation.cu', // the ONS4 scores from the care team's forms
  'system/QuestionnaireResponse.rs', // the forms themselves, never written
].join(' ');

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
    /**
     * SMART Backend Services: client_credentials with a private_key_jwt client assertion (RS384 or ES384 per the
     * SMART spec; RS512 for NHS England's APIs). The key is PEM (PKCS#8) or a JWK as JSON, given inline (from the
     * environment: HFU_FHIR__AUTH__PRIVATE_KEY) or as a file.
     */
    z
      .strictObject({
        type: z.literal('smart-backend'),
        clientId: z.string().min(1),
        privateKey: z.string().min(1).optional(),
        privateKeyFile: z.string().min(1).optional(),
        algorithm: z.enum(['RS384', 'ES384', 'RS512']).default('RS384'),
        /** The key's id in the client's published JWKS (the assertion's `kid` header). */
        kid: z.string().min(1),
        /** The URL of the client's JWKS, sent as the assertion's `jku` header when the server registered one. */
        jku: httpUrl.optional(),
        /** When absent, discovered from `<baseUrl>/.well-known/smart-configuration`. */
        tokenUrl: httpUrl.optional(),
        scope: z.string().min(1).default(SMART_SCOPES),
      })
      .refine((auth) => Boolean(auth.privateKey) !== Boolean(auth.privateKeyFile), {
        message: 'give the private key as privateKey or privateKeyFile (one of them)',
        path: ['privateKey'],
      }),
  ])
  .prefault({ type: 'none' });

/** A FHIR endpoint: the source (`fhir`), and the same shape for a separate write target (`writeback.fhir`). */
const fhirEndpointSchema = z.strictObject({
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
  retry: z
    .strictObject({
      /** How long one request may wait in all between attempts; a throttled (429) request is retried while it lasts. */
      maxWaitSeconds: integer(300, 0, 86_400),
    })
    .prefault({}),
  /** Pages one search may have (and so `× pageSize` resources): a server's endless `next` chain ends there. */
  maxPagesPerSearch: integer(1000, 1, 1_000_000),
  /** A response (or a bulk ndjson line) longer than this fails its read rather than filling the memory. */
  maxResponseBytes: integer(64 * 1024 * 1024, 1024, 2 ** 31 - 1),
  /** Requests in flight at once against the endpoint. */
  concurrency: integer(4, 1, 64),
  /** `_count` asked of the server per search page (servers may return fewer). */
  pageSize: integer(1000, 1, 10_000),
  /** Patients per `subject=Patient/a,Patient/b,...` search. */
  chunkSize: integer(100, 1, 1000),
  /** Longest request URL sent (bytes, base URL included): a list of patients is split to stay within it. */
  maxUrlLength: integer(8000, 256, 1_000_000),
});

const fhirSchema = fhirEndpointSchema.prefault({});

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
    /** Years of history in the seeded practice (the multi-year model, for the reports); absent: 15 months. */
    historyYears: z
      .preprocess(
        (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
        z.number().int().min(1).max(20)
      )
      .optional(),
  })
  .prefault({});

/** How places go when a tier has more candidates than places: by severity (`rank`) or a seeded draw (`lottery`). */
const selection = {
  selection: z.enum(['rank', 'lottery']).optional(),
  seed: z
    .preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().min(0))
    .optional(),
};

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
        tierNumbers.extend(selection),
        z.strictObject({
          perThousand: z.strictObject({ first: z.number().min(0).optional(), second: z.number().min(0).optional() }),
          ...selection,
        }),
      ])
      .refine((c) => c.selection !== 'lottery' || c.seed !== undefined, {
        message: 'a lottery needs a seed (programme.capacity.seed), chosen and recorded before the first draw',
        path: ['seed'],
      })
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
    /** The patients registered with any of several practices (a primary care network), one cohort for all. */
    z.strictObject({
      type: z.literal('practices'),
      ods: z.array(z.string().regex(/^[A-Z0-9]{3,10}$/, 'an ODS code such as Y99001')).min(1),
      /** Names the cohort (its Group identifier), e.g. the PCN's ODS code; default: the practices' codes. */
      name: z
        .string()
        .regex(/^[A-Za-z0-9-]{1,40}$/, 'letters, digits and hyphens')
        .optional(),
    }),
    /** An explicit list of Patient ids. */
    z.strictObject({ type: z.literal('list'), patients: z.array(z.string().min(1)).min(1) }),
  ])
  .prefault({ type: 'all' });

const extractSchema = z
  .strictObject({
    /**
     * `search`: the population page by page, one search per resource type per page. `bulk`: one Bulk Data export
     * (`$export`), its ndjson files streamed and grouped by patient on disk.
     */
    mode: z.enum(['search', 'bulk']).default('search'),
    /**
     * Re-read only patients whose data changed since the last complete read (`_lastUpdated`), and everyone in the
     * programme; the watermark lives on the cohort Group, so a restart resumes from it. The first run reads all.
     */
    incremental: boolean(false),
    /** How far before the watermark changes are looked for: writes that were in flight during the last read. */
    incrementalOverlapSeconds: integer(300, 0, 86_400),
    /** Chunks of patients evaluated at once. */
    concurrency: integer(4, 1, 64),
    /** Bound searches to the look-back window with the mapping's date parameters (off for servers that refuse them). */
    dateBounds: boolean(true),
    /**
     * How a page of patients' data is searched: `or-list`, one search per type with `subject=Patient/a,Patient/b,...`;
     * `per-patient`, one search per patient and type (servers without comma-separated references);
     * `everything`, one `Patient/[id]/$everything` per patient (where the server declares it).
     */
    subjectSearch: z.enum(['or-list', 'per-patient', 'everything']).default('or-list'),
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
    /**
     * How one patient's writes are sent: `transaction` (one Bundle, all or nothing), `batch` or `individual` (ordered
     * conditional creates and If-Match updates, for servers without transactions), or `auto`: the best the target's
     * CapabilityStatement declares.
     */
    strategy: z.enum(['transaction', 'batch', 'individual', 'auto']).default('transaction'),
    /**
     * A separate, writable endpoint for the programme's record (Group, Task, Flag, CarePlan, Goal, ServiceRequest,
     * Observation, Provenance), when the source (`fhir`) is read-only: the same keys as `fhir`, `baseUrl` required.
     * Absent: the record is on the source.
     */
    fhir: fhirEndpointSchema.extend({ baseUrl: httpUrl }).optional(),
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
          /**
           * Who works this caseload in the workspace: the `sub` claim each of them signs in with (for CIS2, their
           * UUID). Signed in, they act as this reference: my-patients lists its patients, forms are theirs to fill.
           */
          signInSubjects: z.array(z.string().min(1).max(256)).max(50).optional(),
        })
      )
      .default([]),
  })
  .prefault({});

/** `hfu report` and the insights page. */
const reportSchema = z
  .strictObject({
    /** The top attenders by GP contacts whose typology, continuity and persistence are reported. */
    topN: integer(100, 1, 100_000),
    /** Only patients enrolled at least this long ago are in the impact estimate (and their comparison group). */
    minFollowUpMonths: integer(6, 1, 120),
    /** Fewer patients than this in either group and the impact verdict is "too few patients to say". */
    minGroupSize: integer(30, 2, 100_000),
    /** Bootstrap resamples for the impact estimate's 95% confidence interval. */
    bootstrapSamples: integer(2000, 100, 100_000),
    /** Seed of the bootstrap, so the same data give the same interval. */
    seed: integer(1, 0, 2 ** 31 - 1),
    /** Write the headline figures as a FHIR MeasureReport (idempotent by identifier). */
    writeMeasureReport: boolean(false),
  })
  .prefault({});

const roleLevel = z.enum(['read', 'operate']);

const serviceAuthSchema = z
  .strictObject({
    /** Bearer JWTs from an identity provider, checked against its JWKS (signature, issuer, audience, expiry). */
    jwt: z
      .strictObject({
        issuer: z.string().min(1),
        audience: z.string().min(1),
        jwksUri: httpUrl,
        /** The claim holding the caller's roles: an array, or a space-separated string (`scope` works too). */
        rolesClaim: z.string().min(1).default('roles'),
        /** The role that may read the cohort and explanations. */
        readRole: z.string().min(1).default('hfu.read'),
        /** The role that may also trigger runs. */
        operateRole: z.string().min(1).default('hfu.operate'),
        algorithms: z
          .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
          .min(1)
          .default(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'ES256', 'ES384']),
        clockToleranceSeconds: integer(30, 0, 300),
      })
      .optional(),
    /** API keys for small deployments, stored as SHA-256 hashes (`hfu api-key` makes one). */
    apiKeys: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . -'),
          sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits (the SHA-256 of the key)'),
          role: roleLevel,
        })
      )
      .default([]),
  })
  .prefault({});

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
function isAddressOrSubnet(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const version = isIP(address);
  const bits = version === 4 ? 32 : 128;
  return version > 0 && !rest.length && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits));
}
const proxyAddress = z
  .string()
  .refine(
    (v) => PROXY_NAMES.has(v) || isAddressOrSubnet(v),
    'an IP address, a subnet (10.0.0.0/8) or loopback, linklocal, uniquelocal'
  );
const trustProxySchema = z
  .preprocess(
    (v) => (v === 'false' ? false : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
    z.union([z.literal(false), z.number().int().min(1).max(10), z.array(proxyAddress).min(1)])
  )
  .default(false);

/** Claim values that give a user each workspace role. */
const claimValues = (value: string) => z.array(z.string().min(1)).min(1).default([value]);

/** The MDT workspace's web pages (`/mdt/`): sign-in with an OpenID Connect issuer (NHS CIS2 in production). */
const serviceUiSchema = z
  .strictObject({
    enabled: boolean(true),
    /** The URL users reach (behind any proxy); the issuer's redirect URI is `<publicUrl>/mdt/auth/callback`. */
    publicUrl: httpUrl.optional(),
    oidc: z
      .strictObject({
        issuer: httpUrl,
        clientId: z.string().min(1),
        /** HFU_SERVICE__UI__OIDC__CLIENT_SECRET; absent: a public client (PKCE only). */
        clientSecret: z.string().min(1).optional(),
        scopes: z.string().min(1).default('openid profile'),
        /** The claim (ID token or userinfo) holding the user's roles: a string or an array of strings. */
        roleClaim: z.string().min(1).default('roles'),
        /** The claim holding the ODS codes of the practices the user may see; absent: no practice limit. */
        practiceClaim: z.string().min(1).optional(),
      })
      .optional(),
    /** Which claim values make a user mdt (reviews and decides), lead (also every practice, refresh) or viewer. */
    roles: z
      .strictObject({ mdt: claimValues('mdt'), lead: claimValues('lead'), viewer: claimValues('viewer') })
      .prefault({}),
    /** A session ends after this long without a request (fractions allowed: 0.5 is thirty seconds). */
    sessionIdleMinutes: z
      .preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().positive().max(1440))
      .default(30),
    /** A session ends this long after sign-in however active it is. */
    sessionMaxHours: integer(12, 1, 7 * 24),
  })
  .prefault({});

const serviceSchema = z
  .strictObject({
    /** Interface the API listens on (0.0.0.0 in a container). */
    host: z.string().min(1).default('127.0.0.1'),
    port: integer(8080, 0, 65_535),
    /**
     * Behind a reverse proxy: which hops to believe about the caller's address (X-Forwarded-For), for the limit on
     * failed authentication. false: none (every caller then shares the proxy's address); a number: that many hops;
     * a list: the proxies' addresses or subnets (`10.0.0.0/8`, `loopback`, `uniquelocal`).
     */
    trustProxy: trustProxySchema,
    auth: serviceAuthSchema,
    ui: serviceUiSchema,
    schedule: z
      .strictObject({
        /** When to refresh (5 fields, or 6 with seconds first), e.g. `0 6 * * 1-5`; absent: only on request. */
        cron: z
          .string()
          .refine((e) => isCronExpression(e), 'not a valid cron expression')
          .optional(),
        timezone: z.string().refine(isTimeZone, 'not an IANA time zone such as Europe/London').default('Europe/London'),
        /** Refresh once as soon as the service starts. */
        runOnStart: boolean(false),
      })
      .prefault({}),
    runs: z
      .strictObject({
        /** Runs kept in memory for GET /runs (every run is also logged). */
        keep: integer(50, 1, 1000),
        /** A run still going after this long is stopped cleanly (the transaction in flight completes). */
        timeBudgetSeconds: integer(3600, 1, 86_400),
      })
      .prefault({}),
    notifications: z
      .strictObject({
        /** Shared secret a FHIR Subscription sends in `header` (channel.header); absent: notifications refused. */
        secret: z.string().min(16, 'at least 16 characters').optional(),
        header: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, 'an HTTP header name')
          .default('X-HFU-Subscription-Secret'),
        /** Notifications arriving within this long of each other are refreshed together. */
        debounceMs: integer(2000, 0, 600_000),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** Largest request body accepted. */
        bodyBytes: integer(1_000_000, 1024, 50_000_000),
        /** Requests per minute per caller (API key or token subject); health, readiness and metrics not limited. */
        requestsPerMinute: integer(300, 1, 100_000),
        /** Failed authentications per minute per client address, counted apart from callers' use (429 beyond). */
        failedAuthPerMinute: integer(30, 1, 100_000),
      })
      .prefault({}),
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
    service: serviceSchema,
    log: logSchema,
    embedded: embeddedSchema,
    report: reportSchema,
  })
  .prefault({});

export type Config = z.output<typeof configSchema>;
export type Scope = Config['scope'];
export type WorkforceMember = Config['allocation']['workforce'][number];
export type FhirConfig = Config['fhir'];
/** The endpoint the programme's record is written to when it is not the source. */
export type WritebackFhirConfig = NonNullable<Config['writeback']['fhir']>;
export type AuthConfig = FhirConfig['auth'];
export type ServiceConfig = Config['service'];
export type ServiceAuthConfig = ServiceConfig['auth'];
export type ReportConfig = Config['report'];
export type ServiceUiConfig = ServiceConfig['ui'];
export type RoleLevel = z.output<typeof roleLevel>;
