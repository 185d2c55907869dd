import { createHash, randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Provenance, Resource } from '@medplum/fhirtypes';
import { ConfigError } from '../config';
import type { Programme } from '../criteria';
import type { FhirClient } from '../fhir';
import { FhirError, isVersionConflict, toQuery } from '../fhir';
import { CANONICAL_BASE, MANAGED_TAG, PROFILE } from '../vocabulary';
import type { Desired, WritePlan } from './reconcile';
import { identifierKey, planWrites } from './reconcile';
import type { ReferenceBook } from './resources';
import { connector } from './resources';

export interface WriteCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface WriteOutcome extends WriteCounts {
  /** Provenance resources written (one per transaction that changed something). */
  provenance: number;
  /** Writes that failed: what, and the server's reason. Nothing was half-written by the connector; re-run converges. */
  failures: { target: string; reason: string }[];
}

export function emptyOutcome(): WriteOutcome {
  return { created: 0, updated: 0, unchanged: 0, provenance: 0, failures: [] };
}

export function addOutcome(total: WriteOutcome, part: WriteOutcome): void {
  total.created += part.created;
  total.updated += part.updated;
  total.unchanged += part.unchanged;
  total.provenance += part.provenance;
  total.failures.push(...part.failures);
}

/** What a Provenance says of one set of changes. */
export interface ProvenanceInfo {
  programme: Programme;
  /** A stable key for whose changes these are (a patient, the cohort). */
  subjectKey: string;
  /** What happened: the lifecycle actions carried out. */
  events: readonly string[];
  reasons: readonly string[];
  evidence: readonly string[];
  asOf: string;
  now: string;
}

interface ApplyOptions {
  maxEntries: number;
  signal?: AbortSignal;
  /** Set on the one further attempt after a version conflict (412, or 409 on HAPI): a second is reported, not retried. */
  afterConflict?: boolean;
}

/**
 * Applies one subject's plan in a single transaction together with the Provenance of the changes: all of it or none
 * (on servers that roll back). Creates are conditional on the business identifier, updates carry If-Match, and the
 * Provenance's id derives from the changes it records, so a transaction repeated after a lost response neither
 * duplicates anything nor overwrites a newer change: its 412 (409 on HAPI) leads to a re-read (see `afterConflict`).
 */
export async function applyInTransaction(
  client: FhirClient,
  plan: WritePlan,
  book: ReferenceBook | undefined,
  info: ProvenanceInfo,
  options: ApplyOptions
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { ...emptyOutcome(), unchanged: plan.unchanged.length };
  if (!plan.creates.length && !plan.updates.length) {
    return outcome;
  }
  const creates = plan.creates.map((want) => ({
    want,
    fullUrl: book?.fullUrlFor(identifierKey(want.identifier)) ?? `urn:uuid:${randomUUID()}`,
  }));
  const entries: BundleEntry[] = [
    ...creates.map(({ want, fullUrl }) => createEntry(want, fullUrl)),
    ...plan.updates.map(({ next }) => ({
      resource: next,
      request: {
        method: 'PUT' as const,
        url: `${next.resourceType}/${next.id}`,
        ...(next.meta?.versionId ? { ifMatch: `W/"${next.meta.versionId}"` } : {}),
      },
    })),
  ];
  const targets = [
    ...creates.map((c) => c.fullUrl),
    ...plan.updates.map(({ next }) => `${next.resourceType}/${next.id}`),
  ];
  const provenance = provenanceFor(info, targets, [...plan.creates, ...plan.updates.map((u) => u.desired)]);
  entries.push({ resource: provenance, request: { method: 'PUT', url: `Provenance/${provenance.id}` } });
  if (entries.length > options.maxEntries) {
    throw new ConfigError('writeback.transactionMaxEntries', [
      `${info.subjectKey}: ${entries.length} writes exceed the transaction limit of ${options.maxEntries}: raise writeback.transactionMaxEntries if the FHIR server takes more`,
    ]);
  }
  try {
    const response = await client.transaction(
      { resourceType: 'Bundle', type: 'transaction', entry: entries } as Bundle,
      {
        idempotent: true,
        signal: options.signal,
      }
    );
    entries.forEach((entry, i) => {
      const status = Number.parseInt(response.entry?.[i]?.response?.status ?? '0', 10);
      if (entry.resource?.resourceType === 'Provenance') {
        outcome.provenance++;
      } else if (status === 201) {
        outcome.created++;
      } else if (entry.request?.method === 'POST') {
        outcome.unchanged++; // someone (or a lost earlier response) created it already: found, not duplicated
      } else {
        outcome.updated++;
      }
    });
  } catch (err) {
    if (!(err instanceof FhirError) || err.kind === 'aborted') {
      throw err;
    }
    if (isVersionConflict(err.status) && !options.afterConflict) {
      return afterConflict(client, plan, book, info, options);
    }
    outcome.failures.push({ target: info.subjectKey, reason: err.message });
  }
  return outcome;
}

/**
 * A version conflict (412; 409 on HAPI): a resource changed since the plan read it, most often because an earlier
 * attempt of this very transaction was committed and its answer lost on the way back. Re-read what the plan writes: if the record already holds it,
 * there is nothing left to do (unchanged); otherwise plan again against what the record holds now, and try once more.
 */
async function afterConflict(
  client: FhirClient,
  plan: WritePlan,
  book: ReferenceBook | undefined,
  info: ProvenanceInfo,
  options: ApplyOptions
): Promise<WriteOutcome> {
  const wanted = [...plan.creates, ...plan.updates.map((u) => u.desired)];
  let current: Resource[];
  try {
    current = await currentHolders(client, wanted, options.signal);
  } catch (err) {
    if (!(err instanceof FhirError) || err.kind === 'aborted') {
      throw err;
    }
    return { ...emptyOutcome(), failures: [{ target: info.subjectKey, reason: err.message }] };
  }
  const again = planWrites(withCreatedReferences(wanted, current, book), current);
  const failures = again.conflicts.map((c) => ({
    target: info.subjectKey,
    reason: `${c.reference} now bears ${c.identifier} but was not written by the connector: left alone`,
  }));
  const replanned: WritePlan = { ...again, unchanged: [...plan.unchanged, ...again.unchanged], conflicts: [] };
  const outcome = await applyInTransaction(client, replanned, book, info, { ...options, afterConflict: true });
  outcome.failures.push(...failures);
  return outcome;
}

/** The resources that now bear the business identifiers of `wanted`, one search per resource type. */
async function currentHolders(
  client: FhirClient,
  wanted: readonly Desired[],
  signal: AbortSignal | undefined
): Promise<Resource[]> {
  const byType = new Map<string, string[]>();
  for (const want of wanted) {
    const token = `${escapeSearch(want.identifier.system)}|${escapeSearch(want.identifier.value)}`;
    byType.set(want.resource.resourceType, [...(byType.get(want.resource.resourceType) ?? []), token]);
  }
  const found = await Promise.all(
    [...byType].map(([type, tokens]) =>
      client.searchAll<Resource>(type as Resource['resourceType'], { identifier: tokens.join(',') }, signal)
    )
  );
  return found.flat();
}

/**
 * The wanted resources with references to resources this write meant to create (`urn:uuid:…`) replaced by the
 * resource that now exists in their place, so they compare equal to what a committed earlier attempt left.
 */
function withCreatedReferences(
  wanted: readonly Desired[],
  current: readonly Resource[],
  book: ReferenceBook | undefined
): Desired[] {
  const replacements: [string, string][] = [];
  for (const want of wanted) {
    const urn = book?.fullUrlFor(identifierKey(want.identifier));
    const holder = current.find(
      (r) =>
        r.resourceType === want.resource.resourceType &&
        (r as { identifier?: Desired['identifier'][] }).identifier?.some(
          (i) => identifierKey(i) === identifierKey(want.identifier)
        )
    );
    if (urn && holder) {
      replacements.push([urn, `${holder.resourceType}/${holder.id}`]);
    }
  }
  if (!replacements.length) {
    return [...wanted];
  }
  return wanted.map((want) => {
    let text = JSON.stringify(want.resource);
    for (const [urn, reference] of replacements) {
      text = text.replaceAll(`"${urn}"`, `"${reference}"`);
    }
    return { ...want, resource: JSON.parse(text) as Resource };
  });
}

/** A search value with FHIR's special characters escaped (`,` would otherwise mean "or"). */
function escapeSearch(value: string): string {
  return value.replace(/[\\,$|]/g, (c) => `\\${c}`);
}

function createEntry(want: Desired, fullUrl: string): BundleEntry {
  return {
    fullUrl,
    resource: want.resource,
    request: {
      method: 'POST',
      url: want.resource.resourceType,
      ifNoneExist: toQuery({ identifier: `${want.identifier.system}|${want.identifier.value}` }),
    },
  };
}

/** The programme as a canonical policy reference: `<base>/programme/<id>|<version>`. */
export function programmePolicy(programme: Programme): string {
  return `${CANONICAL_BASE}/programme/${programme.id}|${programme.version}`;
}

export function provenanceFor(info: ProvenanceInfo, targets: string[], written: readonly Desired[]): Provenance {
  const keys = written.map((d) => identifierKey(d.identifier)).sort();
  const id = `hfu-${createHash('sha256')
    .update([info.subjectKey, info.asOf, ...info.events, ...keys].join('\n'))
    .digest('hex')
    .slice(0, 40)}`;
  const created = written.length && written.every((d) => !d.resource.id);
  return {
    resourceType: 'Provenance',
    id,
    meta: { profile: [PROFILE.provenance], tag: [MANAGED_TAG] },
    target: targets.map((reference) => ({ reference })),
    occurredDateTime: info.asOf,
    recorded: info.now,
    policy: [programmePolicy(info.programme)],
    activity: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: created ? 'CREATE' : 'UPDATE' },
      ],
      text: info.events.join(', '),
    },
    ...(info.reasons.length ? { reason: info.reasons.map((text) => ({ text })) } : {}),
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
              code: 'author',
              display: 'Author',
            },
          ],
        },
        who: connector(),
      },
    ],
    ...(info.evidence.length
      ? { entity: info.evidence.map((reference) => ({ role: 'source' as const, what: { reference } })) }
      : {}),
  };
}

export function writtenReference(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}
