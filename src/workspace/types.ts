import type { Organization, Practitioner, Reference } from '@medplum/fhirtypes';
import type { Stage } from '../lifecycle';
import type { RiskType, Role, TierId } from '../vocabulary';
import type { PlanView } from './forms';

/**
 * What a signed-in user may do: `mdt` reviews and decides, `lead` also sees every practice and may start a refresh,
 * `viewer` reads only.
 */
export type WorkspaceRole = 'mdt' | 'lead' | 'viewer';

/** The signed-in user, as the web layer knows them from their claims. */
export interface WorkspaceUser {
  /** The issuer's subject (e.g. the CIS2 UUID): names the user in audit records. */
  subject: string;
  /** Their name, for notes and "changed by" (never logged). */
  name: string;
  role: WorkspaceRole;
  /** ODS codes of the practices they may see; absent: every practice (a lead, or an unscoped member). */
  practices?: readonly string[];
  /**
   * The user as a FHIR agent: a Practitioner reference, or a logical one (`type: 'Practitioner'` and an identifier
   * from the claims, e.g. the CIS2 UUID), with their name as display.
   */
  agent: Reference<Practitioner>;
  /** The organisation they act for (Provenance.agent.onBehalfOf); default the patient's practice. */
  organisation?: Reference<Organization>;
}

/** A patient as the worklist and the review show them. */
export interface PatientSummary {
  id: string;
  /** "Jane SMITH"-style display name as the record gives it; "Name not recorded" when it has none. */
  name: string;
  /** Formatted 3 3 4 ("943 476 5919"); absent when the record has no NHS number. */
  nhsNumber?: string;
  /** Whole years on the workspace's date; absent without a birth date. */
  age?: number;
  practice?: Practice;
}

export interface Practice {
  /** ODS code, when known. */
  ods?: string;
  name?: string;
  /** The Organization reference the patient is registered with. */
  reference?: string;
}

/** A code with its plain-English label. */
export interface Labelled<T extends string = string> {
  code: T;
  label: string;
}

export type WorklistSection = 'escalated' | 'new' | 'deferred' | 'step-down' | 'awaiting-capacity';

/** One patient on the agenda. */
export interface WorklistRow {
  patient: PatientSummary;
  section: WorklistSection;
  stage: Stage;
  tier?: Labelled<TierId>;
  /** "2 unplanned admissions and 12 repeat medicines in the 12 months to 1 December 2026". */
  reason: string;
  /** The risk factors that hold, by title ("Age over 75"). */
  riskFactors: Labelled[];
  dominantRisk?: Labelled<RiskType>;
  /** Who the connector proposed (or the MDT allocated; for an enrolled patient, who owns their care), with their label. */
  proposedOwner?: { reference: string; label: string };
  /** The Task the MDT decides on (`Task/<id>`): the review, or for an escalated patient the escalation. */
  review?: string;
}

export interface WorklistFilters {
  /** An ODS code. */
  practice?: string;
  tier?: string;
  stage?: string;
  /** 1-based. */
  page?: number;
}

export interface WorklistView {
  /** The date the figures are worked out on (London). */
  asOf: string;
  /** Counts over everything the user may see, before filters. */
  counts: Record<WorklistSection, number> & { total: number; byTier: Partial<Record<TierId, number>> };
  /** The sections in agenda order; rows of this page only. */
  sections: { section: WorklistSection; title: string; rows: WorklistRow[] }[];
  /** The filters applied, and what each may be set to. */
  filters: WorklistFilters;
  /** `stages`: the sections (a filter also takes a stage name). */
  options: { practices: Practice[]; tiers: Labelled<TierId>[]; stages: Labelled<WorklistSection>[] };
  page: { number: number; size: number; rows: number; pages: number };
}

/** One item of evidence, traceable to its FHIR resource. */
export interface EvidenceItem {
  /** `Encounter/e1`. */
  reference: string;
  /** What it counts towards ("Unplanned admissions"). */
  feature: string;
  featureTitle: string;
  /** A calendar date (London), when the resource has one. */
  date?: string;
  /** "Emergency admission: via A&E", "Amlodipine 5mg tablets", "Type 2 diabetes mellitus". */
  text: string;
}

export interface EvidenceTimeline {
  /** Admissions, A&E attendances, 999 and 111 contacts: newest first. */
  events: EvidenceItem[];
  /** GP practice contacts counted by calendar month, newest first. */
  gpContactsByMonth: { month: string; label: string; count: number; references: string[] }[];
  medicines: EvidenceItem[];
  conditions: EvidenceItem[];
  /** Anything else the rules read (carer, frailty observations). */
  other: EvidenceItem[];
}

/** A rule put in words, with whether it holds for this patient. */
export interface RuleInWords {
  id: string;
  title: string;
  holds: boolean;
  /** The values it read, in words ("2 unplanned admissions, 11 repeat medicines"). */
  values: string;
}

export interface DecisionRecord {
  /**
   * On a review: accept, decline, defer; on an escalation: continue (the plan as it is), move, discharge, defer; on a
   * step-down review: step-down, continue (kept in the programme), defer.
   */
  action: 'accept' | 'decline' | 'defer' | 'continue' | 'move' | 'discharge' | 'step-down' | 'other';
  /** Who decided (the note's author), when known. */
  by?: string;
  at?: string;
  reason?: Labelled;
  note?: string;
}

export interface EpisodeHistory {
  number: number;
  stage: Stage;
  tier?: Labelled<TierId>;
  proposedOn?: string;
  owner?: { reference: string; label: string };
  decisions: DecisionRecord[];
  review?: string;
  flag?: string;
  carePlan?: string;
}

export interface OwnerOption {
  reference: string;
  label: string;
  role: Labelled<Role>;
  used: number;
  limit: number;
  /** No room: offered but not selectable. */
  full: boolean;
  /** The one the connector proposed. */
  proposed: boolean;
}

export interface PatientReview {
  patient: PatientSummary;
  /** The care plan of the latest episode as it stands (goals, referrals, wellbeing, open forms). */
  plan?: PlanView;
  asOf: string;
  stage?: Stage;
  episode?: number;
  /** Why proposed: the tier in words, or why the patient is no candidate now. */
  why: { candidate: boolean; tier?: Labelled<TierId>; reason: string; rule?: string };
  rules: { tiers: RuleInWords[]; exclusions: RuleInWords[]; riskFactors: RuleInWords[] };
  riskFactors: Labelled[];
  dominantRisk: Labelled<RiskType>;
  evidence: EvidenceTimeline;
  history: EpisodeHistory[];
  /**
   * The open review the MDT decides on, with its version for If-Match; absent when nothing is to be decided. For an
   * enrolled patient it is an escalation: a review the care team asked for at check-in `checkIn` (on `askedOn`); or
   * the step-down review the run wrote when they no longer met the criteria (on `askedOn`).
   */
  review?: {
    reference: string;
    version: string;
    status: string;
    businessStatus?: string;
    kind: 'review' | 'escalation' | 'step-down';
    checkIn?: number;
    askedOn?: string;
  };
  decision: {
    /** The user may decide and a review is open. */
    allowed: boolean;
    owners: OwnerOption[];
    /**
     * An accept must name an owner while someone of the right kind has room; when none has (or there is no
     * workforce), accepting without one leaves the patient waiting for capacity, enrolled by the first run after a
     * place frees up.
     */
    ownerRequired: boolean;
    declineReasons: Labelled[];
    /** Who owns the patient's care now (an escalation is decided about them). */
    currentOwner?: { reference: string; label: string };
    /**
     * Who an escalated patient may be moved to: the whole workforce, any role (needs that changed are often clinical),
     * but their current owner; full caseloads flagged.
     */
    moveOwners: OwnerOption[];
  };
}

/**
 * What the MDT decides about a proposed patient (accept, decline, defer); and about an enrolled patient the care team
 * escalated to them: keep the plan going with the current owner, keep it going with another professional (move),
 * end their time in the programme (discharge), or defer to the next meeting; and about an enrolled patient who no
 * longer meets the criteria (a step-down review): step them down to community support, keep them in the programme
 * (continue), or defer.
 */
export type Decision =
  | { kind: 'accept'; owner?: string; note?: string }
  | { kind: 'decline'; reason: string; note?: string }
  | { kind: 'defer'; note?: string }
  | { kind: 'continue'; note?: string }
  | { kind: 'move'; owner: string; note?: string }
  | { kind: 'discharge'; note?: string }
  | { kind: 'step-down'; note?: string };

/** The kinds of decision each kind of review takes. */
export const DECISION_KINDS = {
  review: ['accept', 'decline', 'defer'],
  escalation: ['continue', 'move', 'discharge', 'defer'],
  'step-down': ['step-down', 'continue', 'defer'],
} as const satisfies Record<'review' | 'escalation' | 'step-down', readonly Decision['kind'][]>;

export type DecisionResult =
  | {
      kind: 'done';
      review: { reference: string; version: string };
      /** The targeted refresh ran (false: it failed; the decision stands and the next run follows it). */
      refreshed: boolean;
      /** Where the patient stands after the refresh. */
      stage?: Stage;
    }
  | {
      kind: 'conflict';
      /** Who last changed the review (a note's author, else the connector), when known. */
      by?: string;
      at?: string;
      current: { status: string; businessStatus?: string; owner?: string; version?: string; stage?: Stage };
    };

export interface CaseloadPatient {
  patient: PatientSummary;
  stage: Stage;
  /** The next open Task of theirs this owner holds: the conversation, a check-in, a step-down review. */
  next?: {
    reference: string;
    kind: string;
    label: string;
    due?: string;
    overdue: boolean;
    /** Where the care team records it (a conversation or a check-in), e.g. `/mdt/patients/p1/check-ins/2`. */
    form?: string;
  };
}

export interface Caseload {
  reference: string;
  label: string;
  role: Labelled<Role>;
  used: number;
  limit: number;
  patients: CaseloadPatient[];
}

export interface CaseloadView {
  asOf: string;
  caseloads: Caseload[];
}

export interface ProgrammeSummary {
  asOf: string;
  programme: { id: string; version: string; title: string };
  byStage: Partial<Record<Stage, number>>;
  byTier: Partial<Record<TierId, number>>;
  capacity: { used: number; limit: number; byRisk: Record<RiskType, { used: number; limit: number }> };
  /** The user may start a refresh (lead). */
  mayRefresh: boolean;
}
