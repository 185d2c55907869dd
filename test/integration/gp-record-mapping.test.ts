import type { Encounter, Extension, MedicationRequest, MedicationStatement, Resource } from '@medplum/fhirtypes';
import { main } from '../../src/cli/main';
import { captureIo } from '../helpers/io';
import type { RunJson } from './helpers/programme';
import { AS_OF, ProgrammePractice } from './helpers/programme';

/**
 * The gp-record mapping over HTTP on a real server: the hand-made practice recoded as a GP system's R4 feed holds
 * it - repeats as MedicationStatement or marked by UK Core's prescription-type extension with no course of therapy,
 * acute items marked acute the same way, the admission method in hospitalization.admitSource - gives the cohort
 * uk-core gives on the original practice, while uk-core on the recoded practice does not.
 */
const ADMISSION_METHOD = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';
const PRESCRIPTION_TYPE = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PrescriptionType';
const TYPE_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-PrescriptionType';
const PRESCRIPTION_TYPE_OF: Record<string, string> = {
  continuous: 'repeat',
  'continuous-repeating-dispensing': 'repeat-dispensing',
  acute: 'acute',
};

async function run(practice: ProgrammePractice, mapping: string): Promise<RunJson> {
  const [args, env] = practice.runCommand(AS_OF);
  const io = captureIo({ ...env, HFU_MAPPING: mapping });
  expect(await main(args, io)).toBe(0);
  return JSON.parse(io.out()) as RunJson;
}

interface Recoded {
  statements: number;
  markedByExtension: number;
  admissionsMoved: number;
}

/** Rewrites the practice's store as a GP feed would send it; returns how many records each change touched. */
async function recodeAsGpFeed(practice: ProgrammePractice): Promise<Recoded> {
  const repo = practice.server.repo;
  const recoded: Recoded = { statements: 0, markedByExtension: 0, admissionsMoved: 0 };
  const replaced: Resource[] = [];
  for (const id of repo.idsOf('MedicationRequest')) {
    const request = await repo.readResource<MedicationRequest>('MedicationRequest', id);
    const course = request.courseOfTherapyType?.coding?.[0]?.code;
    const type = course ? PRESCRIPTION_TYPE_OF[course] : undefined;
    if (!type) {
      continue;
    }
    if (type !== 'acute' && request.intent === 'order' && recoded.statements <= recoded.markedByExtension) {
      const statement: MedicationStatement = {
        resourceType: 'MedicationStatement',
        id: `ms-${id}`,
        status:
          request.status === 'active'
            ? 'active'
            : request.status === 'entered-in-error'
              ? 'entered-in-error'
              : 'stopped',
        subject: request.subject,
        medicationCodeableConcept: request.medicationCodeableConcept,
        medicationReference: request.medicationReference,
        dateAsserted: request.authoredOn,
      };
      await repo.deleteResource('MedicationRequest', id);
      replaced.push(statement);
      recoded.statements++;
    } else {
      const marked: MedicationRequest = { ...request };
      delete marked.courseOfTherapyType;
      const extension: Extension = {
        url: PRESCRIPTION_TYPE,
        valueCodeableConcept: { coding: [{ system: TYPE_SYSTEM, code: type }] },
      };
      marked.extension = [...(request.extension ?? []), extension];
      replaced.push(marked);
      recoded.markedByExtension++;
    }
  }
  for (const id of repo.idsOf('Encounter')) {
    const encounter = await repo.readResource<Encounter>('Encounter', id);
    const method = encounter.hospitalization?.extension?.find((x) => x.url === ADMISSION_METHOD);
    if (!method?.valueCodeableConcept) {
      continue;
    }
    const hospitalization = { ...encounter.hospitalization, admitSource: method.valueCodeableConcept };
    hospitalization.extension = hospitalization.extension?.filter((x) => x !== method);
    replaced.push({ ...encounter, hospitalization });
    recoded.admissionsMoved++;
  }
  await repo.load(replaced);
  return recoded;
}

describe('the gp-record mapping on a practice recoded as a GP feed', () => {
  const practices: ProgrammePractice[] = [];
  afterAll(() => Promise.all(practices.map((p) => p.stop())));

  it('finds the cohort uk-core finds on the original, which uk-core misses on the recoding', async () => {
    const original = await ProgrammePractice.start();
    const recodedForGp = await ProgrammePractice.start();
    const recodedForUkCore = await ProgrammePractice.start();
    practices.push(original, recodedForGp, recodedForUkCore);

    const before = await run(original, 'uk-core');
    expect(before.proposed.length).toBeGreaterThan(0);

    const recoded = await recodeAsGpFeed(recodedForGp);
    expect(await recodeAsGpFeed(recodedForUkCore)).toEqual(recoded);
    expect(recoded.statements).toBeGreaterThan(0);
    expect(recoded.markedByExtension).toBeGreaterThan(0);
    expect(recoded.admissionsMoved).toBeGreaterThan(0);
    expect(recodedForGp.server.repo.idsOf('MedicationStatement')).toHaveLength(recoded.statements);

    const gp = await run(recodedForGp, 'gp-record');
    expect(gp.skipped).toEqual([]);
    expect([...gp.proposed].sort()).toEqual([...before.proposed].sort());
    expect(gp.awaitingCapacity).toEqual(before.awaitingCapacity);

    const ukCore = await run(recodedForUkCore, 'uk-core');
    expect(ukCore.proposed.length).toBeLessThan(before.proposed.length);
  });
});
