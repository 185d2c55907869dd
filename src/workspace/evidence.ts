import type {
  CodeableConcept,
  Condition,
  Encounter,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Resource,
} from '@medplum/fhirtypes';
import type { Decision as CriteriaDecision, Programme } from '../criteria';
import { featureTitle } from '../criteria';
import { londonDay } from '../dates';
import type { PatientRecord } from '../mappings';
import type { EvidenceItem, EvidenceTimeline } from './types';

const ADMISSION_METHOD = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';

/** The feature whose evidence is shown month by month rather than contact by contact. */
const GP_CONTACTS = 'gpEncounters';

const monthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

/**
 * The evidence behind the patient's figures, each item the resource it came from: the feature evaluation's own
 * evidence (the references that produced each figure) looked up in the data read for the patient. A resource that
 * counts towards two figures (an A&E attendance this month and this year) is shown once, under the first.
 */
export function evidenceTimeline(
  programme: Programme,
  decision: CriteriaDecision,
  record: PatientRecord
): EvidenceTimeline {
  const byReference = new Map<string, Resource>();
  for (const resources of Object.values(record.resources)) {
    for (const resource of resources ?? []) {
      byReference.set(`${resource.resourceType}/${resource.id}`, resource);
    }
  }
  const timeline: EvidenceTimeline = { events: [], gpContactsByMonth: [], medicines: [], conditions: [], other: [] };
  const shown = new Set<string>();
  const months = new Map<string, string[]>();
  for (const [feature, references] of Object.entries(decision.evidence)) {
    for (const reference of references) {
      const resource = byReference.get(reference);
      if (!resource || shown.has(reference) || resource.resourceType === 'Patient') {
        continue;
      }
      shown.add(reference);
      const item = itemOf(resource, reference, feature, featureTitle(programme, feature));
      if (
        feature === GP_CONTACTS &&
        (resource.resourceType === 'Encounter' || resource.resourceType === 'Appointment')
      ) {
        const month = item.date?.slice(0, 7) ?? 'undated';
        months.set(month, [...(months.get(month) ?? []), reference]);
      } else {
        listFor(timeline, resource).push(item);
      }
    }
  }
  const newestFirst = (a: EvidenceItem, b: EvidenceItem) => (b.date ?? '').localeCompare(a.date ?? '');
  timeline.events.sort(newestFirst);
  timeline.conditions.sort(newestFirst);
  timeline.other.sort(newestFirst);
  timeline.gpContactsByMonth = [...months]
    .sort(([a], [b]) => b.localeCompare(a))
    .map(([month, refs]) => ({
      month,
      label: month === 'undated' ? 'Date not recorded' : monthFormat.format(new Date(`${month}-01T00:00:00Z`)),
      count: refs.length,
      references: refs,
    }));
  return timeline;
}

function listFor(timeline: EvidenceTimeline, resource: Resource): EvidenceItem[] {
  switch (resource.resourceType) {
    case 'Encounter':
      return timeline.events;
    case 'MedicationRequest':
    case 'MedicationStatement':
      return timeline.medicines;
    case 'Condition':
      return timeline.conditions;
    default:
      return timeline.other;
  }
}

function itemOf(resource: Resource, reference: string, feature: string, title: string): EvidenceItem {
  const { date, text } = describe(resource);
  return { reference, feature, featureTitle: title, ...(date ? { date } : {}), text: text || title };
}

function describe(resource: Resource): { date?: string; text?: string } {
  switch (resource.resourceType) {
    case 'Encounter':
      return encounter(resource);
    case 'Appointment': // a GP contact as a GP system's appointment book holds it (gp-record)
      return {
        date: londonDay(resource.start),
        text: conceptText(resource.serviceType?.[0]) ?? conceptText(resource.appointmentType),
      };
    case 'MedicationRequest':
    case 'MedicationStatement':
      return medicine(resource);
    case 'Condition': {
      const c = resource as Condition;
      return { date: londonDay(c.onsetDateTime ?? c.recordedDate), text: conceptText(c.code) };
    }
    case 'Observation': {
      const o = resource as Observation;
      return {
        date: londonDay(o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued),
        text: conceptText(o.code),
      };
    }
    default:
      return {};
  }
}

/** "Hospital ward; admission method: Emergency admission via A&E". */
function encounter(e: Encounter): { date?: string; text?: string } {
  const method = [...(e.hospitalization?.extension ?? []), ...(e.extension ?? [])].find(
    (x) => x.url === ADMISSION_METHOD
  )?.valueCodeableConcept;
  const kind = conceptText(e.type?.[0]) ?? conceptText(e.serviceType) ?? e.class?.display;
  const parts = [kind, method ? `admission method: ${conceptText(method) ?? 'not named'}` : undefined];
  return { date: londonDay(e.period?.start), text: parts.filter(Boolean).join('; ') };
}

function medicine(m: MedicationRequest | MedicationStatement): { date?: string; text?: string } {
  const date = londonDay(
    m.resourceType === 'MedicationRequest' ? m.authoredOn : (m.effectiveDateTime ?? m.dateAsserted)
  );
  return { date, text: conceptText(m.medicationCodeableConcept) ?? m.medicationReference?.display };
}

function conceptText(concept: CodeableConcept | undefined): string | undefined {
  return concept?.text ?? concept?.coding?.find((c) => c.display)?.display;
}
