import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import {
  checkInAnswers,
  checkInQuestionnaire,
  conversationAnswers,
  conversationQuestionnaire,
  validateResponse,
} from '../../../src/care';
import type { Body } from '../../../src/pages/care-forms';
import { formAnswers, formFields, issueErrors } from '../../../src/pages/care-forms';
import { createViews } from '../../../src/pages/views';
import type { PlanGoal } from '../../../src/workspace';

const views = createViews({ serviceName: 'MDT workspace', signOutPath: '/mdt/auth/sign-out', assets: '/mdt/assets' });
const response = (items: QuestionnaireResponse['item']): QuestionnaireResponse => ({
  resourceType: 'QuestionnaireResponse',
  status: 'completed',
  item: items,
});

const CONVERSATION: Body = {
  participation: 'yes',
  'what-matters': ' Seeing my grandchildren ',
  'goals-1-goal-description': 'Walk to the allotment',
  'goals-1-goal-who': 'Me, with my daughter',
  'goals-1-goal-target-date[day]': '3',
  'goals-1-goal-target-date[month]': '2',
  'goals-1-goal-target-date[year]': '2027',
  'goals-2-goal-description': 'Sort out my pension credit',
  'goals-2-goal-who': 'Citizens Advice',
  'goals-3-goal-description': '',
  support: ['community-activity', 'financial-advice'],
  'wellbeing-life-satisfaction': '5',
  'wellbeing-worthwhile': '6',
  'wellbeing-happiness': '4',
  'wellbeing-anxiety': '7',
  'next-check-in[day]': '15',
  'next-check-in[month]': '12',
  'next-check-in[year]': '2026',
};

describe('the care team forms as NHS.UK fields', () => {
  it('reads a filled conversation into a response its Questionnaire accepts, with what was entered', () => {
    const questionnaire = conversationQuestionnaire();
    const { items, unreadable } = formAnswers({ questionnaire, goals: [], body: CONVERSATION });
    expect(unreadable).toEqual([]);
    const filled = response(items);
    expect(validateResponse(questionnaire, filled)).toEqual([]);
    expect(conversationAnswers(filled)).toEqual({
      participation: 'yes',
      whatMatters: 'Seeing my grandchildren',
      goals: [
        { description: 'Walk to the allotment', who: 'Me, with my daughter', targetDate: '2027-02-03' },
        { description: 'Sort out my pension credit', who: 'Citizens Advice', targetDate: undefined },
      ],
      support: ['community-activity', 'financial-advice'],
      wellbeing: { 'life-satisfaction': 5, worthwhile: 6, happiness: 4, anxiety: 7 },
      nextCheckIn: '2026-12-15',
      tryAgainAfter: undefined,
    });
  });

  it('puts each problem on its field: a goal without who, a score over 10, an impossible date, nothing on agreement', () => {
    const questionnaire = conversationQuestionnaire();
    const body: Body = {
      ...CONVERSATION,
      'goals-2-goal-who': '',
      'wellbeing-happiness': '11',
      'next-check-in[day]': '31',
      'next-check-in[month]': '2',
    };
    const walk = { questionnaire, goals: [], body };
    const { items, unreadable } = formAnswers(walk);
    expect(unreadable.map((e) => e.id)).toEqual(['next-check-in']);
    const issues = validateResponse(questionnaire, response(items));
    expect(issueErrors(walk, issues).map((e) => e.id)).toEqual(['goals-2-goal-who', 'wellbeing-happiness']);
    const nothing = { questionnaire, goals: [], body: {} };
    const none = validateResponse(questionnaire, response(formAnswers(nothing).items));
    expect(issueErrors(nothing, none)).toEqual([
      { id: 'participation', text: 'Select an answer: Did the patient agree to take part?' },
    ]);
  });

  it('asks a check-in about each goal of the plan, the goal filled in from the plan, never from the form', () => {
    const questionnaire = checkInQuestionnaire();
    const goals: PlanGoal[] = [
      { reference: 'Goal/g1', description: 'Walk to the allotment', status: 'Active' },
      { reference: 'Goal/g2', description: 'Pension credit', status: 'Active' },
    ];
    const body: Body = {
      'how-things-are-going': 'Better',
      'goal-progress-1-progress': 'achieved',
      'goal-progress-2-progress': 'progressing',
      'goal-progress-2-goal': 'Goal/someone-elses',
      'access-problem': 'no',
      'wellbeing-life-satisfaction': '7',
      'wellbeing-worthwhile': '7',
      'wellbeing-happiness': '6',
      'wellbeing-anxiety': '3',
      'next-step': 'step-down',
    };
    const { items } = formAnswers({ questionnaire, goals, body });
    const filled = response(items);
    expect(validateResponse(questionnaire, filled)).toEqual([]);
    const answers = checkInAnswers(filled);
    expect(answers.goalProgress).toEqual([
      { goal: 'Goal/g1', progress: 'achieved' },
      { goal: 'Goal/g2', progress: 'progressing' },
    ]);
    expect([answers.accessProblem, answers.nextStep]).toEqual([false, 'step-down']);
  });

  it('renders radios, checkboxes, date inputs, character counts and the error summary with NHS.UK frontend', () => {
    const questionnaire = conversationQuestionnaire();
    const walk = { questionnaire, goals: [], body: { ...CONVERSATION, 'goals-2-goal-who': '' } };
    const errors = issueErrors(walk, validateResponse(questionnaire, response(formAnswers(walk).items)));
    const html = views.render(
      'care-form.njk',
      { csrfToken: 'token-1' },
      {
        open: true,
        heading: questionnaire.title,
        fields: formFields(walk, errors),
        errorList: errors.map((e) => ({ text: e.text, href: `#${e.id}` })),
      }
    );
    expect(html).toContain('nhsuk-error-summary');
    expect(html).toContain('href="#goals-2-goal-who"');
    expect(html).toMatch(/id="goals-2-goal-who-error"/);
    expect(html).toContain('class="nhsuk-radios');
    expect(html).toContain('class="nhsuk-checkboxes');
    expect(html).toContain('name="next-check-in[day]"');
    expect(html).toContain('nhsuk-character-count');
    expect(html).toMatch(/name="support" type="checkbox" value="community-activity" checked/);
    expect(html).toContain('value="token-1"');
    expect((html.match(/<fieldset/g) ?? []).length).toBeGreaterThan(8);
  });
});
