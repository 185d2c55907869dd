import type { CarePlan, Task } from '@medplum/fhirtypes';
import type { WorkforceMember } from '../config';
import type { IsoDate } from '../dates';
import { londonDay } from '../dates';
import type { Episode, ProgrammeRecord, Stage } from '../lifecycle';
import { episodeStage, isOpenStage, tierOfEpisode } from '../lifecycle';
import { patientIdOfReference } from '../fhir';
import { CODE_SYSTEM } from '../vocabulary';
import { median, round } from './stats';

/** What happened in the programme in one month, in one tier: each event counted in the month it happened. */
export interface FlowMonth {
  month: string;
  tier: string;
  proposals: number;
  accepted: number;
  declinedByMdt: number;
  declinedByPatient: number;
  enrolled: number;
  steppedDown: number;
  discharged: number;
  reEntered: number;
}

export type FlowEvent = Exclude<keyof FlowMonth, 'month' | 'tier'>;

export interface ProgrammeFlow {
  /** Patients by the stage their latest episode is at now. */
  stages: Partial<Record<Stage, number>>;
  byMonth: FlowMonth[];
  totals: Record<FlowEvent, number>;
  medianDaysProposalToDecision: number | null;
  medianDaysAcceptanceToConversation: number | null;
  /** Patients in an open episode (under review, accepted, enrolled) by the role of who owns their care; else unallocated. */
  caseloadByRole: Record<string, number>;
}

/** The first enrolment date (the care plan's start) of each patient enrolled on or before `latest`. */
export function enrolmentDates(record: ProgrammeRecord, latest: IsoDate): Map<string, IsoDate> {
  const dates = new Map<string, IsoDate>();
  for (const patient of record.patients.values()) {
    const enrolled = patient.episodes.map((e) => carePlanStart(e.carePlan)).find((d) => d !== undefined);
    if (enrolled && enrolled <= latest) {
      dates.set(patient.patientId, enrolled);
    }
  }
  return dates;
}

/**
 * The lottery's comparison group: the candidates of each draw that enrolled a patient (listed on its review Task,
 * `lottery-candidate`) who were not drawn, each from the enrolment date of that draw's patients. A candidate with any
 * episode in the record was drawn (or offered a place later, when one freed): left out.
 */
export function lotteryWaitlisted(
  record: ProgrammeRecord,
  enrolled: ReadonlyMap<string, IsoDate>
): Map<string, IsoDate> {
  const waitlisted = new Map<string, IsoDate>();
  for (const [patientId, date] of enrolled) {
    const episode = record.patients.get(patientId)?.episodes.find((e) => carePlanStart(e.carePlan) === date);
    for (const input of episode?.review?.input ?? []) {
      const isCandidate = input.type.coding?.some(
        (c) => c.system === CODE_SYSTEM.taskInput && c.code === LOTTERY_CANDIDATE
      );
      const candidate = isCandidate ? patientIdOfReference(input.valueReference?.reference) : undefined;
      if (candidate && !record.patients.has(candidate) && (waitlisted.get(candidate) ?? '9999') > date) {
        waitlisted.set(candidate, date);
      }
    }
  }
  return waitlisted;
}

const LOTTERY_CANDIDATE = 'lottery-candidate';

/** The programme's flow, read from its own Flags, Tasks and CarePlans. */
export function programmeFlow(record: ProgrammeRecord, workforce: readonly WorkforceMember[]): ProgrammeFlow {
  const months = new Map<string, FlowMonth>();
  const stages: Partial<Record<Stage, number>> = {};
  const toDecision: number[] = [];
  const toConversation: number[] = [];
  const caseload: Record<string, number> = {};
  const roleOf = new Map(workforce.map((w) => [w.reference, w.role as string]));
  const note = (day: IsoDate | undefined, tier: string, event: FlowEvent) => {
    if (!day) {
      return;
    }
    const key = `${day.slice(0, 7)}|${tier}`;
    const month = months.get(key) ?? { month: day.slice(0, 7), tier, ...emptyCounts() };
    month[event]++;
    months.set(key, month);
  };
  for (const patient of record.patients.values()) {
    for (const episode of patient.episodes) {
      const tier = tierOfEpisode(episode) ?? 'unknown';
      const events = episodeEvents(episode);
      events.forEach(([day, event]) => note(day, tier, event));
      if (episode.number > 1) {
        note(proposedOn(episode), tier, 'reEntered');
      }
      const proposed = proposedOn(episode);
      const decided = decidedOn(episode);
      if (proposed && decided) {
        toDecision.push(daysBetween(proposed, decided));
      }
      const conversation = episode.conversation;
      const talked = conversation?.status === 'completed' ? finishedOn(conversation) : undefined;
      if (decided && talked && episodeStage(episode) !== 'declined') {
        toConversation.push(daysBetween(decided, talked));
      }
    }
    const latest = patient.episodes[patient.episodes.length - 1];
    if (latest) {
      const stage = episodeStage(latest);
      stages[stage] = (stages[stage] ?? 0) + 1;
      if (isOpenStage(stage)) {
        const owner = latest.conversation?.owner?.reference ?? carePlanOwner(latest.carePlan);
        const role = (owner && roleOf.get(owner)) ?? 'unallocated';
        caseload[role] = (caseload[role] ?? 0) + 1;
      }
    }
  }
  const byMonth = [...months.values()].sort((a, b) => a.month.localeCompare(b.month) || a.tier.localeCompare(b.tier));
  const totals = emptyCounts();
  byMonth.forEach((m) => (Object.keys(totals) as FlowEvent[]).forEach((k) => (totals[k] += m[k])));
  const medianOf = (values: number[]) => {
    const m = median(values);
    return m === null ? null : round(m, 1);
  };
  return {
    stages,
    byMonth,
    totals,
    medianDaysProposalToDecision: medianOf(toDecision),
    medianDaysAcceptanceToConversation: medianOf(toConversation),
    caseloadByRole: caseload,
  };
}

function emptyCounts(): Record<FlowEvent, number> {
  return {
    proposals: 0,
    accepted: 0,
    declinedByMdt: 0,
    declinedByPatient: 0,
    enrolled: 0,
    steppedDown: 0,
    discharged: 0,
    reEntered: 0,
  };
}

/** Each thing that happened in the episode, on the day the record dates it. */
function episodeEvents(episode: Episode): [IsoDate | undefined, FlowEvent][] {
  const events: [IsoDate | undefined, FlowEvent][] = [[proposedOn(episode), 'proposals']];
  const stage = episodeStage(episode);
  if (stage === 'declined') {
    events.push([decidedOn(episode), 'declinedByMdt']);
  } else if (stage === 'accepted' || stage === 'enrolled' || stage === 'discharged') {
    events.push([decidedOn(episode), 'accepted']);
  }
  const plan = episode.carePlan;
  if (plan && plan.status !== 'entered-in-error') {
    events.push([carePlanStart(plan), 'enrolled']);
  }
  if (declinedByPatient(episode)) {
    events.push([finishedOn(episode.conversation as Task), 'declinedByPatient']);
  }
  if (episode.stepDown) {
    events.push([londonDay(episode.stepDown.authoredOn), 'steppedDown']);
  }
  if (stage === 'discharged') {
    events.push([londonDay(plan?.period?.end ?? plan?.meta?.lastUpdated), 'discharged']);
  }
  return events;
}

/** The patient said no to the conversation: it was rejected, or cancelled as their care plan was revoked. */
function declinedByPatient(episode: Episode): boolean {
  const status = episode.conversation?.status;
  return status === 'rejected' || (status === 'cancelled' && episode.carePlan?.status === 'revoked');
}

function proposedOn(episode: Episode): IsoDate | undefined {
  return londonDay(episode.review?.authoredOn);
}

function decidedOn(episode: Episode): IsoDate | undefined {
  const review = episode.review;
  const stage = episodeStage(episode);
  if (!review || stage === 'under-review' || stage === 'closed') {
    return undefined;
  }
  return finishedOn(review);
}

function finishedOn(task: Task): IsoDate | undefined {
  return londonDay(task.executionPeriod?.end ?? task.lastModified ?? task.meta?.lastUpdated);
}

function carePlanStart(plan: CarePlan | undefined): IsoDate | undefined {
  return plan && plan.status !== 'entered-in-error' ? londonDay(plan.period?.start) : undefined;
}

function carePlanOwner(plan: CarePlan | undefined): string | undefined {
  const author = plan?.author?.reference;
  return author?.startsWith('Device/') ? undefined : author;
}

function daysBetween(from: IsoDate, to: IsoDate): number {
  return Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000);
}
