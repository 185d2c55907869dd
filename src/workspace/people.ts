import type { HumanName, Organization, Patient } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { yearsBetween } from '../dates';
import type { FhirClient } from '../fhir';
import { NHS_SYSTEM } from '../vocabulary';
import type { PatientSummary, Practice, WorkspaceUser } from './types';

/** An NHS number as the NHS writes it: 3 3 4 ("943 476 5919"); anything that is not 10 digits as it stands. */
export function formatNhsNumber(value: string): string {
  const digits = value.replace(/\s/g, '');
  return /^\d{10}$/.test(digits) ? `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}` : value;
}

/** The name to show: the official (else usual, else first) name, given names then family name. */
export function displayName(names: readonly HumanName[] | undefined): string {
  const name =
    names?.find((n) => n.use === 'official') ?? names?.find((n) => n.use === 'usual') ?? names?.find(Boolean);
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return text || 'Name not recorded';
}

/** The Organization reference of the patient's registered practice, if they have one. */
export function practiceReferenceOf(patient: Patient): string | undefined {
  return patient.generalPractitioner?.find((gp) => gp.reference?.startsWith('Organization/'))?.reference;
}

/** The ODS code a patient's practice reference carries itself (a logical reference), if any. */
function odsOfReference(patient: Patient): string | undefined {
  return patient.generalPractitioner?.find((gp) => gp.identifier?.system === NHS_SYSTEM.ods)?.identifier?.value;
}

export function practiceOf(organisation: Organization, reference: string): Practice {
  return {
    reference,
    ods: organisation.identifier?.find((i) => i.system === NHS_SYSTEM.ods)?.value,
    name: organisation.name,
  };
}

/** The patient's practice: resolved from the organisations read, else what their own record says. */
export function patientPractice(patient: Patient, organisations: ReadonlyMap<string, Practice>): Practice | undefined {
  const reference = practiceReferenceOf(patient);
  const known = reference ? organisations.get(reference) : undefined;
  const ods = known?.ods ?? odsOfReference(patient);
  if (!reference && !ods) {
    return undefined;
  }
  return { ...known, ...(reference ? { reference } : {}), ...(ods ? { ods } : {}) };
}

export function patientSummary(
  patient: Patient,
  asOf: IsoDate,
  organisations: ReadonlyMap<string, Practice>
): PatientSummary {
  const nhs = patient.identifier?.find((i) => i.system === NHS_SYSTEM.nhsNumber)?.value;
  const practice = patientPractice(patient, organisations);
  return {
    id: patient.id as string,
    name: displayName(patient.name),
    ...(nhs ? { nhsNumber: formatNhsNumber(nhs) } : {}),
    ...(patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate)
      ? { age: yearsBetween(patient.birthDate, asOf) }
      : {}),
    ...(practice ? { practice } : {}),
  };
}

/** A practice-scoped user may see a patient only of one of their practices (one with no known practice: no). */
export function maySee(user: WorkspaceUser, practice: Practice | undefined): boolean {
  if (!user.practices) {
    return true;
  }
  return Boolean(practice?.ods && user.practices.includes(practice.ods));
}

/** The Organizations behind these references, read one by one (a PCN has a handful); unreadable ones left out. */
export async function readOrganisations(
  client: FhirClient,
  references: Iterable<string>,
  known: Map<string, Practice>
): Promise<Map<string, Practice>> {
  const missing = [...new Set(references)].filter((r) => !known.has(r) && r.startsWith('Organization/'));
  await Promise.all(
    missing.map(async (reference) => {
      try {
        const organisation = await client.read<Organization>('Organization', reference.slice('Organization/'.length));
        known.set(reference, practiceOf(organisation, reference));
      } catch {
        // Gone or unreadable: the patient shows without the practice's name, and a practice-scoped user is refused
        // (fail closed); not remembered, so the next request tries again.
      }
    })
  );
  return known;
}
