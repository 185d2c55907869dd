import type { ElementDefinition } from '@medplum/fhirtypes';
import { CODE_SYSTEM, HFU_CODE, IDENTIFIER, PLAN_STATUS_REASON_URL, PROFILE, VALUE_SET } from '../vocabulary';
import { careProfileSpecs } from './care-structures';
import { identified, managed, PATIENT_REFERENCE } from './invariants';
import { programmeFlagCodes } from './terminology';

/** One of the project's profiles: what it derives from and the constraints it adds (its differential). */
export interface ProfileSpec {
  id: string;
  url: string;
  type:
    | 'Group'
    | 'Flag'
    | 'Task'
    | 'CarePlan'
    | 'Provenance'
    | 'AuditEvent'
    | 'Questionnaire'
    | 'QuestionnaireResponse'
    | 'Goal'
    | 'ServiceRequest'
    | 'Observation';
  title: string;
  description: string;
  /** The UK Core profile it derives from (profiles/base/), or the R4 base when there is none. */
  ukCoreBase?: string;
  /** Invariants on the resource (FHIRPath), checked by any validator that reads the snapshot. */
  invariants: { key: string; human: string; expression: string }[];
  elements: ElementDefinition[];
}


let specs: ProfileSpec[] | undefined;

/** The project's profiles (built on first use: the Flag's reads the programme files for their flag codes). */
export function profileSpecs(): readonly ProfileSpec[] {
  specs ??= buildSpecs();
  return specs;
}

/** Flag.code is one of the programme flag codes (the required binding, checked by validators without a terminology server too). */
function programmeFlagCoded(): ProfileSpec['invariants'][number] {
  const codes = programmeFlagCodes()
    .map((c) => `code = '${c.code}'`)
    .join(' or ');
  return {
    key: 'hfu-flag-5',
    human: 'Coded with the flag code of one of the programmes',
    expression: `code.coding.where(system = '${CODE_SYSTEM.hfu}' and (${codes})).exists()`,
  };
}


function buildSpecs(): ProfileSpec[] {
  return [
  {
    id: 'hfu-cohort-group',
    url: PROFILE.group,
    type: 'Group',
    title: 'HFU cohort Group',
    description:
      'The cohort of one HFU programme in one population. Follows the Bulk Data cohort-group pattern (actual members, ' +
      'members-refreshed) without its member-filter: membership here is decided by the programme criteria, not a REST ' +
      'query. Candidates are inactive members until the MDT accepts them; a member who leaves keeps an entry with period.end.',
    invariants: [
      managed,
      identified(IDENTIFIER.cohort, 'hfu-grp-1'),
      {
        key: 'hfu-grp-2',
        human: 'At most one members-refreshed extension',
        expression: "extension.where(url = 'http://hl7.org/fhir/uv/bulkdata/StructureDefinition/members-refreshed').count() <= 1",
      },
      { key: 'hfu-grp-3', human: 'Members are patients with a start date', expression: `member.all(entity.reference.matches('${PATIENT_REFERENCE}') and period.start.exists())` },
    ],
    elements: [
      { id: 'Group.identifier', path: 'Group.identifier', min: 1, mustSupport: true },
      { id: 'Group.type', path: 'Group.type', fixedCode: 'person' },
      { id: 'Group.actual', path: 'Group.actual', fixedBoolean: true },
      { id: 'Group.name', path: 'Group.name', min: 1, mustSupport: true },
      { id: 'Group.characteristic', path: 'Group.characteristic', max: '0' },
      { id: 'Group.member', path: 'Group.member', mustSupport: true },
    ],
  },
  {
    id: 'hfu-flag',
    url: PROFILE.flag,
    type: 'Flag',
    ukCoreBase: 'UKCore-Flag',
    title: 'HFU Flag',
    description:
      'The flag GP systems show on the patient banner while a patient is enrolled: the programme\'s flag code, a patient-flag ' +
      'category and the priority tier (after NHS England\'s ProgrammeFlag pattern), the period, and the author.',
    invariants: [
      managed,
      identified(IDENTIFIER.flag, 'hfu-flag-1'),
      {
        key: 'hfu-flag-2',
        human: 'Categorised as an HFU programme flag and by tier',
        expression: `category.coding.where(system = '${CODE_SYSTEM.hfu}' and code = '${HFU_CODE.flagCategory.code}').exists() and category.coding.where(system = '${CODE_SYSTEM.tier}').exists()`,
      },
      { key: 'hfu-flag-3', human: 'A period with a start', expression: 'period.start.exists()' },
      { key: 'hfu-flag-4', human: 'An inactive flag has an end date', expression: "status = 'active' or period.end.exists()" },
      programmeFlagCoded(),
    ],
    elements: [
      { id: 'Flag.identifier', path: 'Flag.identifier', min: 1, mustSupport: true },
      { id: 'Flag.category', path: 'Flag.category', min: 2, mustSupport: true },
      { id: 'Flag.code', path: 'Flag.code', mustSupport: true, binding: { strength: 'required', valueSet: VALUE_SET.programmeFlag } },
      { id: 'Flag.period', path: 'Flag.period', min: 1, mustSupport: true },
      { id: 'Flag.author', path: 'Flag.author', min: 1, mustSupport: true },
    ],
  },
  {
    id: 'hfu-task',
    url: PROFILE.task,
    type: 'Task',
    ukCoreBase: 'UKCore-Task',
    title: 'HFU Task',
    description:
      'An HFU Task: MDT review of a proposed candidate (intent proposal, the evidence as input references), the What ' +
      'Matters to Me conversation and check-ins (intent order, based on the care plan), or a step-down review.',
    invariants: [
      managed,
      identified(IDENTIFIER.task, 'hfu-task-1'),
      { key: 'hfu-task-2', human: 'Coded from the HFU task codes', expression: `code.coding.where(system = '${CODE_SYSTEM.task}').exists()` },
      {
        key: 'hfu-task-3',
        human: 'Reviews are proposals; conversations and check-ins are orders based on the care plan',
        expression:
          `(code.coding.where(system = '${CODE_SYSTEM.task}' and (code = 'mdt-review' or code = 'step-down-review')).exists() and intent = 'proposal') or ` +
          `(code.coding.where(system = '${CODE_SYSTEM.task}' and (code = 'what-matters-conversation' or code = 'check-in')).exists() and intent = 'order' and basedOn.exists())`,
      },
      { key: 'hfu-task-4', human: 'For a patient', expression: `for.reference.matches('${PATIENT_REFERENCE}')` },
      {
        key: 'hfu-task-5',
        human: 'Each input is coded from the HFU task input codes',
        expression: `input.all(type.coding.where(system = '${CODE_SYSTEM.taskInput}').exists())`,
      },
    ],
    elements: [
      { id: 'Task.identifier', path: 'Task.identifier', min: 1, mustSupport: true },
      { id: 'Task.code', path: 'Task.code', min: 1, binding: { strength: 'required', valueSet: VALUE_SET.task } },
      { id: 'Task.for', path: 'Task.for', min: 1 },
      { id: 'Task.authoredOn', path: 'Task.authoredOn', min: 1 },
      { id: 'Task.input.type', path: 'Task.input.type', binding: { strength: 'required', valueSet: VALUE_SET.taskInput } },
    ],
  },
  {
    id: 'hfu-care-plan',
    url: PROFILE.carePlan,
    type: 'CarePlan',
    ukCoreBase: 'UKCore-CarePlan',
    title: 'HFU personalised care and support plan',
    description:
      'The personalised care and support plan of an enrolled patient: the conditions it addresses, the evidence behind ' +
      'it, the allocated owner, and as activities the conversation and check-in Tasks.',
    invariants: [
      managed,
      identified(IDENTIFIER.carePlan, 'hfu-cp-1'),
      {
        key: 'hfu-cp-2',
        human: 'Categorised as an HFU personalised care and support plan',
        expression: `category.coding.where(system = '${CODE_SYSTEM.hfu}' and code = '${HFU_CODE.carePlanCategory.code}').exists()`,
      },
      { key: 'hfu-cp-3', human: 'A period with a start', expression: 'period.start.exists()' },
      {
        key: 'hfu-cp-4',
        human: 'Closed by the connector on the care team\'s word: completed or revoked, with an end date and a coded reason',
        expression: `extension.where(url = '${PLAN_STATUS_REASON_URL}').all((%resource.status = 'completed' or %resource.status = 'revoked') and %resource.period.end.exists() and value.ofType(CodeableConcept).coding.where(system = '${CODE_SYSTEM.planStatusReason}').exists())`,
      },
    ],
    elements: [
      { id: 'CarePlan.identifier', path: 'CarePlan.identifier', min: 1, mustSupport: true },
      { id: 'CarePlan.category', path: 'CarePlan.category', min: 1 },
      { id: 'CarePlan.period', path: 'CarePlan.period', min: 1, mustSupport: true },
      { id: 'CarePlan.author', path: 'CarePlan.author', min: 1, mustSupport: true },
      { id: 'CarePlan.addresses', path: 'CarePlan.addresses', mustSupport: true },
      { id: 'CarePlan.supportingInfo', path: 'CarePlan.supportingInfo', mustSupport: true },
      { id: 'CarePlan.activity', path: 'CarePlan.activity', mustSupport: true },
      { id: 'CarePlan.goal', path: 'CarePlan.goal', mustSupport: true },
      { id: 'CarePlan.text', path: 'CarePlan.text', mustSupport: true },
    ],
  },
  {
    id: 'hfu-provenance',
    url: PROFILE.provenance,
    type: 'Provenance',
    ukCoreBase: 'UKCore-Provenance',
    title: 'HFU Provenance',
    description:
      'Why the connector wrote what it wrote: the connector (a Device) as agent, the evidence as entities, the programme ' +
      'and its version as policy. Provenance has no identifier in R4: its id is derived from the event it records.',
    invariants: [
      managed,
      {
        key: 'hfu-prov-1',
        human: 'The connector is the author',
        expression: `agent.who.identifier.where(system = '${IDENTIFIER.device}').exists()`,
      },
    ],
    elements: [
      { id: 'Provenance.policy', path: 'Provenance.policy', min: 1 },
      { id: 'Provenance.activity', path: 'Provenance.activity', min: 1 },
      { id: 'Provenance.entity', path: 'Provenance.entity', mustSupport: true },
    ],
  },
  {
    id: 'hfu-audit-event',
    url: PROFILE.auditEvent,
    type: 'AuditEvent',
    ukCoreBase: 'UKCore-AuditEvent',
    title: 'HFU workspace AuditEvent',
    description:
      "Who viewed a patient's review page or recorded an MDT decision in the workspace, when, and about which patient: " +
      'the signed-in user as the requesting agent, the connector as the observer, the patient (and the review version a ' +
      'decision wrote) as entities.',
    invariants: [
      managed,
      {
        key: 'hfu-audit-1',
        human: 'Says what the user did, from the HFU audit codes',
        expression: `subtype.where(system = '${CODE_SYSTEM.audit}').exists()`,
      },
      { key: 'hfu-audit-2', human: 'A requesting user who is named', expression: 'agent.where(requestor = true and who.exists()).exists()' },
      {
        key: 'hfu-audit-3',
        human: 'About a patient',
        expression: "entity.where(what.reference.matches('(^|/)Patient/[^/]+$')).exists()",
      },
      {
        key: 'hfu-audit-4',
        human: 'Observed by the connector',
        expression: `source.observer.identifier.where(system = '${IDENTIFIER.device}').exists()`,
      },
    ],
    elements: [
      { id: 'AuditEvent.subtype', path: 'AuditEvent.subtype', min: 1, mustSupport: true },
      { id: 'AuditEvent.action', path: 'AuditEvent.action', min: 1, mustSupport: true },
      { id: 'AuditEvent.outcome', path: 'AuditEvent.outcome', min: 1 },
      { id: 'AuditEvent.agent.who', path: 'AuditEvent.agent.who', min: 1, mustSupport: true },
      { id: 'AuditEvent.entity', path: 'AuditEvent.entity', min: 1, mustSupport: true },
    ],
  },
  ...careProfileSpecs(),
];
}
