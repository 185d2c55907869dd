import type { Coding, Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { PROFILE, QUESTIONNAIRE } from '../vocabulary';
import type { Code } from '../vocabulary';
import { GOAL_PROGRESS, NEXT_STEP, PARTICIPATION, SUPPORT, WELLBEING } from '../vocabulary/care';
import type { WellbeingQuestion } from '../vocabulary/care';

/** The items of the forms, by linkId: what the connector reads from a QuestionnaireResponse. */
export const ITEM = {
  participation: 'participation',
  tryAgainAfter: 'try-again-after',
  whatMatters: 'what-matters',
  goals: 'goals',
  goalDescription: 'goal-description',
  goalWho: 'goal-who',
  goalTargetDate: 'goal-target-date',
  support: 'support',
  wellbeing: 'wellbeing',
  nextCheckIn: 'next-check-in',
  howThingsAreGoing: 'how-things-are-going',
  goalProgress: 'goal-progress',
  goal: 'goal',
  progress: 'progress',
  accessProblem: 'access-problem',
  accessProblemDetails: 'access-problem-details',
  nextStep: 'next-step',
} as const;

export const WELLBEING_QUESTIONS: readonly WellbeingQuestion[] = [
  'life-satisfaction',
  'worthwhile',
  'happiness',
  'anxiety',
];
export const MAX_GOALS = 5;
const TEXT_LIMIT = 1000;

/** SDC and core extensions the forms use (limits a renderer enforces and the connector checks). */
export const EXTENSION = {
  maxOccurs: 'http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs',
  minValue: 'http://hl7.org/fhir/StructureDefinition/minValue',
  maxValue: 'http://hl7.org/fhir/StructureDefinition/maxValue',
} as const;

const coding = ({ system, code, display }: Code): Coding => ({ system, code, display });
const options = (codes: Record<string, Code>) => Object.values(codes).map((c) => ({ valueCoding: coding(c) }));
const when = (question: string, answer: Code): Pick<QuestionnaireItem, 'enableWhen'> => ({
  enableWhen: [{ question, operator: '=', answerCoding: coding(answer) }],
});

/** The four ONS personal wellbeing questions, each 0 to 10, in a group. */
function wellbeingGroup(extra: Partial<QuestionnaireItem> = {}): QuestionnaireItem {
  return {
    linkId: ITEM.wellbeing,
    type: 'group',
    text: 'Personal wellbeing (ONS4): for each question, a score from 0 (not at all) to 10 (completely)',
    required: true,
    ...extra,
    item: WELLBEING_QUESTIONS.map((q) => ({
      linkId: q,
      type: 'integer',
      code: [coding(WELLBEING[q])],
      text: WELLBEING[q].definition.replace(/ \(0 to 10.*\)$/, ''),
      required: true,
      extension: [
        { url: EXTENSION.minValue, valueInteger: 0 },
        { url: EXTENSION.maxValue, valueInteger: 10 },
      ],
    })),
  };
}

function form(
  id: string,
  ref: { url: string; version: string },
  title: string,
  description: string,
  item: QuestionnaireItem[]
): Questionnaire {
  return {
    resourceType: 'Questionnaire',
    id,
    meta: { profile: [PROFILE.questionnaire] },
    url: ref.url,
    version: ref.version,
    name: id
      .split('-')
      .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
      .join(''),
    title,
    status: 'active',
    experimental: false,
    subjectType: ['Patient'],
    publisher: 'hfu-connector',
    description,
    item,
  };
}

/** The What Matters to Me conversation (step 3 of the guidance). */
export function conversationQuestionnaire(): Questionnaire {
  const agreed = when(ITEM.participation, PARTICIPATION.yes);
  return form(
    'hfu-what-matters-conversation',
    QUESTIONNAIRE.conversation,
    "'What Matters to Me' conversation",
    'What the patient and the allocated professional agreed: whether the patient takes part (participation is ' +
      'voluntary), what matters to them, up to five goals, the support agreed (each a referral), their personal ' +
      'wellbeing (ONS4) and when to check in next.',
    [
      {
        linkId: ITEM.participation,
        type: 'choice',
        text: 'Did the patient agree to take part?',
        required: true,
        answerOption: options(PARTICIPATION),
      },
      {
        linkId: ITEM.tryAgainAfter,
        type: 'date',
        text: 'When may they be asked again?',
        required: true,
        ...when(ITEM.participation, PARTICIPATION['not-now']),
      },
      {
        linkId: ITEM.whatMatters,
        type: 'text',
        text: 'What matters to them',
        required: true,
        maxLength: TEXT_LIMIT,
        ...agreed,
      },
      {
        linkId: ITEM.goals,
        type: 'group',
        text: 'Their goals (up to five)',
        repeats: true,
        extension: [{ url: EXTENSION.maxOccurs, valueInteger: MAX_GOALS }],
        ...agreed,
        item: [
          {
            linkId: ITEM.goalDescription,
            type: 'text',
            text: 'The goal, in their words',
            required: true,
            maxLength: 500,
          },
          { linkId: ITEM.goalWho, type: 'string', text: 'Who will help, or do it', required: true, maxLength: 200 },
          { linkId: ITEM.goalTargetDate, type: 'date', text: 'By when' },
        ],
      },
      {
        linkId: ITEM.support,
        type: 'choice',
        text: 'Support agreed (each is a referral)',
        repeats: true,
        answerOption: options(SUPPORT),
        ...agreed,
      },
      wellbeingGroup(agreed),
      { linkId: ITEM.nextCheckIn, type: 'date', text: 'Next check-in', ...agreed },
    ]
  );
}

/** A check-in (step 4 of the guidance). */
export function checkInQuestionnaire(): Questionnaire {
  return form(
    'hfu-check-in',
    QUESTIONNAIRE.checkIn,
    'Check-in',
    "How the patient is getting on: in their words, each goal's progress, any problem getting the support agreed, " +
      'their personal wellbeing (ONS4), and what happens next.',
    [
      {
        linkId: ITEM.howThingsAreGoing,
        type: 'text',
        text: 'How are things going?',
        required: true,
        maxLength: TEXT_LIMIT,
      },
      {
        linkId: ITEM.goalProgress,
        type: 'group',
        text: 'Progress with each goal',
        repeats: true,
        extension: [{ url: EXTENSION.maxOccurs, valueInteger: MAX_GOALS }],
        item: [
          { linkId: ITEM.goal, type: 'reference', text: 'The goal', required: true },
          {
            linkId: ITEM.progress,
            type: 'choice',
            text: 'Progress',
            required: true,
            answerOption: options(GOAL_PROGRESS),
          },
        ],
      },
      { linkId: ITEM.accessProblem, type: 'boolean', text: 'Any problem getting the support agreed?', required: true },
      {
        linkId: ITEM.accessProblemDetails,
        type: 'text',
        text: 'What was the problem?',
        maxLength: TEXT_LIMIT,
        enableWhen: [{ question: ITEM.accessProblem, operator: '=', answerBoolean: true }],
      },
      wellbeingGroup(),
      { linkId: ITEM.nextStep, type: 'choice', text: 'Next step', required: true, answerOption: options(NEXT_STEP) },
      { linkId: ITEM.nextCheckIn, type: 'date', text: 'Next check-in', ...when(ITEM.nextStep, NEXT_STEP.continue) },
    ]
  );
}

/** Both forms, as shipped in questionnaires/. */
export function questionnaires(): Questionnaire[] {
  return [conversationQuestionnaire(), checkInQuestionnaire()];
}

/** The form a response answers, by its `questionnaire` canonical (with or without `|version`). */
export function questionnaireFor(canonical: string | undefined): Questionnaire | undefined {
  const [url, version] = (canonical ?? '').split('|');
  return questionnaires().find((q) => q.url === url && (!version || version === q.version));
}
