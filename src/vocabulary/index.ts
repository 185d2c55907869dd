import type { Resource } from '@medplum/fhirtypes';
/**
 * The project's own terminology, identifier systems and profile URLs. Every resource the connector writes is
 * tagged with MANAGED_TAG, declares one of PROFILE, and carries a business identifier from IDENTIFIER (Provenance,
 * which has no identifier element in R4, gets an id derived from its event instead). That is what makes writes
 * idempotent and lets the connector recognise, and only ever touch, its own resources.
 */
export const CANONICAL_BASE = 'https://fhir.hfu-connector.org';

/** National identifier systems (NHS England). */
export const NHS_SYSTEM = {
  nhsNumber: 'https://fhir.nhs.uk/Id/nhs-number',
  ods: 'https://fhir.nhs.uk/Id/ods-organization-code',
} as const;

export const CODE_SYSTEM = {
  /**
   * Project-level codes: each programme's flag code (its programme file declares it), the flag category, the care
   * plan category, objections, the managed tag.
   */
  hfu: `${CANONICAL_BASE}/CodeSystem/hfu`,
  task: `${CANONICAL_BASE}/CodeSystem/hfu-task`,
  tier: `${CANONICAL_BASE}/CodeSystem/hfu-tier`,
  role: `${CANONICAL_BASE}/CodeSystem/hfu-role`,
  businessStatus: `${CANONICAL_BASE}/CodeSystem/hfu-business-status`,
  risk: `${CANONICAL_BASE}/CodeSystem/hfu-risk`,
  taskInput: `${CANONICAL_BASE}/CodeSystem/hfu-task-input`,
  /** Why the MDT declined a proposed patient (the review Task's statusReason). */
  declineReason: `${CANONICAL_BASE}/CodeSystem/hfu-decline-reason`,
  /** What a user did in the workspace, as its AuditEvents record it. */
  audit: `${CANONICAL_BASE}/CodeSystem/hfu-audit`,
  /** The care team's forms: answers (participation, support, goal progress, next step) and the ONS4 questions. */
  participation: `${CANONICAL_BASE}/CodeSystem/hfu-participation`,
  support: `${CANONICAL_BASE}/CodeSystem/hfu-support`,
  goalProgress: `${CANONICAL_BASE}/CodeSystem/hfu-goal-progress`,
  nextStep: `${CANONICAL_BASE}/CodeSystem/hfu-next-step`,
  wellbeing: `${CANONICAL_BASE}/CodeSystem/hfu-wellbeing`,
  planStatusReason: `${CANONICAL_BASE}/CodeSystem/hfu-plan-status-reason`,
} as const;

export const VALUE_SET = {
  /** The flag codes of the programmes that ship with the connector (Flag.code), after NHS England's ProgrammeFlagCode. */
  programmeFlag: `${CANONICAL_BASE}/ValueSet/hfu-programme-flag`,
  task: `${CANONICAL_BASE}/ValueSet/hfu-task`,
  tier: `${CANONICAL_BASE}/ValueSet/hfu-tier`,
  role: `${CANONICAL_BASE}/ValueSet/hfu-role`,
  businessStatus: `${CANONICAL_BASE}/ValueSet/hfu-business-status`,
  risk: `${CANONICAL_BASE}/ValueSet/hfu-risk`,
  taskInput: `${CANONICAL_BASE}/ValueSet/hfu-task-input`,
  declineReason: `${CANONICAL_BASE}/ValueSet/hfu-decline-reason`,
  audit: `${CANONICAL_BASE}/ValueSet/hfu-audit`,
  participation: `${CANONICAL_BASE}/ValueSet/hfu-participation`,
  support: `${CANONICAL_BASE}/ValueSet/hfu-support`,
  goalProgress: `${CANONICAL_BASE}/ValueSet/hfu-goal-progress`,
  nextStep: `${CANONICAL_BASE}/ValueSet/hfu-next-step`,
  wellbeing: `${CANONICAL_BASE}/ValueSet/hfu-wellbeing`,
  planStatusReason: `${CANONICAL_BASE}/ValueSet/hfu-plan-status-reason`,
} as const;

export const PROFILE = {
  group: `${CANONICAL_BASE}/StructureDefinition/hfu-cohort-group`,
  flag: `${CANONICAL_BASE}/StructureDefinition/hfu-flag`,
  task: `${CANONICAL_BASE}/StructureDefinition/hfu-task`,
  carePlan: `${CANONICAL_BASE}/StructureDefinition/hfu-care-plan`,
  provenance: `${CANONICAL_BASE}/StructureDefinition/hfu-provenance`,
  auditEvent: `${CANONICAL_BASE}/StructureDefinition/hfu-audit-event`,
  questionnaire: `${CANONICAL_BASE}/StructureDefinition/hfu-questionnaire`,
  questionnaireResponse: `${CANONICAL_BASE}/StructureDefinition/hfu-questionnaire-response`,
  goal: `${CANONICAL_BASE}/StructureDefinition/hfu-goal`,
  referral: `${CANONICAL_BASE}/StructureDefinition/hfu-referral`,
  wellbeing: `${CANONICAL_BASE}/StructureDefinition/hfu-wellbeing-observation`,
} as const;

/** The care team's forms (SDC Questionnaires, shipped in questionnaires/): canonical URL and version. */
export const QUESTIONNAIRE = {
  conversation: { url: `${CANONICAL_BASE}/Questionnaire/hfu-what-matters-conversation`, version: '1.0.0' },
  checkIn: { url: `${CANONICAL_BASE}/Questionnaire/hfu-check-in`, version: '1.0.0' },
} as const;

/** Why the connector completed or revoked a care plan (the care-plan-status-reason extension). */
export const PLAN_STATUS_REASON_URL = `${CANONICAL_BASE}/StructureDefinition/care-plan-status-reason`;

/** SDC's codes for the task-based pattern: Task.input (the Questionnaire) and Task.output (the response). */
export const SDC_TASK = {
  questionnaire: {
    system: 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp',
    code: 'questionnaire',
    display: 'Questionnaire',
  },
  response: {
    system: 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp',
    code: 'questionnaire-response',
    display: 'Questionnaire Response',
  },
} as const;

export const IDENTIFIER = {
  cohort: `${CANONICAL_BASE}/Id/cohort`,
  task: `${CANONICAL_BASE}/Id/task`,
  flag: `${CANONICAL_BASE}/Id/flag`,
  carePlan: `${CANONICAL_BASE}/Id/care-plan`,
  goal: `${CANONICAL_BASE}/Id/goal`,
  referral: `${CANONICAL_BASE}/Id/referral`,
  wellbeing: `${CANONICAL_BASE}/Id/wellbeing`,
  device: `${CANONICAL_BASE}/Id/device`,
} as const;

/**
 * The identifier systems of the per-patient resources the connector writes (Task, Flag, CarePlan; and from the care
 * team's forms Goal, ServiceRequest, Observation).
 */
export const MANAGED_IDENTIFIER_SYSTEMS: ReadonlySet<string> = new Set([
  IDENTIFIER.task,
  IDENTIFIER.flag,
  IDENTIFIER.carePlan,
  IDENTIFIER.goal,
  IDENTIFIER.referral,
  IDENTIFIER.wellbeing,
]);

export interface Code {
  system: string;
  code: string;
  display: string;
}

export const MANAGED_TAG: Code = {
  system: CODE_SYSTEM.hfu,
  code: 'managed-by-hfu-connector',
  display: 'Written by hfu-connector',
};

/** Written by the connector: it bears the connector's tag. */
export function isManaged(resource: Resource): boolean {
  return Boolean(resource.meta?.tag?.some((t) => t.system === MANAGED_TAG.system && t.code === MANAGED_TAG.code));
}

/** The connector as a FHIR agent (Provenance.agent, Flag.author): a logical reference to its Device. */
export const CONNECTOR_DEVICE = {
  type: 'Device',
  identifier: { system: IDENTIFIER.device, value: 'hfu-connector' },
  display: 'hfu-connector',
} as const;

/**
 * The project's own codes in CODE_SYSTEM.hfu. A programme's flag code (Flag.code) is not among them: each programme
 * declares its own (`flag` in its programme file), in the same code system.
 */
export const HFU_CODE = {
  flagCategory: { system: CODE_SYSTEM.hfu, code: 'HFU', display: 'High Frequency User programme flag' },
  carePlanCategory: {
    system: CODE_SYSTEM.hfu,
    code: 'personalised-care-and-support-plan',
    display: 'Personalised care and support plan',
  },
  objection: {
    system: CODE_SYSTEM.hfu,
    code: 'declined-proactive-care',
    display: 'Declined proactive personalised care contact',
  },
} as const satisfies Record<string, Code>;

export type TaskKind = 'mdt-review' | 'what-matters-conversation' | 'check-in' | 'step-down-review';

export const TASK_CODE: Record<'mdtReview' | 'conversation' | 'checkIn' | 'stepDown', Code & { code: TaskKind }> = {
  mdtReview: { system: CODE_SYSTEM.task, code: 'mdt-review', display: 'MDT review of a proposed candidate' },
  conversation: {
    system: CODE_SYSTEM.task,
    code: 'what-matters-conversation',
    display: "'What Matters to Me' conversation",
  },
  checkIn: { system: CODE_SYSTEM.task, code: 'check-in', display: 'Check-in' },
  stepDown: { system: CODE_SYSTEM.task, code: 'step-down-review', display: 'Step-down review' },
};

/**
 * What a review Task carries besides the evidence (the text earlier versions wrote as Task.input.type.text, which
 * readers still recognise); TASK_INPUT codes them.
 */
export const REVIEW_INPUT = { dominantRisk: 'dominantRisk', proposedOwner: 'proposedOwner' } as const;

/** Task.input.type: the dominant risk, the proposed owner, and evidence (its text the feature's title). */
export const TASK_INPUT: Record<'dominantRisk' | 'proposedOwner' | 'evidence' | 'questionnaire' | LotteryInput, Code> =
  {
    dominantRisk: { system: CODE_SYSTEM.taskInput, code: 'dominant-risk', display: 'Dominant risk' },
    proposedOwner: { system: CODE_SYSTEM.taskInput, code: 'proposed-owner', display: 'Proposed owner' },
    evidence: { system: CODE_SYSTEM.taskInput, code: 'evidence', display: 'Evidence for the proposal' },
    questionnaire: { system: CODE_SYSTEM.taskInput, code: 'questionnaire', display: 'The form to complete' },
    lotteryDraw: { system: CODE_SYSTEM.taskInput, code: 'lottery-draw', display: 'Lottery draw' },
    lotterySeed: { system: CODE_SYSTEM.taskInput, code: 'lottery-seed', display: 'Lottery seed' },
    lotteryPlaces: { system: CODE_SYSTEM.taskInput, code: 'lottery-places', display: 'Places drawn' },
    lotteryCandidate: { system: CODE_SYSTEM.taskInput, code: 'lottery-candidate', display: 'Lottery candidate' },
  };

/** Task.input kinds a review Task proposed by lottery carries (`programme.capacity.selection: lottery`). */
export type LotteryInput = 'lotteryDraw' | 'lotterySeed' | 'lotteryPlaces' | 'lotteryCandidate';

/**
 * Whether a Task input is of a kind: coded from TASK_INPUT, or (written by an earlier version) named by the text
 * in REVIEW_INPUT.
 */
export function isTaskInput(
  input: { type?: { coding?: { system?: string; code?: string }[]; text?: string } },
  kind: keyof typeof REVIEW_INPUT
): boolean {
  const code = TASK_INPUT[kind];
  return (
    Boolean(input.type?.coding?.some((c) => c.system === code.system && c.code === code.code)) ||
    (!input.type?.coding?.length && input.type?.text === REVIEW_INPUT[kind])
  );
}

export type TierId = 'first' | 'second';

export const TIER_CODE: Record<TierId, Code> = {
  first: { system: CODE_SYSTEM.tier, code: 'first', display: 'First priority' },
  second: { system: CODE_SYSTEM.tier, code: 'second', display: 'Second priority' },
};

export type Role =
  | 'gp'
  | 'nurse'
  | 'pharmacist'
  | 'advanced-nurse-practitioner'
  | 'physician-associate'
  | 'care-coordinator'
  | 'social-prescribing-link-worker'
  | 'health-and-wellbeing-coach';

export type RiskType = 'clinical' | 'psychosocial';

/** Who takes which caseload (step 2 of the guidance). */
export const ROLES: Record<Role, { display: string; risk: RiskType }> = {
  gp: { display: 'General practitioner', risk: 'clinical' },
  nurse: { display: 'Nurse', risk: 'clinical' },
  pharmacist: { display: 'Pharmacist', risk: 'clinical' },
  'advanced-nurse-practitioner': { display: 'Advanced nurse practitioner', risk: 'clinical' },
  'physician-associate': { display: 'Physician associate', risk: 'clinical' },
  'care-coordinator': { display: 'Care coordinator', risk: 'psychosocial' },
  'social-prescribing-link-worker': { display: 'Social prescribing link worker', risk: 'psychosocial' },
  'health-and-wellbeing-coach': { display: 'Health and wellbeing coach', risk: 'psychosocial' },
};

export const RISK_CODE: Record<RiskType, Code> = {
  clinical: { system: CODE_SYSTEM.risk, code: 'clinical', display: 'Clinical or pharmaceutical risk' },
  psychosocial: { system: CODE_SYSTEM.risk, code: 'psychosocial', display: 'Psychosocial risk' },
};

export type BusinessStatus =
  | 'proposed'
  | 'enrol'
  | 'decline'
  | 'deferred'
  | 'scheduled'
  | 'meets-criteria-again'
  | EscalationOutcome
  | StepDownOutcome;

/**
 * What the MDT decides on a review a check-in asked for (an escalation), besides deferring it: keep the plan going
 * with the current owner, keep it going with another professional (the Task's owner), or discharge the patient.
 */
export type EscalationOutcome = 'continue-plan' | 'reallocate' | 'discharge';

/**
 * What the MDT decides on a step-down review (the patient no longer meets the criteria), besides deferring it: step
 * the patient down to community support (their time in the programme ends), or keep them in it on the plan.
 */
export type StepDownOutcome = 'step-down' | 'continue-plan';

export const BUSINESS_STATUS: Record<BusinessStatus, Code> = {
  proposed: { system: CODE_SYSTEM.businessStatus, code: 'proposed', display: 'Proposed by hfu-connector' },
  enrol: { system: CODE_SYSTEM.businessStatus, code: 'enrol', display: 'MDT decision: enrol' },
  decline: { system: CODE_SYSTEM.businessStatus, code: 'decline', display: 'MDT decision: decline' },
  deferred: {
    system: CODE_SYSTEM.businessStatus,
    code: 'deferred',
    display: 'MDT decision: deferred to the next meeting',
  },
  scheduled: { system: CODE_SYSTEM.businessStatus, code: 'scheduled', display: 'Scheduled by hfu-connector' },
  'meets-criteria-again': {
    system: CODE_SYSTEM.businessStatus,
    code: 'meets-criteria-again',
    display: 'Closed by hfu-connector: the patient meets the criteria again',
  },
  'continue-plan': {
    system: CODE_SYSTEM.businessStatus,
    code: 'continue-plan',
    display: 'MDT decision: keep the plan going with the current owner',
  },
  reallocate: {
    system: CODE_SYSTEM.businessStatus,
    code: 'reallocate',
    display: 'MDT decision: keep the plan going with another professional',
  },
  discharge: {
    system: CODE_SYSTEM.businessStatus,
    code: 'discharge',
    display: 'MDT decision: discharge from the programme',
  },
  'step-down': {
    system: CODE_SYSTEM.businessStatus,
    code: 'step-down',
    display: 'MDT decision: step down to community support',
  },
};

/** Why the MDT declined a patient (the review Task's statusReason), from the published hfu-decline-reason. */
export const DECLINE_REASON = {
  supportedElsewhere: {
    system: CODE_SYSTEM.declineReason,
    code: 'supported-elsewhere',
    display: 'Already supported elsewhere',
  },
  notAppropriate: {
    system: CODE_SYSTEM.declineReason,
    code: 'not-appropriate',
    display: 'Not appropriate for the programme',
  },
  patientDeclines: {
    system: CODE_SYSTEM.declineReason,
    code: 'patient-known-to-decline',
    display: 'Patient known to decline',
  },
  other: { system: CODE_SYSTEM.declineReason, code: 'other', display: 'Other reason' },
} as const satisfies Record<string, Code>;

/** What a workspace AuditEvent records (its subtype). */
export const AUDIT_CODE = {
  patientViewed: { system: CODE_SYSTEM.audit, code: 'patient-review-viewed', display: "Patient's review page viewed" },
  decisionRecorded: { system: CODE_SYSTEM.audit, code: 'mdt-decision-recorded', display: 'MDT decision recorded' },
} as const satisfies Record<string, Code>;

/** `system|code` for search parameters. */
export function token(coding: { system: string; code: string }): string {
  return `${coding.system}|${coding.code}`;
}

/** Resource types a mapping may read. Patient is read as the population itself; the rest per chunk of patients. */
export const SOURCE_TYPES = [
  'Patient',
  'Encounter',
  'MedicationRequest',
  'MedicationStatement',
  'Condition',
  'Observation',
  'Consent',
  'Appointment',
] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
