import type { Resource } from '@medplum/fhirtypes';

/** An R4 resource `id`: 1–64 letters, digits, '-', '.'. */
const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE_PATIENT = new RegExp(`^Patient/(${ID})$`);
const ANY_PATIENT = new RegExp(`(?:^|/)Patient/(${ID})$`);
/** A relative literal reference, `Type/id` or `Type/id/_history/v`: what resolves against the server holding it. */
const RELATIVE = new RegExp(`^[A-Z][A-Za-z]+/${ID}(?:/_history/${ID})?$`);

/**
 * The id of the Patient a reference names, else undefined (another type, a version-specific or malformed reference).
 * Without `sourceBase`: `Patient/1` or an absolute `https://host/fhir/R4/Patient/1` on any server (the source's own
 * data). With it: `Patient/1`, or an absolute reference on that base only — the programme's record names the source's
 * patients so, and a patient of another server is none of the source's. The one place references to patients are
 * parsed.
 */
export function patientIdOfReference(reference: string | undefined, sourceBase?: string): string | undefined {
  if (!reference) {
    return undefined;
  }
  if (sourceBase === undefined) {
    return ANY_PATIENT.exec(reference)?.[1];
  }
  const base = withoutTrailingSlash(sourceBase);
  const local = reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference;
  return RELATIVE_PATIENT.exec(local)?.[1];
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

/**
 * How the programme's record (the write target, `writeback.fhir`) refers to the source's resources (the patient, the
 * evidence). A relative reference resolves against the server that holds the resource it is in, so it is right only
 * when the record and the source are one endpoint; when they differ, references are absolute:
 * `<source base URL>/Patient/123`.
 */
export class SourceReferences {
  /** The source's base URL, without a trailing slash. */
  readonly base: string;

  private constructor(
    sourceBase: string,
    /** True when the record lives on another endpoint than the source. */
    readonly absolute: boolean
  ) {
    this.base = withoutTrailingSlash(sourceBase);
  }

  /** References from a record on `recordBase` to a source on `sourceBase`: relative when they are the same. */
  static between(sourceBase: string, recordBase: string): SourceReferences {
    return new SourceReferences(sourceBase, withoutTrailingSlash(sourceBase) !== withoutTrailingSlash(recordBase));
  }

  /** A source resource's reference as the record writes it; anything but a relative `Type/id` is left as it is. */
  to(reference: string): string {
    return this.absolute && RELATIVE.test(reference) ? `${this.base}/${reference}` : reference;
  }

  /** The reference to a source Patient, as the record writes it (Task.for, Flag.subject, Group.member.entity …). */
  patient(patientId: string): string {
    return this.to(`Patient/${patientId}`);
  }

  /** The id of the source Patient a reference in the record names: relative, or absolute on the source's base. */
  patientId(reference: string | undefined): string | undefined {
    return patientIdOfReference(reference, this.base);
  }
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
