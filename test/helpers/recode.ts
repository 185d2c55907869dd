import type { Appointment, Encounter, Extension, Resource } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { codes } from '../../src/synth';

/** A trust's own admission-method extension, as a feed that is not UK Core might carry it. */
export const LOCAL_ADMISSION_URL = 'https://trust.example.nhs.uk/fhir/StructureDefinition/admission-method';

/** The UK Core admission-method extensions of an encounter, on the Encounter or on its hospitalization. */
export const admissionExtensions = (e: Encounter): Extension[] =>
  [...(e.extension ?? []), ...(e.hospitalization?.extension ?? [])].filter(
    (x) => x.url === codes.ADMISSION_METHOD_EXTENSION
  );

/**
 * Recodes an encounter's admission method as a local feed might (in place): code 21 becomes the local code 2E,
 * every other method moves to the trust's own extension on Encounter.
 */
export function recodeAdmissionMethod(encounter: Encounter): Encounter {
  const extension = admissionExtensions(encounter)[0];
  const coding = extension?.valueCodeableConcept?.coding?.[0];
  if (extension && coding?.code === '21') {
    coding.code = '2E';
    delete encounter.extension;
    encounter.hospitalization = { extension: [extension] };
  } else if (extension) {
    delete encounter.hospitalization;
    encounter.extension = [{ ...extension, url: LOCAL_ADMISSION_URL }];
  }
  return encounter;
}

/** A GP contact of the synthetic practice: an Encounter whose service is general practice. */
export const isGpContact = (r: Resource): r is Encounter =>
  r.resourceType === 'Encounter' &&
  Boolean(r.serviceType?.coding?.some((c) => c.code === codes.SERVICE.generalPractice.code));

/**
 * A GP contact as a GP system's appointment book shares it: an Appointment (finished → fulfilled, cancelled and in
 * error kept as such) with the patient among its participants, first or (odd `n`) after the clinician.
 */
export function gpContactAsAppointment(encounter: Encounter, n: number): Appointment {
  const status =
    encounter.status === 'finished' ? 'fulfilled' : encounter.status === 'cancelled' ? 'cancelled' : 'entered-in-error';
  const patient = { actor: { reference: encounter.subject?.reference }, status: 'accepted' as const };
  const clinician = { actor: { reference: 'Practitioner/gp-1' }, status: 'accepted' as const };
  return {
    resourceType: 'Appointment',
    id: `appt-${encounter.id}`,
    status,
    start: encounter.period?.start,
    end: encounter.period?.end,
    participant: n % 2 ? [clinician, patient] : [patient, clinician],
  };
}

/** Every file of a folder with its content hash, to show a folder is untouched. */
export function fingerprint(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) =>
    readdirSync(dir).forEach((name) => {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) {
        walk(file);
      } else {
        out[path.relative(folder, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
      }
    });
  walk(folder);
  return out;
}
