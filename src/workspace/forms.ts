import type {
  Goal,
  Observation,
  Questionnaire,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import type { AnswerIssue } from '../care';
import { checkInQuestionnaire, conversationQuestionnaire, ITEM } from '../care';
import type { Episode } from '../lifecycle';
import { isOpenTask } from '../lifecycle';
import { CANONICAL_BASE, PROFILE } from '../vocabulary';

/** Which of the care team's forms: the What Matters to Me conversation, or check-in number n. */
export type CareFormKind = { kind: 'conversation' } | { kind: 'check-in'; n: number };

/** A goal of the plan as the forms and the patient page show it. */
export interface PlanGoal {
  reference: string;
  description: string;
  /** The goal's lifecycle and achievement, in words ("Active", "In progress"). */
  status: string;
  achievement?: string;
}

/** The plan as it stands: goals with progress, referrals with status, ONS4 scores by date (oldest first). */
export interface PlanView {
  goals: PlanGoal[];
  referrals: { reference: string; support: string; status: string }[];
  wellbeing: { date: string; scores: { question: string; label: string; value: number }[] }[];
  /** The care team's open forms for this episode, with where to record them. */
  openForms: { kind: CareFormKind; label: string; due?: string; path: string }[];
}

/** A form to show: the Questionnaire, the Task it completes (with its version for If-Match), the goals a check-in asks about. */
export interface CareFormView {
  form: CareFormKind;
  questionnaire: Questionnaire;
  task: { reference: string; version: string };
  /** The Task is still to do (else the form was recorded, or the episode moved on). */
  open: boolean;
  goals: PlanGoal[];
}

export type CareFormResult =
  | { kind: 'done'; response: string; task: { reference: string; version: string }; refreshed: boolean }
  | { kind: 'invalid'; issues: AnswerIssue[] }
  | { kind: 'conflict'; by?: string; at?: string };

/** The Task a form completes in this episode, if there is one. */
export function formTask(episode: Episode | undefined, form: CareFormKind): Task | undefined {
  return form.kind === 'conversation' ? episode?.conversation : episode?.checkIns.get(form.n);
}

export function questionnaireOf(form: CareFormKind): Questionnaire {
  return form.kind === 'conversation' ? conversationQuestionnaire() : checkInQuestionnaire();
}

/** The path of a form's page. */
export function formPath(patientId: string, form: CareFormKind): string {
  const base = `/mdt/patients/${encodeURIComponent(patientId)}`;
  return form.kind === 'conversation' ? `${base}/conversation` : `${base}/check-ins/${form.n}`;
}

/** Names the Task version a response the workspace saved completes (one response per version, however often sent). */
export const FORM_IDENTIFIER = `${CANONICAL_BASE}/Id/workspace-form`;

/**
 * The QuestionnaireResponse the workspace saves for the signed-in user: the Task's form (its canonical), the patient
 * as the record refers to them, the user as author. Its identifier names the Task version it completes: it is
 * created only if none has it (`If-None-Exist`), so a repeated or concurrent request never writes a second one nor
 * changes the first.
 */
export function formResponse(args: {
  task: Task;
  canonical: string;
  subject: string;
  author: QuestionnaireResponse['author'];
  items: QuestionnaireResponseItem[];
  now: string;
}): QuestionnaireResponse {
  const { task, canonical, subject, author, items, now } = args;
  return {
    resourceType: 'QuestionnaireResponse',
    meta: { profile: [PROFILE.questionnaireResponse] },
    identifier: { system: FORM_IDENTIFIER, value: `Task/${task.id}/_history/${task.meta?.versionId}` },
    questionnaire: canonical,
    status: 'completed',
    subject: { reference: subject },
    authored: now,
    ...(author ? { author } : {}),
    item: items,
  };
}

const SDC_TEMP = 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp';

/** The Task completed by the form: status, when, and the response as its output (SDC's questionnaire-response). */
export function completedTask(task: Task, response: string, now: string): Task {
  return {
    ...task,
    status: 'completed',
    lastModified: now,
    executionPeriod: { ...task.executionPeriod, start: task.executionPeriod?.start ?? now, end: now },
    output: [
      ...(task.output ?? []).filter((o) => !o.valueReference?.reference?.startsWith('QuestionnaireResponse/')),
      {
        type: {
          coding: [{ system: SDC_TEMP, code: 'questionnaire-response', display: 'Questionnaire Response' }],
        },
        valueReference: { reference: response },
      },
    ],
  };
}

/** The canonical (url|version) the Task's input names, else the form's own. */
export function canonicalOf(task: Task, questionnaire: Questionnaire): string {
  const given = task.input?.map((i) => i.valueCanonical).find((c) => c?.split('|')[0] === questionnaire.url);
  return given ?? `${questionnaire.url}|${questionnaire.version}`;
}

/** The check-in's questions about goals need the goals: those of the episode still being worked on. */
export function planGoals(episode: Episode | undefined): PlanGoal[] {
  return [...(episode?.goals?.entries() ?? [])].sort(([a], [b]) => a - b).flatMap(([, g]) => (g.id ? [goalOf(g)] : []));
}

function goalOf(goal: Goal): PlanGoal {
  const achievement = goal.achievementStatus?.coding?.[0]?.display ?? goal.achievementStatus?.text;
  return {
    reference: `Goal/${goal.id}`,
    description: goal.description?.text ?? 'Goal',
    status: words(goal.lifecycleStatus),
    ...(achievement ? { achievement } : {}),
  };
}

const words = (code: string | undefined): string =>
  code ? (code.charAt(0).toUpperCase() + code.slice(1)).replace(/-/g, ' ') : 'Not recorded';

/** The plan of the episode as the record holds it now. */
export function planView(patientId: string, episode: Episode | undefined): PlanView {
  const referrals = [...(episode?.referrals?.entries() ?? [])]
    .sort(([a], [b]) => a - b)
    .flatMap(([, r]: [number, ServiceRequest]) =>
      r.id
        ? [
            {
              reference: `ServiceRequest/${r.id}`,
              support: r.code?.text ?? r.code?.coding?.[0]?.display ?? 'Referral',
              status: words(r.status),
            },
          ]
        : []
    );
  const wellbeing = [...(episode?.wellbeing?.values() ?? [])]
    .map((o: Observation) => ({
      date: o.effectiveDateTime ?? '',
      scores: (o.component ?? []).map((c) => ({
        question: c.code.coding?.[0]?.code ?? '',
        label: c.code.coding?.[0]?.display ?? '',
        value: c.valueInteger ?? 0,
      })),
    }))
    .sort((a, b) => a.date.localeCompare(b.date));
  return { goals: planGoals(episode), referrals, wellbeing, openForms: openForms(patientId, episode) };
}

function openForms(patientId: string, episode: Episode | undefined): PlanView['openForms'] {
  const forms: PlanView['openForms'] = [];
  const due = (t: Task) => t.restriction?.period?.end ?? t.restriction?.period?.start;
  if (isOpenTask(episode?.conversation)) {
    const form: CareFormKind = { kind: 'conversation' };
    const date = due(episode.conversation);
    forms.push({
      kind: form,
      label: "'What Matters to Me' conversation",
      path: formPath(patientId, form),
      ...(date ? { due: date } : {}),
    });
  }
  for (const [n, task] of [...(episode?.checkIns.entries() ?? [])].sort(([a], [b]) => a - b)) {
    if (isOpenTask(task)) {
      const form: CareFormKind = { kind: 'check-in', n };
      const date = due(task);
      forms.push({
        kind: form,
        label: `Check-in ${n}`,
        path: formPath(patientId, form),
        ...(date ? { due: date } : {}),
      });
    }
  }
  return forms;
}

/** Goal references a check-in's answers name that are not the episode's goals (a tampered form). */
export function unknownGoals(items: readonly QuestionnaireResponseItem[], goals: readonly PlanGoal[]): AnswerIssue[] {
  const known = new Set(goals.map((g) => g.reference));
  return items
    .filter((i) => i.linkId === ITEM.goalProgress)
    .flatMap((g) => g.item ?? [])
    .filter((i) => i.linkId === ITEM.goal && !known.has(i.answer?.[0]?.valueReference?.reference ?? ''))
    .map(() => ({ linkId: ITEM.goal, code: 'not-an-option' as const }));
}
