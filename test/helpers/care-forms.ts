import type { QuestionnaireResponseItem, Resource } from '@medplum/fhirtypes';
import { validateAgainstProfile } from '../../src/profiles';
import { CANONICAL_BASE } from '../../src/vocabulary';

/** The answers of the care team's forms as a platform (or the workspace) records them, for every kind of test. */
const CS = `${CANONICAL_BASE}/CodeSystem`;

/** An answer from one of the project's code systems (`hfu-participation`, `hfu-support`, `hfu-next-step`, ...). */
export const coded = (system: string, code: string) => ({ valueCoding: { system: `${CS}/${system}`, code } });

export const question = (
  linkId: string,
  ...answer: NonNullable<QuestionnaireResponseItem['answer']>
): QuestionnaireResponseItem => ({ linkId, answer });

/** The four ONS personal wellbeing scores, in the form's order. */
export const ons4 = (scores: readonly number[]): QuestionnaireResponseItem => ({
  linkId: 'wellbeing',
  item: ['life-satisfaction', 'worthwhile', 'happiness', 'anxiety'].map((id, i) =>
    question(id, { valueInteger: scores[i] as number })
  ),
});

/** Every resource is valid against its profile; at least one is given (an empty list checks nothing). */
export function expectValid(resources: readonly Resource[]): void {
  expect(resources.length).toBeGreaterThan(0);
  for (const resource of resources) {
    const ref = `${resource.resourceType}/${resource.id}`;
    expect({ ref, issues: validateAgainstProfile(resource) }).toEqual({ ref, issues: [] });
  }
}
