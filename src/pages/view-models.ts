import type { Stage } from '../lifecycle';
import type {
  CaseloadView,
  DecisionResult,
  PatientReview,
  ProgrammeSummary,
  WorklistView,
  WorkspaceUser,
} from '../workspace';
import { recordedWords } from './care-form-routes';
import type { FormErrors } from './workspace-routes';

/** The stages in plain English, as the MDT says them. */
export const STAGE_WORDS: Record<Stage, string> = {
  'under-review': 'Waiting for the MDT',
  undecided: 'Review closed without a decision',
  accepted: 'Accepted, waiting to start',
  declined: 'Declined',
  enrolled: 'On the programme',
  discharged: 'Discharged',
  closed: 'Closed',
};

const DECIDED_WORDS: Record<string, string> = {
  accept: 'Accepted. The care plan, flag and first conversation are in the record.',
  decline: 'Declined. The patient will not be proposed again during the cool-off period.',
  defer: 'Deferred to the next MDT meeting.',
  continue: 'Recorded. The plan carries on with the professional who has the patient now.',
  move: 'Moved. The care plan and the open conversation and check-ins are with the new professional.',
  discharge: 'Discharged. The care plan is completed, the flag is inactive and open tasks are cancelled.',
  'step-down':
    'Stepped down to community support. The care plan is completed, the flag is inactive and open tasks are cancelled.',
};

export interface LastRun {
  status: string;
  startedAt: string;
  finishedAt?: string;
  running: boolean;
  counts?: { proposed: number; created: number; updated: number; unchanged: number; failed: number };
}

type Option = { value: string; text: string; selected?: boolean };

/** The worklist page: its sections, the filter selects (with "All" first) and previous / next links. */
export function worklistView(view: WorklistView, path: string): Record<string, unknown> {
  const select = (all: string, options: Option[], chosen?: string): Option[] => [
    { value: '', text: all, selected: !chosen },
    ...options.map((o) => ({ ...o, selected: o.value === chosen })),
  ];
  const { filters, page } = view;
  const link = (n: number): string => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries({
      practice: filters.practice,
      tier: filters.tier,
      stage: filters.stage,
    })) {
      if (value) {
        query.set(key, value);
      }
    }
    query.set('page', String(n));
    return `${path.startsWith('/mdt') ? path : `/mdt${path}`}?${query.toString()}`;
  };
  return {
    pageTitle: 'Worklist',
    section: 'worklist',
    view,
    stageWords: STAGE_WORDS,
    practiceOptions: select(
      'All practices',
      view.options.practices.filter((p) => p.ods).map((p) => ({ value: p.ods as string, text: p.name ?? p.ods ?? '' })),
      filters.practice
    ),
    tierOptions: select(
      'All tiers',
      view.options.tiers.map((t) => ({ value: t.code, text: t.label })),
      filters.tier
    ),
    stageOptions: select(
      'All stages',
      view.options.stages.map((s) => ({ value: s.code, text: s.label })),
      filters.stage
    ),
    rowCount: view.sections.reduce((n, s) => n + s.rows.length, 0),
    previous: page.number > 1 ? { href: link(page.number - 1), labelText: `Page ${page.number - 1}` } : undefined,
    next: page.number < page.pages ? { href: link(page.number + 1), labelText: `Page ${page.number + 1}` } : undefined,
  };
}

/** The patient review: the record read, and the decision form with the user's last answers and any errors. */
export function reviewView(
  review: PatientReview,
  user: WorkspaceUser,
  state: {
    errors?: FormErrors;
    body?: Record<string, unknown>;
    conflict?: DecisionResult;
    decided?: string;
    /** A care team form just recorded: 'conversation' or 'check-in'. */
    recorded?: string;
    /** Decided already, by someone else, before this form was sent (nothing written). */
    settled?: boolean;
  }
): Record<string, unknown> {
  const body = state.body ?? {};
  const errorFor = (field: string) => state.errors?.find((e) => e.field === field);
  const chosen = typeof body.decision === 'string' ? body.decision : undefined;
  // A full caseload is said in the label of its disabled radio: a hint of a disabled item is drawn too faint to read.
  const ownerItems = review.decision.owners.map((o) => ({
    value: o.reference,
    text: o.full ? `${o.label}: ${o.used} of ${o.limit} on their caseload (full)` : o.label,
    hint: o.full
      ? undefined
      : {
          text: `${o.role.label}: ${o.used} of ${o.limit} on their caseload${o.proposed ? '. Proposed by the connector' : ''}`,
        },
    disabled: o.full,
    checked: body.owner === o.reference || (!body.owner && o.proposed && !o.full),
  }));
  const moveItems = review.decision.moveOwners.map((o) => ({
    value: o.reference,
    text: o.full ? `${o.label}: ${o.used} of ${o.limit} on their caseload (full)` : o.label,
    hint: o.full ? undefined : { text: `${o.role.label}: ${o.used} of ${o.limit} on their caseload` },
    disabled: o.full,
    checked: body.owner === o.reference,
  }));
  const reasonItems = [
    { value: '', text: 'Choose a reason', selected: !body.reason },
    ...review.decision.declineReasons.map((r) => ({ value: r.code, text: r.label, selected: body.reason === r.code })),
  ];
  const conflict = state.conflict?.kind === 'conflict' ? state.conflict : undefined;
  return {
    pageTitle: `Review: ${review.patient.name}`,
    pageError: Boolean(state.errors?.length),
    section: 'worklist',
    review,
    stageWords: STAGE_WORDS,
    canDecide: review.decision.allowed && user.role !== 'viewer' && Boolean(review.review),
    errors: state.errors?.map((e) => ({ text: e.text, href: `#${e.field}` })),
    errorFor: {
      decision: errorFor('decision'),
      owner: errorFor('owner'),
      reason: errorFor('reason'),
      note: errorFor('note'),
    },
    chosen,
    note: typeof body.note === 'string' ? body.note : '',
    ownerItems,
    moveItems,
    escalation: review.review?.kind === 'escalation',
    stepDown: review.review?.kind === 'step-down',
    reasonItems,
    conflict: conflict && {
      by: conflict.by ?? 'someone else',
      at: conflict.at,
      stage: conflict.current.stage ? STAGE_WORDS[conflict.current.stage] : undefined,
    },
    decided: state.decided ? DECIDED_WORDS[state.decided] : undefined,
    recorded: recordedWords(state.recorded),
    mayRecordForms: user.role !== 'viewer',
    settled: state.settled,
  };
}

export function caseloadsView(view: CaseloadView, section: 'caseloads' | 'my-patients'): Record<string, unknown> {
  return {
    pageTitle: section === 'caseloads' ? 'Caseloads' : 'My patients',
    section,
    view,
    stageWords: STAGE_WORDS,
  };
}

export function programmeView(
  summary: ProgrammeSummary,
  lastRun: LastRun | undefined,
  refresh: string | undefined
): Record<string, unknown> {
  const stages = (Object.keys(STAGE_WORDS) as Stage[]).map((stage) => ({
    label: STAGE_WORDS[stage],
    count: summary.byStage[stage] ?? 0,
  }));
  return {
    pageTitle: 'Programme',
    section: 'programme',
    summary,
    stages,
    lastRun,
    refresh: refresh === 'started' ? 'started' : refresh === 'busy' ? 'busy' : undefined,
  };
}
