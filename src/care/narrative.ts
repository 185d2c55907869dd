import type { CarePlan, Goal } from '@medplum/fhirtypes';
import { addDays, longDate } from '../dates';
import type { CompletedForm } from '../lifecycle';
import { GOAL_PROGRESS, NEXT_STEP, SUPPORT, WELLBEING } from '../vocabulary/care';
import type { CheckInAnswers, ConversationAnswers, Wellbeing } from './answers';
import { WELLBEING_QUESTIONS } from './questionnaires';

export interface NarrativeInputs {
  agreed: ConversationAnswers;
  conversation: CompletedForm;
  checkIns: readonly { form: CompletedForm; answers: CheckInAnswers }[];
  goals: readonly Goal[];
  checkInEveryDays: number;
}

/**
 * The care plan as a person reads it, in the sections of the PRSB Personalised Care and Support Plan standard:
 * about me, what matters to me, my goals, support and actions, contacts, review date. For systems that show only
 * the narrative; built from the forms alone, so it reads the same on every run.
 */
export function carePlanNarrative(plan: CarePlan, inputs: NarrativeInputs): string {
  const { agreed, checkIns } = inputs;
  const latest = checkIns[checkIns.length - 1];
  const sections: [string, string[]][] = [
    ['About me', aboutMe(agreed, latest)],
    ['What matters to me', [agreed.whatMatters ?? '']],
    ['My goals', inputs.goals.map(goalLine)],
    ['Support and actions', supportLines(agreed, latest?.answers)],
    ['Contacts', contactLines(plan, inputs.conversation)],
    ['Review date', [reviewLine(inputs)]],
  ];
  const body = sections.map(([heading, lines]) => `<h2>${heading}</h2>${list(lines.filter(Boolean))}`).join('');
  return `<div xmlns="http://www.w3.org/1999/xhtml"><h1>${escape(plan.title ?? 'Personalised care and support plan')}</h1>${body}</div>`;
}

function list(lines: readonly string[]): string {
  return lines.length ? `<ul>${lines.map((l) => `<li>${escape(l)}</li>`).join('')}</ul>` : '<p>Nothing recorded.</p>';
}

function aboutMe(
  agreed: ConversationAnswers,
  latest: { form: CompletedForm; answers: CheckInAnswers } | undefined
): string[] {
  const wellbeing = latest?.answers.wellbeing ?? agreed.wellbeing;
  const on = latest?.form.completedOn;
  return [
    ...(latest
      ? [`How things are going (${longDate(latest.form.completedOn)}): ${latest.answers.howThingsAreGoing}`]
      : []),
    ...(wellbeing ? [`My wellbeing${on ? ` on ${longDate(on)}` : ''}, 0 to 10: ${scores(wellbeing)}`] : []),
  ];
}

function scores(wellbeing: Wellbeing): string {
  return WELLBEING_QUESTIONS.map((q) => `${WELLBEING[q].display.toLowerCase()} ${wellbeing[q]}`).join(', ');
}

const PROGRESS_TEXT: Record<string, string> = {
  achieved: GOAL_PROGRESS.achieved.display,
  'in-progress': GOAL_PROGRESS.progressing.display,
  'no-progress': GOAL_PROGRESS['not-started'].display,
};

/** "Walk to the allotment twice a week (progressing); by 31 January 2027; Who will help, or do it: me". */
function goalLine(goal: Goal): string {
  const due = goal.target?.[0]?.dueDate;
  const status =
    goal.lifecycleStatus === 'cancelled'
      ? GOAL_PROGRESS['no-longer-relevant'].display
      : (PROGRESS_TEXT[goal.achievementStatus?.coding?.[0]?.code ?? ''] ?? 'Agreed');
  const parts = [
    `${goal.description.text ?? ''} (${status.toLowerCase()})`,
    due ? `by ${longDate(due)}` : '',
    goal.note?.[0]?.text ?? '',
  ];
  return parts.filter(Boolean).join('; ');
}

function supportLines(agreed: ConversationAnswers, latest: CheckInAnswers | undefined): string[] {
  return [
    ...agreed.support.map((kind) => `Referral: ${SUPPORT[kind].display}`),
    ...(latest?.accessProblem
      ? [`A problem getting the support: ${latest.accessProblemDetails ?? 'recorded at the last check-in'}`]
      : []),
    ...(latest ? [`Next step: ${NEXT_STEP[latest.nextStep].display}`] : []),
  ];
}

function contactLines(plan: CarePlan, conversation: CompletedForm): string[] {
  const owner = plan.author?.display ?? plan.author?.reference;
  const author = conversation.response.author;
  const recorded = author?.display ?? author?.reference;
  return [
    ...(owner ? [`My named professional: ${owner}`] : []),
    ...(recorded && recorded !== owner ? [`Conversation recorded by: ${recorded}`] : []),
  ];
}

function reviewLine({ agreed, conversation, checkIns, checkInEveryDays }: NarrativeInputs): string {
  const latest = checkIns[checkIns.length - 1];
  if (latest && (latest.answers.nextStep === 'step-down' || latest.answers.nextStep === 'discharge')) {
    return `The plan ended on ${longDate(latest.form.completedOn)}: ${NEXT_STEP[latest.answers.nextStep].display.toLowerCase()}.`;
  }
  const next = latest
    ? (latest.answers.nextCheckIn ?? addDays(latest.form.completedOn, checkInEveryDays))
    : (agreed.nextCheckIn ?? addDays(conversation.completedOn, checkInEveryDays));
  return `Next check-in: ${longDate(next)}`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
