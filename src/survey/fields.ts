import type { Coding, Extension, Resource } from '@medplum/fhirtypes';
import type { SourceType } from '../mappings';

/** One coded value as found on a resource: a Coding's system and code, or a bare code (`status`). */
export interface CodedValue {
  system?: string;
  code?: string;
}

/**
 * A coded field the survey reports on. `codes` fields are short lists (class, status, admission method) where every
 * value must be placed by the mapping; `systems` fields are whole vocabularies (conditions, medicines) where what
 * matters is which code systems appear.
 */
export interface CodedField {
  id: string;
  resource: SourceType;
  label: string;
  kind: 'codes' | 'systems';
  /** The resource's elements (JSON properties) that put this field in the report when the mapping reads one. */
  elements: readonly string[];
  values(resource: Resource, mappingUrls: ReadonlySet<string>): CodedValue[];
  /** A place the mapping does not read (a local extension): every value found there is a difference to report. */
  unread?: true;
  /** Codes the FHIR standard defines for the field, always recognised (the mapping need not list them). */
  standard?: { system?: string; codes: readonly string[] };
}

export const UKCORE_ADMISSION_METHOD = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';
/** A local extension that looks like an admission method (`.../admission-method`, `...AdmissionMethod`). */
const ADMISSION_METHOD_URL = /admission[-_ ]?method/i;

const HL7 = 'http://terminology.hl7.org/CodeSystem';
const ENCOUNTER_CLASSES = ['AMB', 'EMER', 'FLD', 'HH', 'IMP', 'ACUTE', 'NONAC', 'OBSENC', 'PRENC', 'SS', 'VR'];

type Json = Record<string, unknown>;

const get = (resource: Resource, key: string): unknown => (resource as unknown as Json)[key];

function codingsOf(value: unknown): CodedValue[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.flatMap((item: unknown) => {
    if (!item || typeof item !== 'object') {
      return [];
    }
    const concept = item as { coding?: Coding[]; system?: string; code?: string };
    if (Array.isArray(concept.coding)) {
      return concept.coding.map((c) => ({ system: c.system, code: c.code }));
    }
    return 'code' in concept || 'system' in concept ? [{ system: concept.system, code: concept.code }] : [];
  });
}

const element =
  (key: string) =>
  (resource: Resource): CodedValue[] =>
    codingsOf(get(resource, key));

const bareCode =
  (key: string) =>
  (resource: Resource): CodedValue[] => {
    const value = get(resource, key);
    return typeof value === 'string' ? [{ code: value }] : [];
  };

function extensionValues(extensions: unknown, matches: (url: string) => boolean): CodedValue[] {
  if (!Array.isArray(extensions)) {
    return [];
  }
  return (extensions as Extension[])
    .filter((e) => typeof e?.url === 'string' && matches(e.url))
    .flatMap((e) => [
      ...codingsOf(e.valueCodeableConcept),
      ...codingsOf(e.valueCoding),
      ...(typeof e.valueCode === 'string' ? [{ code: e.valueCode }] : []),
    ]);
}

/** A medicine's codings, or the pseudo-system REFERENCE when it is a reference to a Medication resource. */
function medicationValues(resource: Resource): CodedValue[] {
  return [
    ...codingsOf(get(resource, 'medicationCodeableConcept')),
    ...(get(resource, 'medicationReference') ? [{ system: REFERENCE }] : []),
  ];
}

const hospitalization = (resource: Resource): Json => (get(resource, 'hospitalization') as Json | undefined) ?? {};

/** The admission-method urls: the mapping's own (as named in its expressions) and UK Core's. */
const isAdmissionMethod = (urls: ReadonlySet<string>) => (url: string) =>
  url === UKCORE_ADMISSION_METHOD || (urls.has(url) && ADMISSION_METHOD_URL.test(url));
const isLocalAdmissionMethod = (urls: ReadonlySet<string>) => (url: string) =>
  !isAdmissionMethod(urls)(url) && ADMISSION_METHOD_URL.test(url);

const ADMISSION = ['hospitalization', 'extension'];

/** The coded fields of each resource type the survey knows how to read. */
export const CODED_FIELDS: readonly CodedField[] = [
  {
    id: 'Encounter.class',
    resource: 'Encounter',
    label: 'Encounter class',
    kind: 'codes',
    elements: ['class'],
    values: element('class'),
    standard: { system: `${HL7}/v3-ActCode`, codes: ENCOUNTER_CLASSES },
  },
  {
    id: 'Encounter.hospitalization.extension:admissionMethod',
    resource: 'Encounter',
    label: 'Admission method (extension on Encounter.hospitalization)',
    kind: 'codes',
    elements: ADMISSION,
    values: (r, urls) => extensionValues(hospitalization(r).extension, isAdmissionMethod(urls)),
  },
  {
    id: 'Encounter.extension:admissionMethod',
    resource: 'Encounter',
    label: 'Admission method (extension on Encounter)',
    kind: 'codes',
    elements: ADMISSION,
    values: (r, urls) => extensionValues(get(r, 'extension'), isAdmissionMethod(urls)),
  },
  {
    id: 'Encounter.extension:localAdmissionMethod',
    resource: 'Encounter',
    label: 'Admission method (a local extension the mapping does not read)',
    kind: 'codes',
    unread: true,
    elements: ADMISSION,
    values: (r, urls) => [
      ...extensionValues(get(r, 'extension'), isLocalAdmissionMethod(urls)),
      ...extensionValues(hospitalization(r).extension, isLocalAdmissionMethod(urls)),
    ],
  },
  {
    id: 'Encounter.hospitalization.admitSource',
    resource: 'Encounter',
    label: 'Admission source (Encounter.hospitalization.admitSource)',
    kind: 'codes',
    elements: ADMISSION,
    values: (r) => codingsOf(hospitalization(r).admitSource),
  },
  {
    id: 'Encounter.status',
    resource: 'Encounter',
    label: 'Encounter status',
    kind: 'codes',
    elements: ['status'],
    values: bareCode('status'),
    standard: {
      codes: [
        'planned',
        'arrived',
        'triaged',
        'in-progress',
        'onleave',
        'finished',
        'cancelled',
        'entered-in-error',
        'unknown',
      ],
    },
  },
  {
    id: 'Encounter.type',
    resource: 'Encounter',
    label: 'Encounter type',
    kind: 'systems',
    elements: ['type'],
    values: element('type'),
  },
  {
    id: 'Encounter.serviceType',
    resource: 'Encounter',
    label: 'Encounter service type',
    kind: 'systems',
    elements: ['serviceType'],
    values: element('serviceType'),
  },
  {
    id: 'MedicationRequest.status',
    resource: 'MedicationRequest',
    label: 'Medication request status',
    kind: 'codes',
    elements: ['status'],
    values: bareCode('status'),
    standard: {
      codes: ['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'draft', 'unknown'],
    },
  },
  {
    id: 'MedicationRequest.intent',
    resource: 'MedicationRequest',
    label: 'Medication request intent',
    kind: 'codes',
    elements: ['intent'],
    values: bareCode('intent'),
    standard: {
      codes: [
        'proposal',
        'plan',
        'order',
        'original-order',
        'reflex-order',
        'filler-order',
        'instance-order',
        'option',
      ],
    },
  },
  {
    id: 'MedicationRequest.courseOfTherapyType',
    resource: 'MedicationRequest',
    label: 'Course of therapy',
    kind: 'codes',
    elements: ['courseOfTherapyType'],
    values: element('courseOfTherapyType'),
    standard: { system: `${HL7}/medicationrequest-course-of-therapy`, codes: ['acute', 'continuous', 'seasonal'] },
  },
  {
    id: 'MedicationRequest.medication',
    resource: 'MedicationRequest',
    label: 'Medicine code systems',
    kind: 'systems',
    elements: ['medicationCodeableConcept', 'medicationReference'],
    values: medicationValues,
  },
  {
    id: 'MedicationStatement.status',
    resource: 'MedicationStatement',
    label: 'Medication statement status',
    kind: 'codes',
    elements: ['status'],
    values: bareCode('status'),
    standard: {
      codes: ['active', 'completed', 'entered-in-error', 'intended', 'stopped', 'on-hold', 'unknown', 'not-taken'],
    },
  },
  {
    id: 'MedicationStatement.medication',
    resource: 'MedicationStatement',
    label: 'Medicine code systems (medication statements)',
    kind: 'systems',
    elements: ['medicationCodeableConcept', 'medicationReference'],
    values: medicationValues,
  },
  {
    id: 'Condition.code',
    resource: 'Condition',
    label: 'Condition code systems',
    kind: 'systems',
    elements: ['code'],
    values: element('code'),
  },
  {
    id: 'Condition.clinicalStatus',
    resource: 'Condition',
    label: 'Condition clinical status',
    kind: 'codes',
    elements: ['clinicalStatus'],
    values: element('clinicalStatus'),
    standard: {
      system: `${HL7}/condition-clinical`,
      codes: ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved'],
    },
  },
  {
    id: 'Condition.verificationStatus',
    resource: 'Condition',
    label: 'Condition verification status',
    kind: 'codes',
    elements: ['verificationStatus'],
    values: element('verificationStatus'),
    standard: {
      system: `${HL7}/condition-ver-status`,
      codes: ['unconfirmed', 'provisional', 'differential', 'confirmed', 'refuted', 'entered-in-error'],
    },
  },
  {
    id: 'Observation.code',
    resource: 'Observation',
    label: 'Observation code systems',
    kind: 'systems',
    elements: ['code'],
    values: element('code'),
  },
  {
    id: 'Observation.status',
    resource: 'Observation',
    label: 'Observation status',
    kind: 'codes',
    elements: ['status'],
    values: bareCode('status'),
    standard: {
      codes: ['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown'],
    },
  },
  {
    id: 'Consent.status',
    resource: 'Consent',
    label: 'Consent status',
    kind: 'codes',
    elements: ['status'],
    values: bareCode('status'),
    standard: { codes: ['draft', 'proposed', 'active', 'rejected', 'inactive', 'entered-in-error'] },
  },
  {
    id: 'Consent.provision.type',
    resource: 'Consent',
    label: 'Consent provision type',
    kind: 'codes',
    elements: ['provision'],
    values: (r) => {
      const type = (get(r, 'provision') as { type?: unknown } | undefined)?.type;
      return typeof type === 'string' ? [{ code: type }] : [];
    },
    standard: { codes: ['deny', 'permit'] },
  },
  {
    id: 'Appointment.status',
    resource: 'Appointment',
    label: 'Appointment status',
    kind: 'codes',
    elements: ['status'],
    values: bareCode('status'),
    standard: {
      codes: [
        'proposed',
        'pending',
        'booked',
        'arrived',
        'fulfilled',
        'cancelled',
        'noshow',
        'entered-in-error',
        'checked-in',
        'waitlist',
      ],
    },
  },
  {
    id: 'Appointment.serviceCategory',
    resource: 'Appointment',
    label: 'Appointment service category',
    kind: 'systems',
    elements: ['serviceCategory'],
    values: element('serviceCategory'),
  },
  {
    id: 'Appointment.serviceType',
    resource: 'Appointment',
    label: 'Appointment service type',
    kind: 'systems',
    elements: ['serviceType'],
    values: element('serviceType'),
  },
  {
    id: 'Appointment.appointmentType',
    resource: 'Appointment',
    label: 'Appointment type',
    kind: 'systems',
    elements: ['appointmentType'],
    values: element('appointmentType'),
  },
];

/** The pseudo-system of a medicine given as a reference to a Medication resource. */
export const REFERENCE = '(reference to a Medication resource)';
export const NO_SYSTEM = '(no system)';

/** `system|code`, or the bare code when there is no system. */
export function valueKey(value: CodedValue): string {
  return value.system ? `${value.system}|${value.code ?? ''}` : (value.code ?? '');
}
