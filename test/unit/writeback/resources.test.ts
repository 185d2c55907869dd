import type { Task } from '@medplum/fhirtypes';
import { proposedOwnerOf } from '../../../src/allocation';
import { decide, loadProgramme } from '../../../src/criteria';
import { SourceReferences } from '../../../src/fhir';
import { loadMapping } from '../../../src/mappings';
import { validateAgainstProfile } from '../../../src/profiles';
import { TASK_INPUT } from '../../../src/vocabulary';
import type { PatientContext } from '../../../src/writeback/resources';
import { carePlan, enrolmentFlag, reviewTask } from '../../../src/writeback/resources';

const mapping = loadMapping('uk-core');
const context = (programmeId: string, asOf: string): PatientContext => ({
  programme: loadProgramme({ ref: programmeId, features: mapping.features }),
  patientId: 'p1',
  cohort: { system: 'https://fhir.hfu-connector.org/Id/cohort', value: `${programmeId}/all` },
  cohortTitle: 'All patients',
  asOf,
  now: `${asOf}T09:00:00.000Z`,
  source: SourceReferences.between('https://fhir.example.org/R4', 'https://fhir.example.org/R4'),
});
const evidence = {
  unplannedAdmissions: ['Encounter/e1'],
  repeatMedications: ['MedicationRequest/m1'],
  longTermConditions: ['Condition/c1'],
  mentalHealth: ['Condition/c2'],
  edAttendances: ['Encounter/e9'],
};
const decisionWith = (ctx: PatientContext, facts: Record<string, number | boolean>) =>
  decide(ctx.programme, 'p1', { facts: { registered: true, ...facts }, evidence });

describe('the review Task a clinician reads', () => {
  const ctx = context('nhse-hfu-2022', '2026-12-01');
  const decision = decisionWith(ctx, { unplannedAdmissions: 1, repeatMedications: 14 });

  it('gives the reason in plain English, with the window and the date', () => {
    const task = reviewTask(ctx, decision, 1, 'second', 'clinical').resource;
    expect(task.description).toBe(
      'Second priority: 1 unplanned admission and 14 repeat medicines in the 12 months to 1 December 2026.'
    );
    expect(task.code?.text).toBe('Review a proposed candidate for the High Frequency Users programme');
  });

  it('keeps the description of a proposal whose figures have not changed, so it is not rewritten each day', () => {
    const yesterday = reviewTask(context('nhse-hfu-2022', '2026-11-30'), decision, 1, 'second', 'clinical').resource;
    const today = reviewTask(ctx, decision, 1, 'second', 'clinical', undefined, yesterday as Task).resource;
    expect(today.description).toBe(yesterday.description);
    expect(today.description).toContain('to 30 November 2026');
    const more = decisionWith(ctx, { unplannedAdmissions: 2, repeatMedications: 14 });
    const changed = reviewTask(ctx, more, 1, 'first', 'clinical', undefined, yesterday as Task).resource;
    expect(changed.description).toBe(
      'First priority: 2 unplanned admissions and 14 repeat medicines in the 12 months to 1 December 2026.'
    );
  });
});

describe('the care plan', () => {
  it.each([
    ['nhse-hfu-2022', 'High Frequency Users programme'],
    ['nhse-hiu', 'High Intensity Use programme'],
  ])('of %s addresses the conditions its programme names, and is titled for it', (programmeId, shortTitle) => {
    const ctx = context(programmeId, '2026-12-01');
    const decision = decisionWith(ctx, { unplannedAdmissions: 2, repeatMedications: 14, edAttendancesLastMonth: 6 });
    const plan = carePlan(ctx, 1, decision, 'first', undefined, []).resource;
    expect(plan.title).toBe(`Personalised care and support plan (${shortTitle})`);
    expect(plan.addresses?.map((a) => a.reference).sort()).toEqual(['Condition/c1', 'Condition/c2']);
    expect(plan.supportingInfo?.map((a) => a.reference)).not.toContain('Condition/c1');
  });
});

describe('the Flag GP systems show', () => {
  it.each([
    ['nhse-hfu-2022', 'hfu', 'High Frequency User - proactive personalised care'],
    ['nhse-hiu', 'hiu', 'High Intensity Use - personalised support'],
  ])('of %s carries its programme’s code and display, and the same categories', (programmeId, code, display) => {
    const flag = enrolmentFlag(context(programmeId, '2026-12-01'), 1, 'first').resource;
    expect(flag.code).toEqual({
      coding: [{ system: 'https://fhir.hfu-connector.org/CodeSystem/hfu', code, display }],
      text: display,
    });
    expect(flag.category?.map((c) => c.coding?.[0]?.code)).toEqual(['HFU', 'first']);
    expect(validateAgainstProfile(flag)).toEqual([]);
  });
});

describe('review Task inputs', () => {
  const owner = { reference: 'PractitionerRole/pharm-1' };
  it('are read by their code, and by their text when an earlier version wrote them uncoded', () => {
    const ctx = context('nhse-hfu-2022', '2026-12-01');
    const decision = decisionWith(ctx, { unplannedAdmissions: 1, repeatMedications: 14 });
    const coded = reviewTask(ctx, decision, 1, 'second', 'clinical', owner.reference).resource;
    expect(proposedOwnerOf(coded)).toBe(owner.reference);
    const legacy = { ...coded, input: [{ type: { text: 'proposedOwner' }, valueReference: owner }] };
    expect(proposedOwnerOf(legacy)).toBe(owner.reference);
    // A coded input of another kind is not taken for the owner, whatever its text says.
    const other = {
      ...coded,
      input: [{ type: { coding: [TASK_INPUT.evidence], text: 'proposedOwner' }, valueReference: owner }],
    };
    expect(proposedOwnerOf(other)).toBeUndefined();
  });
});
