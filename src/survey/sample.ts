import type { Patient } from '@medplum/fhirtypes';
import { Random } from '../synth';

/** The patients to survey, and how many the population held when read. */
export interface PatientSample {
  patients: Patient[];
  /** Patients read from the population (all of it: the sample is drawn across the whole population). */
  seen: number;
}

/**
 * A uniform random sample of `size` patients from the population, in one pass over its pages (reservoir sampling,
 * Algorithm R), seeded so the same population in the same order gives the same sample. Every page is read, because
 * `_offset` paging is not something every server offers (HAPI's next links are opaque) and the first pages of a
 * search are often the oldest records; memory holds the sample, never the population.
 */
export async function samplePatients(
  pages: AsyncIterable<Patient[]>,
  size: number,
  seed: number
): Promise<PatientSample> {
  const random = new Random(seed);
  const patients: Patient[] = [];
  let seen = 0;
  for await (const page of pages) {
    for (const patient of page) {
      if (!patient.id) {
        continue;
      }
      if (patients.length < size) {
        patients.push(patient);
      } else {
        const slot = random.int(0, seen);
        if (slot < size) {
          patients[slot] = patient;
        }
      }
      seen++;
    }
  }
  return { patients, seen };
}
