import type { QuestionnaireResponse, QuestionnaireResponseItem, Task } from '@medplum/fhirtypes';
import { coded, ons4, question } from '../../helpers/care-forms';
import type { ProgrammePractice } from './programme';
import { AS_OF } from './programme';

/** The care team's forms as a platform records them over FHIR, for tests that need a patient part-way through. */
const SDC = 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp';

export const CONVERSATION = [
  question('participation', coded('hfu-participation', 'yes')),
  question('what-matters', { valueString: 'Staying at home' }),
  {
    linkId: 'goals',
    item: [
      question('goal-description', { valueString: 'Walk to the shop' }),
      question('goal-who', { valueString: 'Me' }),
    ],
  },
  ons4([5, 5, 5, 5]),
];
export const ESCALATING_CHECK_IN = [
  question('how-things-are-going', { valueString: 'Worse: a fall and two more admissions' }),
  question('access-problem', { valueBoolean: false }),
  ons4([3, 4, 3, 8]),
  question('next-step', coded('hfu-next-step', 'escalate')),
];

/**
 * What a platform does when the professional saves a form: the response (by the Task's owner unless another author is
 * given), then the Task completed pointing at it. The form is the one the Task names.
 */
export async function completeWithForm(
  practice: ProgrammePractice,
  task: Task,
  items: QuestionnaireResponseItem[],
  author = task.owner?.reference ?? 'PractitionerRole/gp-1'
): Promise<QuestionnaireResponse> {
  const canonical = task.input?.find((i) =>
    i.type.coding?.some((c) => c.system === SDC && c.code === 'questionnaire')
  )?.valueCanonical;
  expect(canonical).toBeDefined();
  const { resource: response } = await practice.client.create<QuestionnaireResponse>({
    resourceType: 'QuestionnaireResponse',
    questionnaire: canonical,
    status: 'completed',
    subject: task.for,
    authored: `${AS_OF}T11:00:00Z`,
    author: { reference: author },
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
  return response;
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
