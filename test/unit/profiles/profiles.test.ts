import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CodeSystem, Flag, Resource, StructureDefinition, Task, ValueSet } from '@medplum/fhirtypes';
import { parse as parseYaml } from 'yaml';
import { BUILT_IN_PROGRAMMES_DIR, builtInProgrammes, decide, loadProgramme } from '../../../src/criteria';
import { SourceReferences } from '../../../src/fhir';
import { loadMapping } from '../../../src/mappings';
import { buildConformanceResources, fileNameOf, PROFILES_DIR, validateAgainstProfile } from '../../../src/profiles';
import { PROFILE } from '../../../src/vocabulary';
import { provenanceFor } from '../../../src/writeback/apply';
import { cohortGroup } from '../../../src/writeback/cohort';
import type { PatientContext } from '../../../src/writeback/resources';
import {
  cancelled,
  carePlan,
  closedCarePlan,
  escalationTask,
  checkInTask,
  conversationTask,
  enrolmentFlag,
  inactiveFlag,
  revokedCarePlan,
  reviewTask,
  stepDownTask,
} from '../../../src/writeback/resources';

const programme = loadProgramme({ features: loadMapping('uk-core').features });
const ctx: PatientContext = {
  programme,
  patientId: 'p1',
  cohort: { system: 'https://fhir.hfu-connector.org/Id/cohort', value: 'nhse-hfu-2022/practice-Y99001' },
  cohortTitle: 'Practice Y99001',
  asOf: '2026-11-23',
  now: '2026-11-23T09:00:00.000Z',
  reviewOwner: 'CareTeam/pcn-mdt',
  source: SourceReferences.between('https://fhir.example.org/R4', 'https://fhir.example.org/R4'),
};
/** The same patient when the record is a separate endpoint: the patient referred to on the source, absolutely. */
const apart: PatientContext = {
  ...ctx,
  source: SourceReferences.between('https://shared-record.example.org/R4', 'https://care-plans.example.org/fhir'),
};
const decision = decide(programme, 'p1', {
  facts: { unplannedAdmissions: 2, repeatMedications: 11, longTermConditions: 2, mentalHealth: true, age: 80 },
  evidence: {
    unplannedAdmissions: ['Encounter/e1', 'Encounter/e2'],
    repeatMedications: ['MedicationRequest/m1'],
    longTermConditions: ['Condition/c1'],
    mentalHealth: ['Condition/c2'],
  },
});

/** One of everything the connector writes, as its builders make it. */
function written(context = ctx): Resource[] {
  const plan = carePlan(context, 1, decision, 'first', 'PractitionerRole/pharm-1', ['urn:uuid:x']).resource;
  const stored = { ...plan, id: 'cp1' };
  const flag = { ...enrolmentFlag(context, 1, 'first').resource, id: 'f1' };
  const conversation = { ...conversationTask(context, 1, 'PractitionerRole/pharm-1', 'CarePlan/cp1', 14).resource, id: 't2' };
  return [
    reviewTask(context, decision, 1, 'first', 'clinical', 'PractitionerRole/pharm-1').resource,
    flag,
    plan,
    conversation,
    checkInTask(context, 1, 1, '2026-12-07', undefined, 'CarePlan/cp1', 14).resource,
    stepDownTask(context, 1, undefined, 'CarePlan/cp1').resource,
    inactiveFlag(flag, '2027-01-10').resource,
    cancelled(conversation, 'The care plan was completed').resource,
    revokedCarePlan(stored, '2027-01-10').resource,
    closedCarePlan(stored, 'revoked', '2026-11-30', 'declined-by-patient').resource,
    closedCarePlan(stored, 'completed', '2027-01-10', 'stepped-down').resource,
    conversationTask(context, 1, 'PractitionerRole/pharm-1', 'CarePlan/cp1', 14, { attempt: 2, from: '2026-12-21' }).resource,
    escalationTask(context, 1, 2, 'first').resource,
    cohortGroup(programme, 'practice-Y99001', 'Practice Y99001', undefined, { open: new Map([['p1', { inactive: true }]]), unread: new Set() }, context, context.source).resource,
    provenanceFor(
      { programme, subjectKey: 'nhse-hfu-2022/Patient/p1', events: ['enrol'], reasons: [], evidence: ['Encounter/e1'], asOf: context.asOf, now: context.now },
      ['Flag/f1'],
      []
    ),
  ];
}

describe('published profiles', () => {
  it('are exactly what `hfu profiles` builds (regenerate with `hfu profiles` after changing src/profiles)', () => {
    const built = buildConformanceResources();
    const files = readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(built.map(fileNameOf).sort());
    for (const resource of built) {
      const committed = JSON.parse(readFileSync(path.join(PROFILES_DIR, fileNameOf(resource)), 'utf8')) as unknown;
      expect(committed).toEqual(resource);
    }
  });

  it('each have a differential and a snapshot, derived from UK Core where UK Core has the resource', () => {
    const sds = buildConformanceResources().filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
    expect(sds.map((sd) => sd.url).sort()).toEqual(Object.values(PROFILE).sort());
    const bases = Object.fromEntries(sds.map((sd) => [sd.type, sd.baseDefinition]));
    expect(bases).toEqual({
      Group: 'http://hl7.org/fhir/StructureDefinition/Group',
      Flag: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Flag',
      Task: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Task',
      CarePlan: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-CarePlan',
      Provenance: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Provenance',
      AuditEvent: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-AuditEvent',
      Questionnaire: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Questionnaire',
      QuestionnaireResponse: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-QuestionnaireResponse',
      Goal: 'http://hl7.org/fhir/StructureDefinition/Goal',
      ServiceRequest: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-ServiceRequest',
      Observation: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation',
    });
    for (const sd of sds) {
      expect(sd.differential?.element.length).toBeGreaterThan(1);
      expect(sd.snapshot?.element.length).toBeGreaterThan(sd.differential?.element.length ?? 0);
    }
    const flag = sds.find((sd) => sd.type === 'Flag');
    expect(flag?.snapshot?.element.find((e) => e.path === 'Flag.period')?.min).toBe(1);
  });
});

describe('every resource the connector writes', () => {
  const label = (r: Resource): string => {
    const { code, status } = r as { code?: { coding?: { code?: string }[] }; status?: string };
    return [r.resourceType, r.resourceType === 'Task' ? code?.coding?.[0]?.code : undefined, status].filter(Boolean).join(' ');
  };
  it.each(written().map((r) => [label(r), r] as const))(
    '%s declares its profile and validates against it',
    (_name, resource) => {
      expect(resource.meta?.profile).toHaveLength(1);
      expect(validateAgainstProfile(resource)).toEqual([]);
    }
  );

  it.each(written(apart).map((r) => [label(r), r] as const))(
    '%s, written to a separate record, refers to the patient absolutely and still validates',
    (_name, resource) => {
      const text = JSON.stringify(resource);
      expect(text).not.toContain('"Patient/p1"');
      if (resource.resourceType !== 'Provenance') {
        expect(text).toContain('"https://shared-record.example.org/R4/Patient/p1"');
      }
      expect(validateAgainstProfile(resource)).toEqual([]);
    }
  );

  it('codes every review Task input from the published task input codes, with their displays', () => {
    const codeSystem = buildConformanceResources().find((r) => r.id === 'hfu-task-input') as CodeSystem;
    const displays = new Map(codeSystem.concept?.map((c) => [c.code, c.display]));
    const review = written().find((r): r is Task => r.resourceType === 'Task' && r.intent === 'proposal' && Boolean(r.input));
    const codings = review?.input?.map((i) => i.type.coding?.[0]) ?? [];
    expect(codings.map((c) => c?.code)).toEqual(['dominant-risk', 'proposed-owner', ...Array(5).fill('evidence')]);
    for (const coding of codings) {
      expect(coding?.system).toBe(codeSystem.url);
      expect(coding?.display).toBe(displays.get(coding?.code as string));
    }
    // The evidence of the tier's features and of the risk factors that hold, each named by the feature's title.
    const evidence = review?.input?.slice(2).map((i) => [i.type.text, i.valueReference?.reference]);
    expect(evidence).toEqual([
      ['Unplanned admissions', 'Encounter/e1'],
      ['Unplanned admissions', 'Encounter/e2'],
      ['Repeat medicines', 'MedicationRequest/m1'],
      ['Long-term conditions', 'Condition/c1'],
      ['Mental health condition', 'Condition/c2'],
    ]);
  });

  const broken: [string, (r: Resource) => Resource | undefined][] = [
    ['a Flag without a period', (r) => (r.resourceType === 'Flag' ? { ...r, period: undefined } : undefined)],
    ['a Flag without its tier', (r) => (r.resourceType === 'Flag' ? { ...r, category: r.category?.slice(0, 1) } : undefined)],
    ['an inactive Flag without an end', (r) => (r.resourceType === 'Flag' ? { ...r, status: 'inactive', period: { start: '2026-11-23' } } : undefined)],
    ['a Task without its patient', (r) => (r.resourceType === 'Task' ? { ...r, for: undefined } : undefined)],
    ['a Task without a business identifier', (r) => (r.resourceType === 'Task' ? { ...r, identifier: undefined } : undefined)],
    ['a conversation not based on the care plan', (r) => (r.resourceType === 'Task' && r.intent === 'order' ? { ...r, basedOn: undefined } : undefined)],
    ['a Task input named by text only', (r) => (r.resourceType === 'Task' && r.input?.length ? { ...r, input: [{ type: { text: 'dominantRisk' }, valueString: 'clinical' }] } : undefined)],
    ['a CarePlan without an author', (r) => (r.resourceType === 'CarePlan' ? { ...r, author: undefined } : undefined)],
    ['a CarePlan without its category', (r) => (r.resourceType === 'CarePlan' ? { ...r, category: undefined } : undefined)],
    ['a CarePlan closed with a reason but still active', (r) => (r.resourceType === 'CarePlan' && r.extension?.length ? { ...r, status: 'active' } : undefined)],
    ['a Group without its identifier', (r) => (r.resourceType === 'Group' ? { ...r, identifier: undefined } : undefined)],
    ['a Provenance without the programme as policy', (r) => (r.resourceType === 'Provenance' ? { ...r, policy: undefined } : undefined)],
    ['a Provenance without the connector as agent', (r) => (r.resourceType === 'Provenance' ? { ...r, agent: [{ who: { reference: 'Practitioner/x' } }] } : undefined)],
    ['anything without the connector tag', (r) => ({ ...r, meta: { profile: r.meta?.profile } })],
  ];
  it.each(broken)('fails validation for %s', (_name, breakIt) => {
    const candidates = written()
      .map(breakIt)
      .filter((r): r is Resource => Boolean(r));
    expect(candidates.length).toBeGreaterThan(0);
    for (const resource of candidates) {
      expect(validateAgainstProfile(resource).length).toBeGreaterThan(0);
    }
  });
});

describe("each programme's Flag", () => {
  const published = <T extends Resource>(file: string): T => JSON.parse(readFileSync(path.join(PROFILES_DIR, file), 'utf8')) as T;
  /** What the programme file says, read as plain YAML. */
  const declared = (id: string): { code: string; display: string } => {
    const { code, display } = (parseYaml(readFileSync(path.join(BUILT_IN_PROGRAMMES_DIR, `${id}.yaml`), 'utf8')) as { flag: { code: string; display: string } }).flag;
    return { code, display };
  };
  const flagOf = (id: string): Flag => {
    const programmeCtx = { ...ctx, programme: loadProgramme({ ref: id, features: loadMapping('uk-core').features }) };
    return enrolmentFlag(programmeCtx, 1, 'second').resource;
  };
  const SYSTEM = 'https://fhir.hfu-connector.org/CodeSystem/hfu';

  it('ships one per programme: nhse-hfu-2022 and nhse-hiu, with their own codes', () => {
    expect(builtInProgrammes().map((id) => declared(id).code)).toEqual(['hfu', 'hiu']);
  });

  it.each(builtInProgrammes())('of %s carries the code its programme declares, published, and validates', (id) => {
    const flag = flagOf(id);
    expect(flag.code?.coding).toEqual([{ system: SYSTEM, ...declared(id) }]);
    expect(flag.code?.text).toBe(declared(id).display);
    expect(validateAgainstProfile(flag)).toEqual([]);
    const codeSystem = published<CodeSystem>('CodeSystem-hfu.json');
    expect(codeSystem.url).toBe(SYSTEM);
    expect(codeSystem.concept?.find((c) => c.code === declared(id).code)?.display).toBe(declared(id).display);
    const valueSet = published<ValueSet>('ValueSet-hfu-programme-flag.json');
    expect(valueSet.compose?.include).toEqual([
      { system: SYSTEM, concept: builtInProgrammes().map((p) => ({ code: declared(p).code, display: declared(p).display })) },
    ]);
  });

  it('binds Flag.code to the programme flag codes, not one of them', () => {
    const sd = published<StructureDefinition>('StructureDefinition-hfu-flag.json');
    const code = sd.snapshot?.element.find((e) => e.id === 'Flag.code');
    expect(code?.binding).toEqual({ strength: 'required', valueSet: 'https://fhir.hfu-connector.org/ValueSet/hfu-programme-flag' });
    expect(code?.patternCodeableConcept).toBeUndefined();
  });

  it('keeps an HFU Flag written before programmes declared their flag valid', () => {
    const earlier: Flag = {
      ...flagOf('nhse-hfu-2022'),
      code: { coding: [{ system: SYSTEM, code: 'hfu', display: 'High Frequency User - proactive personalised care' }], text: 'High Frequency User - proactive personalised care' },
    };
    expect(validateAgainstProfile(earlier)).toEqual([]);
    expect(flagOf('nhse-hfu-2022').code).toEqual(earlier.code);
  });

  it.each([
    ['a code no programme declares', { coding: [{ system: SYSTEM, code: 'hfx' }] }],
    ['a programme code in another system', { coding: [{ system: 'http://snomed.info/sct', code: 'hiu' }] }],
    ['the flag category as its code', { coding: [{ system: SYSTEM, code: 'HFU' }] }],
  ])('fails validation coded with %s', (_name, code) => {
    expect(validateAgainstProfile({ ...flagOf('nhse-hiu'), code })).not.toEqual([]);
  });
});
