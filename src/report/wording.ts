import type { Report, TypologyRow } from './build';

/** Plain-English names for the report's keys: what a commissioner reads, never the code names. */
export const OUTCOME_LABELS: Record<string, string> = {
  gpEncounters: 'GP practice contacts',
  edAttendances: 'A&E attendances',
  unplannedAdmissions: 'Emergency admissions',
  emergencyAdmissions: 'Emergency admissions',
};

export const TYPOLOGY_LABELS: Record<TypologyRow, string> = {
  mentalHealth: 'Mental health condition',
  twoOrMoreConditions: '2 or more long-term conditions',
  noLongTermCondition: 'No coded long-term condition',
  under60: 'Aged under 60',
  twoOrMoreEdAttendances: '2 or more A&E attendances',
  carer: 'Carer',
};

export function PERSISTENCE_LABELS(topN: number): Record<string, string> {
  return {
    top1: 'Top 1% of GP attenders',
    topN: `Top ${topN} GP attenders`,
    first: 'First priority tier',
    second: 'Second priority tier',
  };
}

export const STAGE_LABELS: Record<string, string> = {
  'under-review': 'Awaiting MDT review',
  undecided: 'Reviewed, no decision recorded',
  accepted: 'Accepted, not yet enrolled',
  declined: 'Declined',
  enrolled: 'Enrolled',
  discharged: 'Discharged',
  closed: 'Closed',
};

export const FLOW_LABELS: Record<string, string> = {
  proposals: 'Proposed',
  accepted: 'Accepted by the MDT',
  declinedByMdt: 'Declined by the MDT',
  declinedByPatient: 'Declined by the patient',
  enrolled: 'Enrolled',
  steppedDown: 'Step-down reviews',
  discharged: 'Discharged',
  reEntered: 'Proposed again',
};

/** Who the enrolled are compared with: chosen the same way on the same dates, not enrolled. */
export const COMPARISON_LABEL = 'Comparison group';

export function percent(share: number | null): string {
  return share === null ? 'not known' : `${(share * 100).toFixed(1)}%`;
}

export function figure(value: number | null, digits = 2): string {
  return value === null ? 'not known' : value.toFixed(digits);
}

export function roleLabel(role: string): string {
  return role === 'unallocated' ? 'Not allocated' : role.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** Who the enrolled were compared with, in words. */
export function comparisonWords(report: Report): string {
  const { groups } = report.impact;
  return report.impact.comparison === 'lottery'
    ? 'candidates the lottery did not draw for a place on the same dates (a randomised comparison)'
    : `patients chosen the same way on the same dates but not enrolled (${groups.waitlisted} who qualified when there were no places, ${groups.justUnder} just under the threshold)`;
}
