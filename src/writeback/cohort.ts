import type { Group, GroupMember } from '@medplum/fhirtypes';
import type { Programme } from '../criteria';
import type { SourceReferences } from '../fhir';
import { CANONICAL_BASE, IDENTIFIER, MANAGED_TAG, PROFILE } from '../vocabulary';
import type { Desired } from './reconcile';

export const MEMBERS_REFRESHED_URL = 'http://hl7.org/fhir/uv/bulkdata/StructureDefinition/members-refreshed';
/**
 * The incremental refresh's watermark: the newest `meta.lastUpdated` among the data the last complete read saw. Data
 * derived, not wall clock, so a run over unchanged data leaves it (and the Group) as it was.
 */
export const DATA_READ_UP_TO_URL = `${CANONICAL_BASE}/StructureDefinition/hfu-data-read-up-to`;

/** The watermark a Group carries, if any. */
export function watermarkOf(group: Group | undefined): string | undefined {
  return group?.extension?.find((e) => e.url === DATA_READ_UP_TO_URL)?.valueDateTime;
}

export function cohortIdentifier(
  programme: Pick<Programme, 'id'>,
  populationKey: string
): { system: string; value: string } {
  return { system: IDENTIFIER.cohort, value: `${programme.id}/${populationKey}` };
}

export interface CohortMembership {
  /** Patients in the cohort now: inactive while proposed or accepted, active once enrolled. */
  open: ReadonlyMap<string, { inactive: boolean }>;
  /** Patients this run could not read: their entries stay exactly as they were. */
  unread: ReadonlySet<string>;
}

/**
 * The cohort of one programme in one population, after the Bulk Data cohort-group pattern: `actual` members with a
 * period, inactive until enrolled, `members-refreshed` changed only when the membership changes (an unchanged
 * cohort is never rewritten). A member who leaves keeps their entry with `period.end`; re-entry opens a new entry.
 */
export function cohortGroup(
  programme: Programme,
  populationKey: string,
  title: string,
  existing: Group | undefined,
  membership: CohortMembership,
  dates: { asOf: string; now: string; watermark?: string },
  source: SourceReferences
): Desired<Group> {
  const identifier = cohortIdentifier(programme, populationKey);
  const members: GroupMember[] = [];
  const kept = new Set<string>();
  for (const member of existing?.member ?? []) {
    const patientId = source.patientId(member.entity.reference) ?? '';
    const wanted = membership.open.get(patientId);
    if (member.period?.end || membership.unread.has(patientId)) {
      members.push(member);
      if (!member.period?.end) {
        kept.add(patientId);
      }
    } else if (wanted && !kept.has(patientId)) {
      members.push({ ...member, inactive: wanted.inactive });
      kept.add(patientId);
    } else {
      members.push({ ...member, period: { ...member.period, end: dates.asOf } });
    }
  }
  for (const [patientId, { inactive }] of [...membership.open].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!kept.has(patientId)) {
      members.push({ entity: { reference: source.patient(patientId) }, period: { start: dates.asOf }, inactive });
    }
  }
  const changed = JSON.stringify(members) !== JSON.stringify(existing?.member ?? []);
  const refreshed =
    changed || !existing ? dates.now : existing.extension?.find((e) => e.url === MEMBERS_REFRESHED_URL)?.valueDateTime;
  const group: Group = {
    resourceType: 'Group',
    meta: { profile: [PROFILE.group], tag: [MANAGED_TAG] },
    identifier: [identifier],
    active: true,
    type: 'person',
    actual: true,
    name: `Cohort: ${programme.title} - ${title}`,
    ...extensions(refreshed, dates.watermark ?? watermarkOf(existing)),
    ...(members.length ? { member: members } : {}),
  };
  return {
    resource: group,
    identifier,
    owned: ['identifier', 'active', 'type', 'actual', 'name', 'extension', 'member'],
  };
}

function extensions(refreshed: string | undefined, watermark: string | undefined): Pick<Group, 'extension'> {
  const extension = [
    ...(refreshed ? [{ url: MEMBERS_REFRESHED_URL, valueDateTime: refreshed }] : []),
    ...(watermark ? [{ url: DATA_READ_UP_TO_URL, valueDateTime: watermark }] : []),
  ];
  return extension.length ? { extension } : {};
}
