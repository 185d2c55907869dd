import type { CarePlan, Goal, QuestionnaireResponse, QuestionnaireResponseItem, Task } from '@medplum/fhirtypes';
import { readCareForms } from '../../src/care';
import { configSchema } from '../../src/config';
import { FhirClient, SourceReferences } from '../../src/fhir';
import type { Episode, ProgrammeRecord } from '../../src/lifecycle';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { QUESTIONNAIRE } from '../../src/vocabulary';

/** Which completed forms a run can use, read from a real FHIR server: every other one is reported by Task and code. */
let server: RunningFhirServer;
let client: FhirClient;
beforeAll(async () => {
  server = await startFhirServer();
  client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
});
afterAll(() => server.stop());

const CS = 'https://fhir.hfu-connector.org/CodeSystem';
const q = (linkId: string, ...answer: NonNullable<QuestionnaireResponseItem['answer']>): QuestionnaireResponseItem => ({
  linkId,
  answer,
});
const ons4: QuestionnaireResponseItem = {
  linkId: 'wellbeing',
  item: ['life-satisfaction', 'worthwhile', 'happiness', 'anxiety'].map((id) => q(id, { valueInteger: 5 })),
};
const checkInItems = (goal: string): QuestionnaireResponseItem[] => [
  q('how-things-are-going', { valueString: 'Fine' }),
  {
    linkId: 'goal-progress',
    item: [
      q('goal', { valueReference: { reference: goal } }),
      q('progress', { valueCoding: { system: `${CS}/hfu-goal-progress`, code: 'achieved' } }),
    ],
  },
  q('access-problem', { valueBoolean: false }),
  ons4,
  q('next-step', { valueCoding: { system: `${CS}/hfu-next-step`, code: 'continue' } }),
];

async function form(
  patientId: string,
  questionnaire: string,
  item: QuestionnaireResponseItem[],
  status: QuestionnaireResponse['status'] = 'completed'
): Promise<string> {
  const created = await client.create<QuestionnaireResponse>({
    resourceType: 'QuestionnaireResponse',
    questionnaire,
    status,
    subject: { reference: `Patient/${patientId}` },
    authored: '2026-11-23T10:00:00Z',
    author: { reference: 'PractitionerRole/x' },
    item,
  });
  return `QuestionnaireResponse/${created.resource.id}`;
}

const completed = (id: string, response?: string): Task => ({
  resourceType: 'Task',
  id,
  status: 'completed',
  intent: 'order',
  lastModified: '2026-11-23T11:00:00Z',
  ...(response ? { output: [{ type: { text: 'form' }, valueReference: { reference: response } }] } : {}),
});

function episode(conversation: Task, checkIns: Task[] = [], goals: Goal[] = []): Episode {
  return {
    number: 1,
    carePlan: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: {} } as CarePlan,
    conversation,
    checkIns: new Map(checkIns.map((t, i) => [i + 1, t])),
    goals: new Map(goals.map((g, i) => [i + 1, g])),
  };
}

it('uses valid forms, reports unusable ones by Task and reason, and ignores Tasks completed without one', async () => {
  const conversation = QUESTIONNAIRE.conversation.url;
  const declined = [q('participation', { valueCoding: { system: `${CS}/hfu-participation`, code: 'declined' } })];
  const record: ProgrammeRecord = {
    patients: new Map(
      Object.entries({
        ok: episode(completed('t-ok', await form('ok', `${conversation}|1.0.0`, declined))),
        plain: episode(completed('t-plain')),
        wrongForm: episode(completed('t-wrong-form', await form('wrongForm', QUESTIONNAIRE.checkIn.url, declined))),
        missing: episode(completed('t-missing', 'QuestionnaireResponse/not-there')),
        otherPatient: episode(completed('t-other', await form('someone-else', conversation, declined))),
        inProgress: episode(completed('t-draft', await form('inProgress', conversation, declined, 'in-progress'))),
        checkIn: episode(
          completed('t-conv', await form('checkIn', conversation, declined)),
          [
            completed('t-ci-ok', await form('checkIn', QUESTIONNAIRE.checkIn.url, checkInItems('Goal/g1'))),
            completed('t-ci-bad', await form('checkIn', QUESTIONNAIRE.checkIn.url, checkInItems('Goal/not-theirs'))),
          ],
          [{ resourceType: 'Goal', id: 'g1', lifecycleStatus: 'active', description: { text: 'x' }, subject: {} }]
        ),
      }).map(([patientId, e]) => [patientId, { patientId, episodes: [e] }])
    ),
  };
  const unprocessable = await readCareForms(client, record, SourceReferences.between(server.baseUrl, server.baseUrl));
  expect(unprocessable.sort((a, b) => (a.task < b.task ? -1 : 1))).toEqual([
    { task: 'Task/t-ci-bad', reason: 'unknown-goal:goal' },
    { task: 'Task/t-draft', reason: 'form-not-completed' },
    { task: 'Task/t-missing', reason: 'form-not-found' },
    { task: 'Task/t-other', reason: 'wrong-patient' },
    { task: 'Task/t-wrong-form', reason: 'wrong-form' },
  ]);
  const forms = (id: string) => record.patients.get(id)?.episodes[0]?.forms;
  expect(forms('ok')?.conversation).toMatchObject({
    participation: 'declined',
    completedOn: '2026-11-23',
    task: 'Task/t-ok',
  });
  expect(forms('plain')).toEqual({ checkIns: new Map(), unprocessable: [] });
  expect([...(forms('checkIn')?.checkIns.keys() ?? [])]).toEqual([1]);
  expect(forms('checkIn')?.checkIns.get(1)).toMatchObject({ nextStep: 'continue', task: 'Task/t-ci-ok' });
});
