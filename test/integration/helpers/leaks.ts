import type { Patient, Resource } from '@medplum/fhirtypes';

/** What identifies a person in the seeded data: NHS numbers, names, birth dates, address lines and postcodes. */
export interface PatientMarkers {
  nhsNumbers: string[];
  names: string[];
  birthDates: string[];
  addresses: string[];
}

export function patientMarkers(resources: readonly Resource[]): PatientMarkers {
  const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');
  const distinct = (values: (string | undefined)[]) => [...new Set(values.filter((v): v is string => Boolean(v)))];
  return {
    nhsNumbers: distinct(patients.flatMap((p) => p.identifier?.map((i) => i.value) ?? [])),
    names: distinct(patients.flatMap((p) => p.name?.flatMap((n) => [...(n.given ?? []), n.family]) ?? [])),
    birthDates: distinct(patients.map((p) => p.birthDate)),
    addresses: distinct(patients.flatMap((p) => p.address?.flatMap((a) => [...(a.line ?? []), a.postalCode]) ?? [])),
  };
}

/**
 * Every marker that occurs in `output` as a whole word. Birth dates in `ignoreDates` are not looked for: the run's own
 * dates (today, the evaluation date) are logged and a synthetic patient may have been born on one of them.
 */
export function leakedMarkers(output: string, markers: PatientMarkers, ignoreDates: readonly string[]): string[] {
  const words = [
    ...markers.nhsNumbers,
    ...markers.names,
    ...markers.birthDates.filter((d) => !ignoreDates.includes(d)),
    ...markers.addresses,
  ];
  return words.filter((word) => new RegExp(`(?<![\\w-])${escape(word)}(?![\\w-])`).test(output));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
