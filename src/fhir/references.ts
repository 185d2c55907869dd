import type { Resource } from '@medplum/fhirtypes';

/** A reference to a Patient, relative or absolute, whose id is a valid R4 `id` (1–64 letters, digits, '-', '.'). */
const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * The id of the Patient a reference names — `Patient/1` or `https://host/fhir/R4/Patient/1` — else undefined (another
 * type, a version-specific or malformed reference). The one place references to patients are parsed.
 */
export function patientIdOfReference(reference: string | undefined): string | undefined {
  return reference ? PATIENT_REFERENCE.exec(reference)?.[1] : undefined;
}

/**
 * The patient a resource is about: a Patient itself; an Appointment's first participant whose actor is a Patient
 * (Appointment has no subject: R4's `patient` search parameter is `participant.actor.where(resolve() is Patient)`;
 * a GP appointment is booked for one patient); else its `subject` or `patient` (relative or absolute).
 */
export function patientIdOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') {
    return resource.id;
  }
  if (resource.resourceType === 'Appointment') {
    return appointmentPatientId(resource.participant);
  }
  return patientIdOfReference(
    (resource as { subject?: { reference?: string } }).subject?.reference ??
      (resource as { patient?: { reference?: string } }).patient?.reference
  );
}

function appointmentPatientId(participants: unknown): string | undefined {
  if (!Array.isArray(participants)) {
    return undefined;
  }
  for (const participant of participants as { actor?: { reference?: unknown } }[]) {
    const reference = participant?.actor?.reference;
    const id = typeof reference === 'string' ? patientIdOfReference(reference) : undefined;
    if (id) {
      return id;
    }
  }
  return undefined;
}
