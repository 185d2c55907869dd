import type { Task } from '@medplum/fhirtypes';
import type { Caseloads, WorkforceMember } from '../allocation';
import { dominantRisk, proposedOwnerOf } from '../allocation';
import type { Decision as CriteriaDecision, Programme, RuleExplanation } from '../criteria';
import { candidateSummary, exclusionTitle, explainDecision, reasonSentence, valuesInWords } from '../criteria';
import type { IsoDate } from '../dates';
import type { Episode, PatientInProgramme } from '../lifecycle';
import {
  episodeStage,
  escalationState,
  hasBusinessStatus,
  standingOf,
  stepDownState,
  tierOfEpisode,
} from '../lifecycle';
import type { PatientRecord } from '../mappings';
import type { RiskType } from '../vocabulary';
import { isTaskInput, RISK_CODE } from '../vocabulary';
import type { DecisionTarget } from './decide';
import { decisionTarget, DECLINE_REASONS, ownerRequired } from './decide';
import { evidenceTimeline } from './evidence';
import type { OwnerLabels } from './owners';
import { ownerOptions } from './owners';
import type {
  DecisionRecord,
  EpisodeHistory,
  PatientReview,
  PatientSummary,
  RuleInWords,
  WorkspaceUser,
} from './types';
import { ownerOf, tierLabel } from './worklist';

export interface ReviewInputs {
  programme: Programme;
  asOf: IsoDate;
  user: WorkspaceUser;
  summary: PatientSummary;
  record: PatientRecord;
  /** Undefined when the patient's data could not be evaluated (malformed). */
  decision?: CriteriaDecision;
  place?: PatientInProgramme;
  workforce: readonly WorkforceMember[];
  caseloads: Caseloads;
  labels: OwnerLabels;
  reviewOwner?: string;
}

/** The patient review page's content: why, the rules in words, the evidence, the history and the decision form. */
export function patientReview(inputs: ReviewInputs): PatientReview {
  const { programme, asOf, decision, place, user } = inputs;
  const { latest, stage } = standingOf(place);
  const review = latest?.review;
  const risk = riskOf(review) ?? (decision ? dominantRisk(programme, decision.facts) : 'clinical');
  const target = decisionTarget(latest, stage);
  const open = Boolean(target?.open && target.task.id);
  const rules = decision ? explainDecision(programme, decision) : {};
  const owner = latest ? ownerOf(latest, inputs.reviewOwner) : undefined;
  return {
    patient: inputs.summary,
    asOf,
    ...(stage ? { stage, episode: latest?.number } : {}),
    why: whyOf(programme, asOf, decision, latest),
    rules: {
      tiers: inWords(programme, rules.tiers),
      exclusions: inWords(programme, rules.exclusions, (id) => exclusionTitle(programme, id)),
      riskFactors: inWords(programme, rules.riskFactors),
    },
    riskFactors: programme.riskFactors
      .filter((r) => decision?.riskFactors.includes(r.id))
      .map((r) => ({ code: r.id, label: r.title })),
    dominantRisk: { code: risk, label: RISK_CODE[risk].display },
    evidence: decision
      ? evidenceTimeline(programme, decision, inputs.record)
      : { events: [], gpContactsByMonth: [], medicines: [], conditions: [], other: [] },
    history: (place?.episodes ?? []).map((e) => episodeHistory(e, inputs)).reverse(),
    ...(open && target && latest ? { review: openReview(target, latest) } : {}),
    decision: {
      allowed: open && user.role !== 'viewer',
      owners: ownerOptions(inputs.workforce, inputs.caseloads, risk, inputs.labels, proposedOwnerOf(review)),
      ownerRequired: ownerRequired({ workforce: inputs.workforce, caseloads: inputs.caseloads, risk }),
      declineReasons: DECLINE_REASONS,
      ...(owner ? { currentOwner: { reference: owner, label: inputs.labels.label(owner) } } : {}),
      moveOwners: ownerOptions(inputs.workforce, inputs.caseloads, 'any', inputs.labels, undefined).filter(
        (o) => o.reference !== owner
      ),
    },
  };
}

/** The review the MDT is to decide, with the version they saw (for If-Match); an escalation says when it was asked. */
function openReview(target: DecisionTarget, episode: Episode): NonNullable<PatientReview['review']> {
  const { task } = target;
  const checkIn = target.checkIn === undefined ? undefined : episode.checkIns.get(target.checkIn);
  const askedOn = checkIn?.executionPeriod?.end ?? checkIn?.lastModified ?? task.authoredOn;
  return {
    reference: `Task/${task.id}`,
    version: task.meta?.versionId ?? '',
    status: task.status,
    ...(task.businessStatus?.coding?.[0]?.code ? { businessStatus: task.businessStatus.coding[0].code } : {}),
    kind: target.kind,
    ...(target.kind === 'escalation' ? { checkIn: target.checkIn } : {}),
    ...(target.kind !== 'review' && askedOn ? { askedOn } : {}),
  };
}

function riskOf(review: Task | undefined): RiskType | undefined {
  const code = review?.input?.find((i) => isTaskInput(i, 'dominantRisk'))?.valueCodeableConcept?.coding?.[0]?.code;
  return code === 'clinical' || code === 'psychosocial' ? code : undefined;
}

function whyOf(
  programme: Programme,
  asOf: IsoDate,
  decision: CriteriaDecision | undefined,
  latest: Episode | undefined
): PatientReview['why'] {
  if (!decision) {
    return { candidate: false, reason: "The patient's record could not be evaluated: some of it is not valid FHIR." };
  }
  const tier = decision.tier ?? decision.qualifyingTier ?? tierOfEpisode(latest);
  const rule = programme.tiers.find((t) => t.id === decision.qualifyingTier);
  if (decision.tier) {
    return {
      candidate: true,
      tier: tierLabel(decision.tier),
      reason: reasonSentence(programme, decision, asOf),
      ...(rule ? { rule: candidateSummary(programme, decision, asOf) } : {}),
    };
  }
  const excluded = decision.excludedBy.map((id) => exclusionTitle(programme, id));
  return {
    candidate: false,
    ...(tier ? { tier: tierLabel(tier) } : {}),
    reason: excluded.length
      ? `Not a candidate now: ${excluded.join('; ')}. ${reasonSentence(programme, decision, asOf)}.`
      : `No longer meets the criteria: ${reasonSentence(programme, decision, asOf)}.`,
  };
}

function inWords(
  programme: Programme,
  rules: RuleExplanation[] | undefined,
  title: (id: string) => string | undefined = () => undefined
): RuleInWords[] {
  return (rules ?? []).map((r) => ({
    id: r.id,
    title: title(r.id) ?? r.title,
    holds: r.holds,
    values: valuesInWords(programme, r.values),
  }));
}

function episodeHistory(episode: Episode, inputs: ReviewInputs): EpisodeHistory {
  const review = episode.review;
  const owner = ownerOf(episode, inputs.reviewOwner);
  const tier = tierLabel(tierOfEpisode(episode));
  const ref = (r: { resourceType: string; id?: string } | undefined) =>
    r?.id ? `${r.resourceType}/${r.id}` : undefined;
  return {
    number: episode.number,
    stage: episodeStage(episode),
    ...(tier ? { tier } : {}),
    ...(review?.authoredOn ? { proposedOn: review.authoredOn } : {}),
    ...(owner ? { owner: { reference: owner, label: inputs.labels.label(owner) } } : {}),
    decisions: [
      ...decisionsOf(review),
      ...[...(episode.escalations ?? [])].sort(([a], [b]) => a - b).flatMap(([, task]) => escalationDecisions(task)),
      ...(episode.stepDown ? stepDownDecisions(episode.stepDown) : []),
    ],
    ...(ref(review) ? { review: ref(review) } : {}),
    ...(ref(episode.flag) ? { flag: ref(episode.flag) } : {}),
    ...(ref(episode.carePlan) ? { carePlan: ref(episode.carePlan) } : {}),
  };
}

/**
 * The MDT's decisions on a review, oldest first: each note the workspace wrote starts with the decision in words
 * (`noteText`), others are the MDT's own notes; a decision recorded elsewhere without a note shows as the review's
 * final status at its lastModified.
 */
function decisionsOf(review: Task | undefined): DecisionRecord[] {
  if (!review) {
    return [];
  }
  const records: DecisionRecord[] = (review.note ?? []).map((note) => ({
    action: NOTE_ACTIONS.find(([pattern]) => pattern.test(note.text))?.[1] ?? 'other',
    ...(note.authorReference?.display || note.authorString
      ? { by: note.authorReference?.display ?? note.authorString }
      : {}),
    ...(note.time ? { at: note.time } : {}),
    note: note.text,
  }));
  const final =
    review.status === 'rejected' || hasBusinessStatus(review, 'decline')
      ? 'decline'
      : review.status === 'accepted' || hasBusinessStatus(review, 'enrol')
        ? 'accept'
        : undefined;
  const reason = review.statusReason?.coding?.[0];
  const last = [...records].reverse().find((r) => r.action === final);
  if (final && !last) {
    records.push({ action: final, ...(review.lastModified ? { at: review.lastModified } : {}) });
  }
  if (final === 'decline' && reason?.code) {
    const target = records.filter((r) => r.action === 'decline').pop();
    if (target) {
      target.reason = { code: reason.code, label: reason.display ?? reason.code };
    }
  }
  return records;
}

/** A decision note's first word (`noteText` in decide.ts), and the decision it records. */
const NOTE_ACTIONS: [RegExp, DecisionRecord['action']][] = [
  [/^Accepted\b/, 'accept'],
  [/^Declined\b/, 'decline'],
  [/^Deferred\b/, 'defer'],
  [/^Kept\b/, 'continue'],
  [/^Moved\b/, 'move'],
  [/^Discharged\b/, 'discharge'],
  [/^Stepped down\b/, 'step-down'],
];

const ESCALATION_ACTION = { 'continue-plan': 'continue', reallocate: 'move', discharge: 'discharge' } as const;

/**
 * The MDT's decisions on an escalation, oldest first: the notes as on a review, and a decision recorded elsewhere
 * without a note as its outcome at its lastModified.
 */
function escalationDecisions(task: Task): DecisionRecord[] {
  const state = escalationState(task);
  return withOutcome(task, state === 'open' || state === 'closed' ? undefined : ESCALATION_ACTION[state]);
}

/** The MDT's decisions on a step-down review, as on an escalation. */
function stepDownDecisions(task: Task): DecisionRecord[] {
  const state = stepDownState(task);
  return withOutcome(task, state === 'open' || state === 'closed' ? undefined : STEP_DOWN_ACTION[state]);
}

const STEP_DOWN_ACTION = { 'step-down': 'step-down', 'continue-plan': 'continue' } as const;

/** The notes on an MDT review, and its outcome at its lastModified when no note records it. */
function withOutcome(task: Task, action: DecisionRecord['action'] | undefined): DecisionRecord[] {
  const records = decisionsOf(task);
  if (!action) {
    return records;
  }
  return records.some((r) => r.action === action)
    ? records
    : [...records, { action, ...(task.lastModified ? { at: task.lastModified } : {}) }];
}
