import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import type { Code } from '../vocabulary';
import {
  BUSINESS_STATUS,
  CODE_SYSTEM,
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
  concepts: readonly (Code & { definition?: string })[];
  valueSet?: string;
}

const SPECS: CodeSystemSpec[] = [
  {
    url: CODE_SYSTEM.hfu,
    id: 'hfu',
    title: 'HFU programme codes',
    description: 'Codes of the High Frequency Users programme as the connector records it: the flag, its category, the care plan category, the objection to proactive contact, and the tag on everything the connector writes.',
    concepts: [
      { ...HFU_CODE.flag, definition: 'The patient is enrolled in proactive personalised care under the NHS England High Frequency Users model.' },
      { ...HFU_CODE.flagCategory, definition: 'A patient flag raised by the HFU programme (as NRAF, CP-IS and FGM are for theirs).' },
      { ...HFU_CODE.carePlanCategory, definition: 'A personalised care and support plan agreed under the HFU programme.' },
      { ...HFU_CODE.objection, definition: 'The patient objects to being contacted proactively under the programme.' },
      { ...MANAGED_TAG, definition: 'The resource was written, and is kept up to date, by hfu-connector.' },
    ],
  },
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
    description: "What a review Task carries (Task.input.type): the candidate's dominant risk, the owner the connector proposes, and the evidence for the proposal (its text the feature's title, as the mapping gives it).",
    concepts: [
      { ...TASK_INPUT.dominantRisk, definition: 'The dominant risk (clinical or psychosocial), which decides the kind of role the caseload goes to.' },
      { ...TASK_INPUT.proposedOwner, definition: 'The practitioner role or care team the connector proposes as owner, when the workforce has room.' },
      { ...TASK_INPUT.evidence, definition: 'A record (an encounter, a medicine, a condition) behind the figures that made the patient a candidate.' },
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
    description: "Business statuses on HFU Tasks: the MDT's decision on a review (enrol, decline), and the connector's own (proposed, scheduled).",
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

export function codeSystems(): CodeSystem[] {
  return SPECS.map((spec) => ({
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
  return SPECS.filter((spec) => spec.valueSet).map((spec) => ({
    resourceType: 'ValueSet',
    id: spec.id,
    url: spec.valueSet as string,
    version: VERSION,
    name: pascal(spec.id),
    title: spec.title,
    status: 'active',
    experimental: false,
    publisher: PUBLISHER,
    description: `All codes of ${spec.title}.`,
    compose: { include: [{ system: spec.url }] },
  }));
}

function pascal(id: string): string {
  return id
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
