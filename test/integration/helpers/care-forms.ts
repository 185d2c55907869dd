import type { QuestionnaireResponse, QuestionnaireResponseItem, Task } from '@medplum/fhirtypes';
import type { ProgrammePractice } from './programme';
import { AS_OF } from './programme';

/** The care team's forms as a platform records them over FHIR, for tests that need a patient part-way through. */
const SDC = 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp';
const CS = 'https://fhir.hfu-connector.org/CodeSystem';
const coded = (system: string, code: string) => ({ valueCoding: { system: `${CS}/${system}`, code } });
const q = (linkId: string, ...answer: NonNullable<QuestionnaireResponseItem['answer']>): QuestionnaireResponseItem => ({
  linkId,
  answer,
});
const ons4 = (scores: number[]): QuestionnaireResponseItem => ({
  linkId: 'wellbeing',
  item: ['life-satisfaction', 'worthwhile', 'happiness', 'anxiety'].map((id, i) =>
    q(id, { valueInteger: scores[i] as number })
  ),
});
export const CONVERSATION = [
  q('participation', coded('hfu-participation', 'yes')),
  q('what-matters', { valueString: 'Staying at home' }),
  {
    linkId: 'goals',
    item: [q('goal-description', { valueString: 'Walk to the shop' }), q('goal-who', { valueString: 'Me' })],
  },
  ons4([5, 5, 5, 5]),
];
export const ESCALATING_CHECK_IN = [
  q('how-things-are-going', { valueString: 'Worse: a fall and two more admissions' }),
  q('access-problem', { valueBoolean: false }),
  ons4([3, 4, 3, 8]),
  q('next-step', coded('hfu-next-step', 'escalate')),
];

/** What a platform does when the professional saves a form: the response, then the Task completed pointing at it. */
export async function completeWithForm(
  practice: ProgrammePractice,
  task: Task,
  items: QuestionnaireResponseItem[]
): Promise<void> {
  const canonical = task.input?.find((i) => i.type.coding?.some((c) => c.code === 'questionnaire'))?.valueCanonical;
  const { resource: response } = await practice.client.create<QuestionnaireResponse>({
    resourceType: 'QuestionnaireResponse',
    questionnaire: canonical,
    status: 'completed',
    subject: task.for,
    authored: `${AS_OF}T11:00:00Z`,
    author: { reference: task.owner?.reference ?? 'PractitionerRole/gp-1' },
    item: items,
  });
  await practice.record(task, {
    status: 'completed',
    executionPeriod: { start: `${AS_OF}T10:00:00Z`, end: `${AS_OF}T11:00:00Z` },
    output: [
      {
        type: { coding: [{ system: SDC, code: 'questionnaire-response' }] },
        valueReference: { reference: `QuestionnaireResponse/${response.id}` },
      },
    ],
  });
}

/**
 * The MDT accepts each patient with the given owner, the owner records the conversation and then a check-in that
 * escalates to the MDT, a run after each: each patient ends enrolled with an open escalation (and check-in 2).
 */
export async function escalatedAtFirstCheckIn(
  practice: ProgrammePractice,
  owners: Record<string, string>,
  run: () => Promise<unknown>
): Promise<void> {
  for (const [id, owner] of Object.entries(owners)) {
    const review = await practice.must<Task>('Task', id, 'mdt-review');
    await practice.record(review, { status: 'accepted', owner: { reference: owner } });
  }
  await run();
  for (const id of Object.keys(owners)) {
    await completeWithForm(practice, await practice.must<Task>('Task', id, 'what-matters-conversation'), CONVERSATION);
  }
  await run();
  for (const id of Object.keys(owners)) {
    await completeWithForm(practice, await practice.must<Task>('Task', id, 'check-in', 1, 1), ESCALATING_CHECK_IN);
  }
  await run();
}
