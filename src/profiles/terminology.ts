import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { builtInProgrammes, loadProgramme } from '../criteria';
import type { Code } from '../vocabulary';
import { GOAL_PROGRESS, NEXT_STEP, PARTICIPATION, PLAN_STATUS_REASON, SUPPORT, WELLBEING } from '../vocabulary/care';
import {
  AUDIT_CODE,
  BUSINESS_STATUS,
  CODE_SYSTEM,
  DECLINE_REASON,
  HFU_CODE,
  MANAGED_TAG,
  RISK_CODE,
  ROLES,
  TASK_CODE,
  TASK_INPUT,
  TIER_CODE,
  VALUE_SET,
} from '../vocabulary';

export const VERSION = '1.0.0';
const PUBLISHER = 'hfu-connector';

interface CodeSystemSpec {
  url: string;
  id: string;
  title: string;
  description: string;
  concepts: readonly Concept[];
  valueSet?: string;
}

type Concept = Code & { definition?: string };

let flagCodes: Concept[] | undefined;

/**
 * The flag codes of the programmes that ship with the connector, as their programme files declare them (in the
 * order of their ids). Two programmes may share a code only with the same display.
 */
export function programmeFlagCodes(): readonly Concept[] {
  if (!flagCodes) {
    const byCode = new Map<string, { flag: Concept; programme: string }>();
    for (const programme of builtInProgrammes()) {
      const { flag } = loadProgramme({ ref: programme });
      const other = byCode.get(flag.code);
      if (other && other.flag.display !== flag.display) {
        throw new Error(`programmes ${other.programme} and ${programme} give flag code ${flag.code} different displays`);
      }
      byCode.set(flag.code, other ?? { flag, programme });
    }
    flagCodes = [...byCode.values()].map((v) => v.flag);
  }
  return flagCodes;
}

/** The project's own codes, the programmes' flag codes first. */
function projectCodeSystem(): CodeSystemSpec {
  return {
    url: CODE_SYSTEM.hfu,
    id: 'hfu',
    title: 'HFU programme codes',
    description: "Codes of the programmes the connector runs, as it records them: each programme's flag code (declared in its programme file), the flag category, the care plan category, the objection to proactive contact, and the tag on everything the connector writes.",
    concepts: [
      ...programmeFlagCodes(),
      { ...HFU_CODE.flagCategory, definition: 'A patient flag raised by the HFU programme (as NRAF, CP-IS and FGM are for theirs).' },
      { ...HFU_CODE.carePlanCategory, definition: 'A personalised care and support plan agreed under one of the programmes the connector runs.' },
      { ...HFU_CODE.objection, definition: 'The patient objects to being contacted proactively under the programme.' },
      { ...MANAGED_TAG, definition: 'The resource was written, and is kept up to date, by hfu-connector.' },
    ],
  };
}

const SPECS: CodeSystemSpec[] = [
  {
    url: CODE_SYSTEM.task,
    id: 'hfu-task',
    valueSet: VALUE_SET.task,
    title: 'HFU task codes',
    description: 'What an HFU Task asks for, following the guidance: MDT validation of the list (step 2), the What Matters to Me conversation (step 3), check-ins (step 4) and step-down review (step 5).',
    concepts: [TASK_CODE.mdtReview, TASK_CODE.conversation, TASK_CODE.checkIn, TASK_CODE.stepDown],
  },
  {
    url: CODE_SYSTEM.taskInput,
    id: 'hfu-task-input',
    valueSet: VALUE_SET.taskInput,
    title: 'HFU task inputs',
    description: "What a Task carries (Task.input.type): for a review, the candidate's dominant risk, the owner the connector proposes, the evidence for the proposal (its text the feature's title, as the mapping gives it), and, when places were drawn by lottery, the draw; for a conversation or check-in, the form to complete.",
    concepts: [
      { ...TASK_INPUT.dominantRisk, definition: 'The dominant risk (clinical or psychosocial), which decides the kind of role the caseload goes to.' },
      { ...TASK_INPUT.proposedOwner, definition: 'The practitioner role or care team the connector proposes as owner, when the workforce has room.' },
      { ...TASK_INPUT.evidence, definition: 'A record (an encounter, a medicine, a condition) behind the figures that made the patient a candidate.' },
      { ...TASK_INPUT.questionnaire, definition: "The form a conversation or check-in Task asks for: the Questionnaire's canonical URL and version (SDC's task-based pattern; the input also carries SDC's own code)." },
      { ...TASK_INPUT.lotteryDraw, definition: 'Proposed by lottery over capacity: the draw (evaluation date and tier) the proposal came from.' },
      { ...TASK_INPUT.lotterySeed, definition: "The lottery's seed, which with the draw and the candidates fixes the draw." },
      { ...TASK_INPUT.lotteryPlaces, definition: 'The places the draw filled: the first this many candidates, in draw order.' },
      { ...TASK_INPUT.lotteryCandidate, definition: 'A patient the draw chose from, in draw order; those after the places drawn wait, offered first when places free.' },
    ],
  },
  {
    url: CODE_SYSTEM.tier,
    id: 'hfu-tier',
    valueSet: VALUE_SET.tier,
    title: 'HFU priority tiers',
    description: "The priority tier a patient qualified in, as their programme defines it (each programme's tiers, first that holds wins: nhse-hfu-2022, unplanned admissions with repeat medicines; nhse-hiu, A&E attendances).",
    concepts: [TIER_CODE.first, TIER_CODE.second],
  },
  {
    url: CODE_SYSTEM.role,
    id: 'hfu-role',
    valueSet: VALUE_SET.role,
    title: 'HFU allocation roles',
    description: 'Who takes a caseload: clinical and pharmaceutical risk to a GP, nurse, pharmacist, advanced nurse practitioner or physician associate; psychosocial risk to a care coordinator, social prescribing link worker or health and wellbeing coach.',
    concepts: Object.entries(ROLES).map(([code, role]) => ({ system: CODE_SYSTEM.role, code, display: role.display })),
  },
  {
    url: CODE_SYSTEM.businessStatus,
    id: 'hfu-business-status',
    valueSet: VALUE_SET.businessStatus,
    title: 'HFU task business statuses',
    description: "Business statuses on HFU Tasks: the MDT's decision on a review (enrol, decline, deferred to the next meeting); on a review a check-in escalated to them (keep the plan going with the current owner, keep it going with another professional who becomes the Task's owner, discharge, or deferred); on a step-down review (step down to community support, keep the plan going with the current owner, or deferred); and the connector's own (proposed, scheduled; meets the criteria again, on a step-down review it closed as no longer needed).",
    concepts: Object.values(BUSINESS_STATUS),
  },
  {
    url: CODE_SYSTEM.risk,
    id: 'hfu-risk',
    valueSet: VALUE_SET.risk,
    title: 'HFU dominant risk',
    description: "A candidate's dominant risk, which decides the kind of role their caseload goes to.",
    concepts: Object.values(RISK_CODE),
  },
];

/** The answers of the care team's forms and what the connector makes of them (src/vocabulary/care.ts). */
const CARE_SPECS: CodeSystemSpec[] = [
  {
    url: CODE_SYSTEM.participation,
    id: 'hfu-participation',
    valueSet: VALUE_SET.participation,
    title: 'HFU participation',
    description: "Whether the patient agreed to take part in the What Matters to Me conversation: participation is voluntary.",
    concepts: Object.values(PARTICIPATION),
  },
  {
    url: CODE_SYSTEM.support,
    id: 'hfu-support',
    valueSet: VALUE_SET.support,
    title: 'HFU agreed support',
    description: 'The support agreed with the patient, each a referral: the kinds the guidance names for social prescribing link workers, health and wellbeing coaches and care coordinators, and clinical review.',
    concepts: Object.values(SUPPORT),
  },
  {
    url: CODE_SYSTEM.goalProgress,
    id: 'hfu-goal-progress',
    valueSet: VALUE_SET.goalProgress,
    title: 'HFU goal progress',
    description: "A goal's progress as the care team records it at a check-in.",
    concepts: Object.values(GOAL_PROGRESS),
  },
  {
    url: CODE_SYSTEM.nextStep,
    id: 'hfu-next-step',
    valueSet: VALUE_SET.nextStep,
    title: 'HFU next step',
    description: 'What happens after a check-in: continue, step down to community support, discharge, or escalate to the MDT.',
    concepts: Object.values(NEXT_STEP),
  },
  {
    url: CODE_SYSTEM.wellbeing,
    id: 'hfu-wellbeing',
    valueSet: VALUE_SET.wellbeing,
    title: 'HFU personal wellbeing (ONS4)',
    description: "The ONS personal wellbeing questions (ONS4), the measure of the social prescribing common outcomes framework, and the panel grouping them. Project codes: no SNOMED CT or LOINC code for them could be confirmed from the material the project holds.",
    concepts: Object.values(WELLBEING),
  },
  {
    url: CODE_SYSTEM.planStatusReason,
    id: 'hfu-plan-status-reason',
    valueSet: VALUE_SET.planStatusReason,
    title: 'HFU care plan status reasons',
    description: "Why the connector completed or revoked a care plan on the care team's or the MDT's word (the care-plan-status-reason extension).",
    concepts: Object.values(PLAN_STATUS_REASON),
  },
];

const WORKSPACE_SPECS: CodeSystemSpec[] = [
  {
    url: CODE_SYSTEM.declineReason,
    id: 'hfu-decline-reason',
    valueSet: VALUE_SET.declineReason,
    title: 'HFU decline reasons',
    description: "Why the MDT declined a proposed patient (the review Task's statusReason when it is rejected).",
    concepts: Object.values(DECLINE_REASON),
  },
  {
    url: CODE_SYSTEM.audit,
    id: 'hfu-audit',
    valueSet: VALUE_SET.audit,
    title: 'HFU workspace audit events',
    description: "What a user did in the MDT workspace, as its AuditEvents record it (AuditEvent.subtype): viewed a patient's review page, recorded a decision.",
    concepts: Object.values(AUDIT_CODE),
  },
];

const codeSystemSpecs = (): CodeSystemSpec[] => [projectCodeSystem(), ...SPECS, ...WORKSPACE_SPECS, ...CARE_SPECS];

export function codeSystems(): CodeSystem[] {
  return codeSystemSpecs().map((spec) => ({
    resourceType: 'CodeSystem',
    id: spec.id,
    url: spec.url,
    version: VERSION,
    name: pascal(spec.id),
    title: spec.title,
    status: 'active',
    experimental: false,
    publisher: PUBLISHER,
    description: spec.description,
    caseSensitive: true,
    content: 'complete',
    count: spec.concepts.length,
    concept: spec.concepts.map((c) => ({ code: c.code, display: c.display, ...(c.definition ? { definition: c.definition } : {}) })),
  }));
}

export function valueSets(): ValueSet[] {
  const wholeSystems = codeSystemSpecs()
    .filter((spec) => spec.valueSet)
    .map((spec) => valueSet(spec.id, spec.valueSet as string, spec.title, `All codes of ${spec.title}.`, { system: spec.url }));
  return [programmeFlagValueSet(), ...wholeSystems];
}

/**
 * Flag.code: the programme flag codes, after NHS England's ProgrammeFlagCode (the codes of each programme's flag).
 * They share their code system with the project's other codes, so the value set names them one by one.
 */
function programmeFlagValueSet(): ValueSet {
  return valueSet(
    'hfu-programme-flag',
    VALUE_SET.programmeFlag,
    'HFU programme flag codes',
    'What the flag of each programme the connector ships says (Flag.code): one code per programme, declared in its programme file.',
    { system: CODE_SYSTEM.hfu, concept: programmeFlagCodes().map(({ code, display }) => ({ code, display })) }
  );
}

function valueSet(
  id: string,
  url: string,
  title: string,
  description: string,
  include: NonNullable<ValueSet['compose']>['include'][number]
): ValueSet {
  return {
    resourceType: 'ValueSet',
    id,
    url,
    version: VERSION,
    name: pascal(id),
    title,
    status: 'active',
    experimental: false,
    publisher: PUBLISHER,
    description,
    compose: { include: [include] },
  };
}

function pascal(id: string): string {
  return id
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
