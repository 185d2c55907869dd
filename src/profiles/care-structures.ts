import { CANONICAL_BASE, CODE_SYSTEM, IDENTIFIER, PROFILE, VALUE_SET } from '../vocabulary';
import { REFERRAL_CATEGORY, SURVEY_CATEGORY } from '../vocabulary/care';
import { identified, managed, PATIENT_REFERENCE } from './invariants';
import type { ProfileSpec } from './structures';

/** The care team's forms and what the connector makes of them: Questionnaire, response, Goal, referral, ONS4. */

const forPatient = (key: string, element: string) => ({
  key,
  human: 'For a patient',
  expression: `${element}.reference.matches('${PATIENT_REFERENCE}')`,
});

export function careProfileSpecs(): ProfileSpec[] {
  return [
    {
      id: 'hfu-questionnaire',
      url: PROFILE.questionnaire,
      type: 'Questionnaire',
      ukCoreBase: 'UKCore-Questionnaire',
      title: 'HFU care team form',
      description:
        "A form the care team completes (the What Matters to Me conversation, a check-in), as an SDC Questionnaire: a " +
        'stable canonical URL and version, about a patient, so that any platform that renders Questionnaires can show it.',
      invariants: [
        {
          key: 'hfu-q-1',
          human: 'A canonical URL of the project, and a version',
          expression: `url.startsWith('${CANONICAL_BASE}/Questionnaire/') and version.exists()`,
        },
        { key: 'hfu-q-2', human: 'About a patient', expression: "subjectType = 'Patient'" },
        { key: 'hfu-q-3', human: 'Every item has a linkId and text', expression: 'repeat(item).all(linkId.exists() and text.exists())' },
      ],
      elements: [
        { id: 'Questionnaire.url', path: 'Questionnaire.url', min: 1 },
        { id: 'Questionnaire.version', path: 'Questionnaire.version', min: 1, mustSupport: true },
        { id: 'Questionnaire.title', path: 'Questionnaire.title', min: 1 },
        { id: 'Questionnaire.subjectType', path: 'Questionnaire.subjectType', min: 1 },
        { id: 'Questionnaire.item', path: 'Questionnaire.item', min: 1 },
      ],
    },
    {
      id: 'hfu-questionnaire-response',
      url: PROFILE.questionnaireResponse,
      type: 'QuestionnaireResponse',
      ukCoreBase: 'UKCore-QuestionnaireResponse',
      title: 'HFU completed care team form',
      description:
        "The care team's answers to one of the HFU forms, referenced from the conversation or check-in Task's output. " +
        'The connector reads it and never changes it.',
      invariants: [
        {
          key: 'hfu-qr-1',
          human: 'Answers one of the HFU forms',
          expression: `questionnaire.startsWith('${CANONICAL_BASE}/Questionnaire/')`,
        },
        forPatient('hfu-qr-2', 'subject'),
      ],
      elements: [
        { id: 'QuestionnaireResponse.questionnaire', path: 'QuestionnaireResponse.questionnaire', min: 1 },
        { id: 'QuestionnaireResponse.subject', path: 'QuestionnaireResponse.subject', min: 1 },
        { id: 'QuestionnaireResponse.authored', path: 'QuestionnaireResponse.authored', min: 1 },
        { id: 'QuestionnaireResponse.author', path: 'QuestionnaireResponse.author', min: 1 },
      ],
    },
    {
      id: 'hfu-goal',
      url: PROFILE.goal,
      type: 'Goal',
      title: 'HFU personal goal',
      description:
        'A goal agreed in the What Matters to Me conversation (UK Core has no Goal profile: based on R4 Goal), listed in ' +
        "the care plan's goals. Its lifecycle and achievement status follow the check-ins.",
      invariants: [
        managed,
        identified(IDENTIFIER.goal, 'hfu-goal-1'),
        forPatient('hfu-goal-2', 'subject'),
        { key: 'hfu-goal-3', human: 'Described in words', expression: 'description.text.exists()' },
      ],
      elements: [
        { id: 'Goal.identifier', path: 'Goal.identifier', min: 1, mustSupport: true },
        { id: 'Goal.achievementStatus', path: 'Goal.achievementStatus', mustSupport: true },
        { id: 'Goal.target', path: 'Goal.target', mustSupport: true },
        { id: 'Goal.expressedBy', path: 'Goal.expressedBy', mustSupport: true },
      ],
    },
    {
      id: 'hfu-referral',
      url: PROFILE.referral,
      type: 'ServiceRequest',
      ukCoreBase: 'UKCore-ServiceRequest',
      title: 'HFU referral for agreed support',
      description:
        'Support agreed in the What Matters to Me conversation, as a referral (a patient referral coded by the kind of ' +
        "support), based on the care plan and listed among its activities.",
      invariants: [
        managed,
        identified(IDENTIFIER.referral, 'hfu-ref-1'),
        forPatient('hfu-ref-2', 'subject'),
        {
          key: 'hfu-ref-3',
          human: 'A patient referral, coded by the kind of support',
          expression:
            `category.coding.where(system = '${REFERRAL_CATEGORY.system}' and code = '${REFERRAL_CATEGORY.code}').exists() and ` +
            `code.coding.where(system = '${CODE_SYSTEM.support}').exists()`,
        },
        { key: 'hfu-ref-4', human: 'Based on the care plan', expression: "basedOn.reference.where($this.startsWith('CarePlan/') or $this.startsWith('urn:uuid:')).exists()" },
      ],
      elements: [
        { id: 'ServiceRequest.identifier', path: 'ServiceRequest.identifier', min: 1, mustSupport: true },
        { id: 'ServiceRequest.intent', path: 'ServiceRequest.intent', fixedCode: 'order' },
        { id: 'ServiceRequest.code', path: 'ServiceRequest.code', min: 1, binding: { strength: 'required', valueSet: VALUE_SET.support } },
        { id: 'ServiceRequest.authoredOn', path: 'ServiceRequest.authoredOn', min: 1 },
        { id: 'ServiceRequest.requester', path: 'ServiceRequest.requester', min: 1 },
      ],
    },
    {
      id: 'hfu-wellbeing-observation',
      url: PROFILE.wellbeing,
      type: 'Observation',
      ukCoreBase: 'UKCore-Observation',
      title: 'HFU ONS4 personal wellbeing scores',
      description:
        'The four ONS personal wellbeing scores (0 to 10) of one conversation or check-in, as components kept apart (ONS ' +
        "advises against adding them up), derived from the care team's form and listed in the care plan's supporting information.",
      invariants: [
        managed,
        identified(IDENTIFIER.wellbeing, 'hfu-wb-1'),
        forPatient('hfu-wb-2', 'subject'),
        {
          key: 'hfu-wb-3',
          human: 'The ONS4 panel, a survey',
          expression:
            `code.coding.where(system = '${CODE_SYSTEM.wellbeing}' and code = 'ons4').exists() and ` +
            `category.coding.where(system = '${SURVEY_CATEGORY.system}' and code = '${SURVEY_CATEGORY.code}').exists()`,
        },
        {
          key: 'hfu-wb-4',
          human: 'Four components, one per ONS4 question, each scored 0 to 10',
          expression:
            `component.count() = 4 and component.all(code.coding.where(system = '${CODE_SYSTEM.wellbeing}').exists() and ` +
            'value.ofType(integer).exists() and value.ofType(integer) >= 0 and value.ofType(integer) <= 10)',
        },
        { key: 'hfu-wb-5', human: 'Derived from the completed form', expression: "derivedFrom.reference.startsWith('QuestionnaireResponse/')" },
      ],
      elements: [
        { id: 'Observation.identifier', path: 'Observation.identifier', min: 1, mustSupport: true },
        { id: 'Observation.category', path: 'Observation.category', min: 1 },
        { id: 'Observation.effective[x]', path: 'Observation.effective[x]', min: 1 },
        { id: 'Observation.derivedFrom', path: 'Observation.derivedFrom', min: 1, mustSupport: true },
        { id: 'Observation.component', path: 'Observation.component', min: 4, max: '4' },
      ],
    },
  ];
}
