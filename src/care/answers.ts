import type {
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import type { GoalProgress, NextStep, Participation, SupportKind, WellbeingQuestion } from '../vocabulary/care';
import { GOAL_PROGRESS, NEXT_STEP, PARTICIPATION, SUPPORT } from '../vocabulary/care';
import { ITEM, WELLBEING_QUESTIONS } from './questionnaires';

/** The ONS4 scores of one form, 0 to 10 each. */
export type Wellbeing = Record<WellbeingQuestion, number>;

export interface AgreedGoal {
  description: string;
  who: string;
  targetDate?: IsoDate;
}

/** What a What Matters to Me conversation recorded (read from a response already validated against its form). */
export interface ConversationAnswers {
  participation: Participation;
  tryAgainAfter?: IsoDate;
  whatMatters?: string;
  goals: AgreedGoal[];
  support: SupportKind[];
  wellbeing?: Wellbeing;
  nextCheckIn?: IsoDate;
}

export interface CheckInAnswers {
  howThingsAreGoing: string;
  /** Each goal's progress, by the reference the form gives (`Goal/id`). */
  goalProgress: { goal: string; progress: GoalProgress }[];
  accessProblem: boolean;
  accessProblemDetails?: string;
  wellbeing: Wellbeing;
  nextStep: NextStep;
  nextCheckIn?: IsoDate;
}

const answersOf = (
  items: readonly QuestionnaireResponseItem[] | undefined,
  linkId: string
): QuestionnaireResponseItemAnswer[] => (items ?? []).filter((i) => i.linkId === linkId).flatMap((i) => i.answer ?? []);
const first = (items: readonly QuestionnaireResponseItem[] | undefined, linkId: string) => answersOf(items, linkId)[0];
const groups = (items: readonly QuestionnaireResponseItem[] | undefined, linkId: string) =>
  (items ?? []).filter((i) => i.linkId === linkId);

/** The code of a coded answer, when it is one of `codes`. */
function codeOf<K extends string>(
  answer: QuestionnaireResponseItemAnswer | undefined,
  codes: Record<K, { code: string }>
): K | undefined {
  const code = answer?.valueCoding?.code;
  return code !== undefined && code in codes ? (code as K) : undefined;
}

function wellbeingOf(items: readonly QuestionnaireResponseItem[] | undefined): Wellbeing | undefined {
  const group = groups(items, ITEM.wellbeing)[0]?.item;
  const scores = WELLBEING_QUESTIONS.map((q) => first(group, q)?.valueInteger);
  if (scores.some((s) => s === undefined)) {
    return undefined;
  }
  return Object.fromEntries(WELLBEING_QUESTIONS.map((q, i) => [q, scores[i] as number])) as Wellbeing;
}

export function conversationAnswers(response: QuestionnaireResponse): ConversationAnswers {
  const items = response.item;
  return {
    participation: codeOf(first(items, ITEM.participation), PARTICIPATION) ?? 'declined',
    tryAgainAfter: first(items, ITEM.tryAgainAfter)?.valueDate,
    whatMatters: first(items, ITEM.whatMatters)?.valueString,
    goals: groups(items, ITEM.goals).map((g) => ({
      description: first(g.item, ITEM.goalDescription)?.valueString ?? '',
      who: first(g.item, ITEM.goalWho)?.valueString ?? '',
      targetDate: first(g.item, ITEM.goalTargetDate)?.valueDate,
    })),
    support: [
      ...new Set(
        answersOf(items, ITEM.support)
          .map((a) => codeOf(a, SUPPORT))
          .filter((s): s is SupportKind => Boolean(s))
      ),
    ],
    wellbeing: wellbeingOf(items),
    nextCheckIn: first(items, ITEM.nextCheckIn)?.valueDate,
  };
}

export function checkInAnswers(response: QuestionnaireResponse): CheckInAnswers {
  const items = response.item;
  const nextStep = codeOf(first(items, ITEM.nextStep), NEXT_STEP) ?? 'continue';
  return {
    howThingsAreGoing: first(items, ITEM.howThingsAreGoing)?.valueString ?? '',
    goalProgress: groups(items, ITEM.goalProgress).flatMap((g) => {
      const goal = first(g.item, ITEM.goal)?.valueReference?.reference;
      const progress = codeOf(first(g.item, ITEM.progress), GOAL_PROGRESS);
      return goal && progress ? [{ goal, progress }] : [];
    }),
    accessProblem: first(items, ITEM.accessProblem)?.valueBoolean ?? false,
    accessProblemDetails: first(items, ITEM.accessProblemDetails)?.valueString,
    wellbeing: wellbeingOf(items) as Wellbeing,
    nextStep,
    // The form asks for a date only when the plan continues: one given otherwise is not acted on.
    nextCheckIn: nextStep === 'continue' ? first(items, ITEM.nextCheckIn)?.valueDate : undefined,
  };
}
