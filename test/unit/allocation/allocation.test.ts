import type { CarePlan, Task } from '@medplum/fhirtypes';
import { allocate, Caseloads, dominantRisk, proposeOwner } from '../../../src/allocation';
import type { WorkforceMember } from '../../../src/config';
import { loadProgramme } from '../../../src/criteria';
import type { Episode, ProgrammeRecord } from '../../../src/lifecycle';

const programme = loadProgramme();

const facts = (overrides: Record<string, number | boolean>) => ({
  unplannedAdmissions: 2,
  repeatMedications: 10,
  calls999: 0,
  calls111: 0,
  longTermConditions: 0,
  mentalHealth: false,
  carer: false,
  frailty: false,
  age: 60,
  ...overrides,
});

describe('dominant risk', () => {
  it('is psychosocial when the psychosocial score outweighs the clinical', () => {
    expect(dominantRisk(programme, facts({ mentalHealth: true, carer: true }))).toBe('psychosocial');
    expect(dominantRisk(programme, facts({ calls999: 2, calls111: 1 }))).toBe('psychosocial');
  });

  it('is clinical on a tie, and when clinical risk dominates', () => {
    expect(dominantRisk(programme, facts({}))).toBe('clinical');
    expect(dominantRisk(programme, facts({ mentalHealth: true, frailty: true }))).toBe('clinical');
    expect(dominantRisk(programme, facts({ repeatMedications: 16, age: 80 }))).toBe('clinical');
  });
});

const plan = (status: CarePlan['status'], author: string): CarePlan => ({
  resourceType: 'CarePlan',
  status,
  intent: 'plan',
  subject: { reference: 'Patient/x' },
  author: { reference: author },
});
const task = (status: Task['status'], owner: string): Task => ({
  resourceType: 'Task',
  status,
  intent: 'order',
  owner: { reference: owner },
});

function record(episodes: Record<string, Partial<Episode>>): ProgrammeRecord {
  return {
    patients: new Map(
      Object.entries(episodes).map(([patientId, parts]) => [
        patientId,
        { patientId, episodes: [{ number: 1, checkIns: new Map(), ...parts }] },
      ])
    ),
  };
}

describe('caseloads', () => {
  it('count distinct patients with an active care plan or an open Task each owner holds', () => {
    const caseloads = new Caseloads(
      record({
        a: {
          carePlan: plan('active', 'PractitionerRole/nurse-1'),
          conversation: task('requested', 'PractitionerRole/nurse-1'),
        },
        b: {
          carePlan: plan('active', 'PractitionerRole/nurse-1'),
          conversation: task('completed', 'PractitionerRole/coach-1'),
        },
        c: {
          carePlan: plan('completed', 'PractitionerRole/nurse-1'),
          conversation: task('cancelled', 'PractitionerRole/nurse-1'),
        },
        d: { stepDown: task('in-progress', 'PractitionerRole/coach-1') },
      })
    );
    expect(caseloads.count('PractitionerRole/nurse-1')).toBe(2);
    expect(caseloads.count('PractitionerRole/coach-1')).toBe(1);
    expect(caseloads.count('PractitionerRole/gp-1')).toBe(0);
  });
});

const workforce: WorkforceMember[] = [
  { reference: 'PractitionerRole/gp-1', role: 'gp', caseload: 2 },
  { reference: 'PractitionerRole/pharm-1', role: 'pharmacist', caseload: 3 },
  { reference: 'PractitionerRole/coach-1', role: 'health-and-wellbeing-coach', caseload: 1 },
];

describe('proposing an owner', () => {
  it('picks the member of a fitting role with the most room', () => {
    const caseloads = new Caseloads(record({}));
    expect(proposeOwner(workforce, caseloads, 'clinical')?.reference).toBe('PractitionerRole/pharm-1');
    expect(proposeOwner(workforce, caseloads, 'psychosocial')?.reference).toBe('PractitionerRole/coach-1');
  });

  it('proposes nobody when every fitting member is at their caseload limit', () => {
    const caseloads = new Caseloads(record({}));
    caseloads.add('PractitionerRole/coach-1', 'a');
    expect(proposeOwner(workforce, caseloads, 'psychosocial')).toBeUndefined();
  });
});

describe('allocation of an accepted patient', () => {
  const review = (owner?: string): Task => ({
    resourceType: 'Task',
    status: 'accepted',
    intent: 'proposal',
    ...(owner ? { owner: { reference: owner } } : {}),
  });

  it("follows the MDT's choice of owner on the review Task", () => {
    expect(
      allocate(review('CareTeam/frailty-team'), 'clinical', workforce, new Caseloads(record({})), 'CareTeam/pcn-mdt')
    ).toEqual({
      kind: 'mdt',
      owner: 'CareTeam/frailty-team',
    });
  });

  it('does not take the review owner (the MDT itself) for an allocation', () => {
    expect(
      allocate(review('CareTeam/pcn-mdt'), 'clinical', workforce, new Caseloads(record({})), 'CareTeam/pcn-mdt')
    ).toEqual({
      kind: 'proposed',
      owner: 'PractitionerRole/pharm-1',
      role: 'pharmacist',
    });
  });

  it("keeps the connector's proposal on the review while its owner has room, else proposes another", () => {
    const proposedGp: Task = {
      ...review(),
      input: [{ type: { text: 'proposedOwner' }, valueReference: { reference: 'PractitionerRole/gp-1' } }],
    };
    const caseloads = new Caseloads(record({}));
    expect(allocate(proposedGp, 'clinical', workforce, caseloads, undefined)).toMatchObject({
      owner: 'PractitionerRole/gp-1',
    });
    caseloads.add('PractitionerRole/gp-1', 'a');
    caseloads.add('PractitionerRole/gp-1', 'b');
    expect(allocate(proposedGp, 'clinical', workforce, caseloads, undefined)).toMatchObject({
      owner: 'PractitionerRole/pharm-1',
    });
  });

  it('waitlists rather than overbook', () => {
    const caseloads = new Caseloads(record({}));
    caseloads.add('PractitionerRole/coach-1', 'a');
    expect(allocate(review(), 'psychosocial', workforce, caseloads, undefined)).toEqual({
      kind: 'waitlisted',
      risk: 'psychosocial',
    });
  });

  it('leaves the owner to the MDT when no workforce is configured', () => {
    expect(allocate(review(), 'clinical', [], new Caseloads(record({})), undefined)).toEqual({ kind: 'unassigned' });
  });
});
