import type { EncounterParticipant, Practitioner } from '@medplum/fhirtypes';
import { SYSTEM } from './codes';
import type { Random } from './random';

/**
 * The practice's GPs. Patients are served by sites of SITE_PATIENTS, each with its own GPs: partners and salaried
 * GPs who do most sessions, and locums who do a few. A patient has a usual GP but, as the seeds report, frequent
 * attenders rarely see them: "a typical frequent attender sees 8-10 different GPs, none for more than a third of
 * appointments". The weights and the usual-GP share below are tuned to that (test/unit/synth/history.test.ts).
 */
const SITE_PATIENTS = 6000;
/** Sessions a week by GP of a site: partners and salaried first, then locums. */
const SESSION_WEIGHTS = [6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1] as const;
/** The share of appointments booked with the patient's usual GP; the rest go to whoever has a slot. */
const USUAL_GP_SHARE = 0.18;

const GIVEN = ['Asha', 'Ben', 'Chloe', 'Dev', 'Ellen', 'Femi', 'Grace', 'Hari', 'Isla', 'Joe', 'Kemi', 'Liam', 'Mina'];
const FAMILY = ['Abbot', 'Brook', 'Carrow', 'Dale', 'Esk', 'Fenn', 'Garth', 'Holm', 'Ings', 'Kell', 'Lund', 'Mere'];

const SDS_USER_ID = 'https://fhir.nhs.uk/Id/sds-user-id';
const PRIMARY_PERFORMER = {
  coding: [
    {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
      code: 'PPRF',
      display: 'primary performer',
    },
  ],
};

export function siteOf(patientIndex: number): number {
  return Math.floor(patientIndex / SITE_PATIENTS);
}

export function practitionerId(practiceId: string, site: number, gp: number): string {
  return `${practiceId}-gp${site}-${gp}`;
}

/** Every GP of a practice of `patients` patients (one set per site), as Practitioner resources. */
export function practicePractitioners(practiceId: string, patients: number): Practitioner[] {
  const out: Practitioner[] = [];
  for (let site = 0; site * SITE_PATIENTS < Math.max(1, patients); site++) {
    SESSION_WEIGHTS.forEach((_, gp) => {
      const n = site * SESSION_WEIGHTS.length + gp;
      out.push({
        resourceType: 'Practitioner',
        id: practitionerId(practiceId, site, gp),
        identifier: [{ system: SDS_USER_ID, value: String(900_000_000_000 + n) }],
        active: true,
        name: [
          {
            use: 'official',
            prefix: ['Dr'],
            given: [GIVEN[n % GIVEN.length] as string],
            family: FAMILY[Math.floor(n / GIVEN.length) % FAMILY.length] as string,
          },
        ],
        qualification: [
          { code: { coding: [{ system: SYSTEM.snomed, code: '62247001', display: 'General practitioner' }] } },
        ],
      });
    });
  }
  return out;
}

const WEIGHTED = SESSION_WEIGHTS.map((weight, gp) => [gp, weight] as const);

/** The GP a patient is registered with by name: chosen in proportion to sessions. */
export function usualGp(rng: Random): number {
  return rng.weighted(WEIGHTED);
}

/** Who the patient saw at one appointment: their usual GP sometimes, otherwise whoever had a slot. */
export function gpParticipant(rng: Random, practiceId: string, site: number, usual: number): EncounterParticipant {
  const gp = rng.chance(USUAL_GP_SHARE) ? usual : rng.weighted(WEIGHTED);
  return {
    type: [PRIMARY_PERFORMER],
    individual: { reference: `Practitioner/${practitionerId(practiceId, site, gp)}` },
  };
}
