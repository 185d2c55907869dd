import type { Questionnaire, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { londonDay } from '../dates';
import type { FhirClient, SourceReferences } from '../fhir';
import type { Episode, EpisodeForms, ProgrammeRecord } from '../lifecycle';
import { standingOf, unresolvedReallocation } from '../lifecycle';
import { QUESTIONNAIRE } from '../vocabulary';
import { checkInAnswers, conversationAnswers } from './answers';
import { checkInQuestionnaire, conversationQuestionnaire, questionnaireFor } from './questionnaires';
import { validateResponse } from './validate';

/** A completed conversation or check-in Task whose form the run could not use: by reference and code only. */
export interface UnprocessableForm {
  task: string;
  reason: string;
}

const RESPONSES_PER_SEARCH = 50;

/**
 * Reads the care team's completed forms: for each patient's latest episode with a care plan in force, the
 * QuestionnaireResponse each completed conversation (latest attempt) and check-in Task references from its output,
 * checked against its form, attached to the episode (`forms`) for the lifecycle to react to. A Task completed
 * without a form is left as before (the check-ins follow the programme's cadence). Returns the unusable ones, and
 * any escalation decided as a move that names no professional to move the patient to (nothing is moved).
 */
export async function readCareForms(
  client: FhirClient,
  record: ProgrammeRecord,
  source: SourceReferences,
  signal?: AbortSignal
): Promise<UnprocessableForm[]> {
  const episodes = [...record.patients.values()]
    .map((p) => ({ patientId: p.patientId, episode: standingOf(p).latest }))
    .filter((e): e is { patientId: string; episode: Episode } => e.episode?.carePlan?.status === 'active');
  const wanted = episodes.flatMap(({ episode }) => formTasks(episode).flatMap(({ task }) => responseId(task) ?? []));
  const responses = await fetchResponses(client, wanted, signal);
  const unprocessable: UnprocessableForm[] = [];
  for (const { patientId, episode } of episodes) {
    const forms = formsOf(patientId, episode, responses, source);
    episode.forms = forms;
    unprocessable.push(...forms.unprocessable);
    // Not the forms': a move to nobody the run can follow leaves the rest of the plan to go on (src/lifecycle).
    const moved = unresolvedReallocation(episode);
    if (moved) {
      unprocessable.push(moved);
    }
  }
  return unprocessable;
}

/**
 * The completed Tasks with a form (an output referencing a QuestionnaireResponse): the latest conversation attempt,
 * and the check-ins by number. Other outputs are the platform's business.
 */
function formTasks(episode: Episode): { task: Task; n?: number }[] {
  const done = (t: Task | undefined): t is Task => t?.status === 'completed' && Boolean(t.id);
  return [
    ...(done(episode.conversation) ? [{ task: episode.conversation }] : []),
    ...[...episode.checkIns.entries()].filter(([, t]) => done(t)).map(([n, task]) => ({ task, n })),
  ].filter(({ task }) => responseId(task) !== undefined);
}

/** The QuestionnaireResponse a completed Task's output references (SDC's questionnaire-response output). */
function responseId(task: Task): string | undefined {
  const ref = task.output?.map((o) => o.valueReference?.reference).find((r) => r?.startsWith('QuestionnaireResponse/'));
  return ref?.slice('QuestionnaireResponse/'.length);
}

async function fetchResponses(
  client: FhirClient,
  ids: readonly string[],
  signal?: AbortSignal
): Promise<Map<string, QuestionnaireResponse>> {
  const found = new Map<string, QuestionnaireResponse>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += RESPONSES_PER_SEARCH) {
    const batch = unique.slice(i, i + RESPONSES_PER_SEARCH);
    const page = await client.searchAll<QuestionnaireResponse>(
      'QuestionnaireResponse',
      { _id: batch.join(',') },
      signal
    );
    page.filter((r) => r.id).forEach((r) => found.set(r.id as string, r));
  }
  return found;
}

function formsOf(
  patientId: string,
  episode: Episode,
  responses: ReadonlyMap<string, QuestionnaireResponse>,
  source: SourceReferences
): EpisodeForms {
  const forms: EpisodeForms = { checkIns: new Map(), unprocessable: [] };
  const goalRefs = new Set([...(episode.goals?.values() ?? [])].map((g) => `Goal/${g.id}`));
  for (const { task, n } of formTasks(episode)) {
    const expected = n === undefined ? conversationQuestionnaire() : checkInQuestionnaire();
    const id = responseId(task);
    const response = id ? responses.get(id) : undefined;
    const reason = problemWith(
      response,
      expected,
      source.patientId(response?.subject?.reference) === patientId,
      goalRefs
    );
    const ref = `Task/${task.id}`;
    if (reason || !response) {
      forms.unprocessable.push({ task: ref, reason: reason ?? 'form-not-found' });
      continue;
    }
    const completedOn = completionDay(task, response);
    if (!completedOn) {
      forms.unprocessable.push({ task: ref, reason: 'no-completion-date' });
      continue;
    }
    if (n === undefined) {
      const { participation, tryAgainAfter, nextCheckIn } = conversationAnswers(response);
      forms.conversation = { task: ref, response, completedOn, participation, tryAgainAfter, nextCheckIn };
    } else {
      const { nextStep, nextCheckIn } = checkInAnswers(response);
      forms.checkIns.set(n, { task: ref, response, completedOn, nextStep, nextCheckIn });
    }
  }
  return forms;
}

/** Why a response cannot be used, as a code (with the item's linkId); undefined when it can. */
function problemWith(
  response: QuestionnaireResponse | undefined,
  expected: Questionnaire,
  forThePatient: boolean,
  goalRefs: ReadonlySet<string>
): string | undefined {
  if (!response) {
    return 'form-not-found';
  }
  if (questionnaireFor(response.questionnaire)?.url !== expected.url) {
    return 'wrong-form';
  }
  if (response.status !== 'completed' && response.status !== 'amended') {
    return 'form-not-completed';
  }
  if (!forThePatient) {
    return 'wrong-patient';
  }
  const issues = validateResponse(expected, response);
  if (issues.length) {
    return issues.map((i) => `${i.code}:${i.linkId}`).join(',');
  }
  if (expected.url === QUESTIONNAIRE.checkIn.url) {
    const unknown = checkInAnswers(response).goalProgress.some((g) => !goalRefs.has(g.goal));
    return unknown ? 'unknown-goal:goal' : undefined;
  }
  return undefined;
}

/** The day the form was completed: the Task's end, else its last change, else when the form was authored. */
function completionDay(task: Task, response: QuestionnaireResponse): IsoDate | undefined {
  return londonDay(task.executionPeriod?.end ?? task.lastModified ?? response.authored ?? task.meta?.lastUpdated);
}
