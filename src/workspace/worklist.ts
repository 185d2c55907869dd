import type { Task } from '@medplum/fhirtypes';
import { proposedOwnerOf, mdtAllocation } from '../allocation';
import type { Programme } from '../criteria';
import { compareSeverity, reasonSentence } from '../criteria';
import { longDate } from '../dates';
import type { Episode, PatientInProgramme, Stage } from '../lifecycle';
import {
  hasBusinessStatus,
  isOpenTask,
  latestEscalationDecision,
  openEscalation,
  STAGES,
  standingOf,
  tierOfEpisode,
  unresolvedReallocation,
} from '../lifecycle';
import type { TierId } from '../vocabulary';
import { isTaskInput, RISK_CODE, TIER_CODE } from '../vocabulary';
import { InvalidInput } from './errors';
import type { OwnerLabels } from './owners';
import { maySee, patientPractice, patientSummary } from './people';
import type { KnownPatient, Snapshot } from './snapshot';
import type {
  Labelled,
  Practice,
  WorklistFilters,
  WorklistRow,
  WorklistSection,
  WorklistView,
  WorkspaceUser,
} from './types';

export const PAGE_SIZE = 50;

/**
 * The agenda's sections in the order the meeting takes them: first the enrolled patients whose care team asked the
 * MDT to review their plan at a check-in (their needs changed: the urgent ones).
 */
export const SECTIONS: readonly { section: WorklistSection; title: string }[] = [
  { section: 'escalated', title: 'Escalated by the care team' },
  { section: 'new', title: 'New candidates' },
  { section: 'deferred', title: 'Deferred from an earlier meeting' },
  { section: 'step-down', title: 'Step-down reviews due' },
  { section: 'awaiting-capacity', title: 'Accepted, waiting for capacity' },
];

/** The stages in plain English, for pages. */
export const STAGE_LABELS: Record<Stage, string> = {
  'under-review': 'Under review',
  undecided: 'Reviewed without a decision',
  accepted: 'Accepted',
  declined: 'Declined',
  enrolled: 'Enrolled',
  discharged: 'Discharged',
  closed: 'Closed',
};

/** Which section of the agenda a patient's latest episode puts them in, if any. */
export function sectionOf(episode: Episode, stage: Stage): WorklistSection | undefined {
  switch (stage) {
    case 'under-review':
      return episode.review && hasBusinessStatus(episode.review, 'deferred') ? 'deferred' : 'new';
    case 'undecided':
      return 'deferred';
    case 'accepted':
      return 'awaiting-capacity';
    case 'enrolled':
      // An escalation comes first: a patient also due a step-down review is shown once, as escalated.
      // So does a move the run could not follow (no professional named): the MDT is to say who.
      if (openEscalation(episode) || unresolvedReallocation(episode)) {
        return 'escalated';
      }
      return isOpenTask(episode.stepDown) ? 'step-down' : undefined;
    default:
      return undefined;
  }
}

export function tierLabel(tier: TierId | undefined): Labelled<TierId> | undefined {
  return tier ? { code: tier, label: TIER_CODE[tier].display } : undefined;
}

/** Every row of the agenda, in agenda order: worked out once per snapshot, filtered per user and request. */
export function worklistRows(
  snapshot: Snapshot,
  programme: Programme,
  labels: OwnerLabels,
  reviewOwner: string | undefined
): WorklistRow[] {
  if (snapshot.memo.rows) {
    return snapshot.memo.rows;
  }
  const bySection = new Map<WorklistSection, WorklistRow[]>(SECTIONS.map((s) => [s.section, []]));
  for (const place of snapshot.record.patients.values()) {
    const row = rowOf(snapshot, programme, labels, reviewOwner, place);
    if (row) {
      bySection.get(row.section)?.push(row);
    }
  }
  const ordered = SECTIONS.flatMap(({ section }) =>
    (bySection.get(section) ?? []).sort((a, b) => compareRows(snapshot, programme, a, b))
  );
  snapshot.memo.rows = ordered;
  return ordered;
}

function rowOf(
  snapshot: Snapshot,
  programme: Programme,
  labels: OwnerLabels,
  reviewOwner: string | undefined,
  place: PatientInProgramme
): WorklistRow | undefined {
  const { latest, stage } = standingOf(place);
  const section = latest && stage ? sectionOf(latest, stage) : undefined;
  const known = snapshot.known.get(place.patientId);
  if (!latest || !stage || !section) {
    return undefined;
  }
  const decision = known?.decision;
  const review = latest.review;
  const escalation = section === 'escalated' ? (openEscalation(latest) ?? unresolvedMove(latest)) : undefined;
  // The Task the MDT decides on: the escalation, the step-down review, else the episode's review.
  const stepDown = section === 'step-down' ? latest.stepDown : undefined;
  const decided = escalation?.task ?? stepDown ?? review;
  const risk = review?.input?.find((i) => isTaskInput(i, 'dominantRisk'))?.valueCodeableConcept?.coding?.[0]?.code;
  const owner = ownerOf(latest, reviewOwner);
  const tier = section === 'step-down' ? (decision?.qualifyingTier ?? tierOfEpisode(latest)) : tierOfEpisode(latest);
  return {
    // A patient whose record could not be read stays on the agenda (never silently dropped), under their id only;
    // with no known practice, only users who see every practice see them.
    patient: known?.patient
      ? patientSummary(known.patient, snapshot.asOf, snapshot.organisations)
      : { id: place.patientId, name: 'Record could not be read' },
    section,
    stage,
    ...(tier ? { tier: tierLabel(tier) } : {}),
    reason: escalation
      ? escalationReason(latest, escalation)
      : deferredSaid(stepDown, reasonOf(programme, snapshot, section, decision, review?.description)),
    riskFactors: programme.riskFactors
      .filter((r) => decision?.riskFactors.includes(r.id))
      .map((r) => ({ code: r.id, label: r.title })),
    ...(risk === 'clinical' || risk === 'psychosocial'
      ? { dominantRisk: { code: risk, label: RISK_CODE[risk].display } }
      : {}),
    ...(owner ? { proposedOwner: { reference: owner, label: labels.label(owner) } } : {}),
    ...(decided?.id ? { review: `Task/${decided.id}` } : {}),
  };
}

/**
 * An escalated patient's one line: at which check-in the care team asked, and when (the day the check-in was
 * recorded, else the day the connector opened the review); and whether an earlier meeting deferred it.
 */
function escalationReason(episode: Episode, escalation: NonNullable<ReturnType<typeof openEscalation>>): string {
  if (!openEscalation(episode)) {
    return 'The MDT chose to move this patient to another professional but did not say who: choose who takes over the care plan';
  }
  const checkIn = episode.checkIns.get(escalation.n);
  const on = checkIn?.executionPeriod?.end ?? checkIn?.lastModified ?? escalation.task.authoredOn;
  return deferredSaid(
    escalation.task,
    `Escalated by the care team at check-in ${escalation.n}${on ? ` on ${longDate(on)}` : ''}`
  );
}

/** The escalation decided as a move to nobody the run can follow (the latest decision), with its check-in. */
function unresolvedMove(episode: Episode): ReturnType<typeof openEscalation> {
  return unresolvedReallocation(episode) ? latestEscalationDecision(episode) : undefined;
}

/** An escalation's or step-down review's line says when an earlier meeting deferred it. */
function deferredSaid(task: Task | undefined, reason: string): string {
  return task && hasBusinessStatus(task, 'deferred') ? `${reason}; deferred at an earlier meeting` : reason;
}

/** The row's one line: the figures as of the snapshot; a step-down's say the criteria no longer hold. */
function reasonOf(
  programme: Programme,
  snapshot: Snapshot,
  section: WorklistSection,
  decision: KnownPatient['decision'],
  description: string | undefined
): string {
  if (!decision) {
    return description ?? ''; // the figures the run proposed them on, as it wrote them on the review
  }
  const figures = reasonSentence(programme, decision, snapshot.asOf);
  return section === 'step-down' ? `No longer meets the criteria: ${figures}` : figures;
}

/** Who owns, or is to own, the patient's care: allocated (the care plan's author), the MDT's choice, the proposal. */
export function ownerOf(episode: Episode, reviewOwner: string | undefined): string | undefined {
  const author = episode.carePlan?.author?.reference;
  if (author && /^(PractitionerRole|Practitioner|CareTeam)\//.test(author)) {
    return author;
  }
  return mdtAllocation(episode.review, reviewOwner) ?? proposedOwnerOf(episode.review);
}

/**
 * Within a section: new and deferred candidates by tier in the programme's order, then by its severity ranking
 * (the order capacity is filled in); escalations, step-down reviews and those waiting for capacity longest first.
 */
function compareRows(snapshot: Snapshot, programme: Programme, a: WorklistRow, b: WorklistRow): number {
  if (a.section === 'new' || a.section === 'deferred') {
    const tierIndex = (r: WorklistRow) => {
      const i = programme.tiers.findIndex((t) => t.id === r.tier?.code);
      return i < 0 ? programme.tiers.length : i;
    };
    const byTier = tierIndex(a) - tierIndex(b);
    if (byTier !== 0) {
      return byTier;
    }
    const da = snapshot.known.get(a.patient.id)?.decision;
    const db = snapshot.known.get(b.patient.id)?.decision;
    if (da && db) {
      return compareSeverity(programme.rankBy, da, db);
    }
    if (da || db) {
      return da ? -1 : 1;
    }
  }
  const since = (r: WorklistRow) => {
    const latest = standingOf(snapshot.record.patients.get(r.patient.id)).latest;
    const task =
      r.section === 'escalated'
        ? openEscalation(latest)?.task
        : r.section === 'step-down'
          ? latest?.stepDown
          : latest?.review;
    return task?.authoredOn ?? task?.lastModified ?? '';
  };
  const bySince = since(a).localeCompare(since(b));
  return bySince !== 0 ? bySince : a.patient.id.localeCompare(b.patient.id);
}

/** The worklist one user sees: their practices only, filtered, a page of 50, with counts before the filters. */
export function worklistView(
  allRows: readonly WorklistRow[],
  snapshot: Snapshot,
  programme: Programme,
  user: WorkspaceUser,
  filters: WorklistFilters
): WorklistView {
  checkFilters(user, programme, filters);
  const visible = allRows.filter((r) => maySee(user, r.patient.practice));
  const filtered = visible.filter(
    (r) =>
      (!filters.practice || r.patient.practice?.ods === filters.practice) &&
      (!filters.tier || r.tier?.code === filters.tier) &&
      (!filters.stage || r.stage === filters.stage || r.section === filters.stage)
  );
  const number = filters.page ?? 1;
  const pageRows = filtered.slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE);
  return {
    asOf: snapshot.asOf,
    counts: countsOf(visible),
    sections: SECTIONS.map(({ section, title }) => ({
      section,
      title,
      rows: pageRows.filter((r) => r.section === section),
    })),
    filters: { ...filters, page: number },
    options: {
      practices: practicesOf(snapshot, user),
      tiers: programme.tiers.map((t) => tierLabel(t.id) as Labelled<TierId>),
      stages: SECTIONS.map(({ section, title }) => ({ code: section, label: title })),
    },
    page: {
      number,
      size: PAGE_SIZE,
      rows: filtered.length,
      pages: Math.max(1, Math.ceil(filtered.length / PAGE_SIZE)),
    },
  };
}

function checkFilters(user: WorkspaceUser, programme: Programme, filters: WorklistFilters): void {
  if (filters.page !== undefined && (!Number.isInteger(filters.page) || filters.page < 1)) {
    throw new InvalidInput('page', 'a whole number from 1');
  }
  if (filters.tier && !programme.tiers.some((t) => t.id === filters.tier)) {
    throw new InvalidInput('tier', `one of ${programme.tiers.map((t) => t.id).join(', ')}`);
  }
  const stages = [...STAGES, ...SECTIONS.map((s) => s.section)] as string[];
  if (filters.stage && !stages.includes(filters.stage)) {
    throw new InvalidInput('stage', `one of ${stages.join(', ')}`);
  }
  if (filters.practice && user.practices && !user.practices.includes(filters.practice)) {
    throw new InvalidInput('practice', 'not one of your practices');
  }
}

function countsOf(rows: readonly WorklistRow[]): WorklistView['counts'] {
  const counts: WorklistView['counts'] = {
    escalated: 0,
    new: 0,
    deferred: 0,
    'step-down': 0,
    'awaiting-capacity': 0,
    total: rows.length,
    byTier: {},
  };
  for (const row of rows) {
    counts[row.section]++;
    if (row.tier) {
      counts.byTier[row.tier.code] = (counts.byTier[row.tier.code] ?? 0) + 1;
    }
  }
  return counts;
}

/** The practices the user may filter by: those of the programme's patients they may see. */
function practicesOf(snapshot: Snapshot, user: WorkspaceUser): Practice[] {
  const byOds = new Map<string, Practice>();
  for (const { patient } of snapshot.known.values()) {
    const practice = patient ? patientPractice(patient, snapshot.organisations) : undefined;
    if (practice?.ods && maySee(user, practice)) {
      byOds.set(practice.ods, practice);
    }
  }
  return [...byOds.values()].sort((a, b) => (a.ods as string).localeCompare(b.ods as string));
}
