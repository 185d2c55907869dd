/**
 * The codes of the care team's forms (the What Matters to Me conversation and the check-ins) and of what the
 * connector makes of them. Each list is a project CodeSystem with a ValueSet of all its codes (published in
 * profiles/); the Questionnaires bind their answers to those ValueSets. Import from 'vocabulary/care'.
 */
import type { Code } from './index';
import { CODE_SYSTEM } from './index';

type Coded<K extends string> = Record<K, Code & { definition: string }>;

export type Participation = 'yes' | 'not-now' | 'declined';

/** Whether the patient agreed to take part: participation is voluntary. */
export const PARTICIPATION: Coded<Participation> = {
  yes: {
    system: CODE_SYSTEM.participation,
    code: 'yes',
    display: 'Yes',
    definition: 'The patient agreed to take part.',
  },
  'not-now': {
    system: CODE_SYSTEM.participation,
    code: 'not-now',
    display: 'Not now',
    definition: 'Not now: the patient may be asked again after a date they agreed.',
  },
  declined: {
    system: CODE_SYSTEM.participation,
    code: 'declined',
    display: 'Declined',
    definition: 'The patient declined to take part in the programme.',
  },
};

export type SupportKind =
  | 'community-activity'
  | 'financial-advice'
  | 'housing'
  | 'employment'
  | 'health-coaching'
  | 'carer-support'
  | 'mental-health'
  | 'medication-review'
  | 'other';

/**
 * The support agreed at the conversation. Each becomes a referral (a ServiceRequest); the order is part of the
 * code system's version, since a referral's business identifier carries the position of its kind.
 */
export const SUPPORT: Coded<SupportKind> = {
  'community-activity': {
    system: CODE_SYSTEM.support,
    code: 'community-activity',
    display: 'Social prescribing to a community activity',
    definition: 'Connected by social prescribing to a community group or activity.',
  },
  'financial-advice': {
    system: CODE_SYSTEM.support,
    code: 'financial-advice',
    display: 'Benefits or financial advice',
    definition: 'Referred for advice on benefits, debt or money.',
  },
  housing: {
    system: CODE_SYSTEM.support,
    code: 'housing',
    display: 'Housing',
    definition: 'Referred for help with housing.',
  },
  employment: {
    system: CODE_SYSTEM.support,
    code: 'employment',
    display: 'Employment',
    definition: 'Referred for support into or at work.',
  },
  'health-coaching': {
    system: CODE_SYSTEM.support,
    code: 'health-coaching',
    display: 'Health and wellbeing coaching',
    definition: 'Referred to a health and wellbeing coach.',
  },
  'carer-support': {
    system: CODE_SYSTEM.support,
    code: 'carer-support',
    display: 'Carer support',
    definition: 'Referred for support as, or for, a carer.',
  },
  'mental-health': {
    system: CODE_SYSTEM.support,
    code: 'mental-health',
    display: 'Mental health support',
    definition: 'Referred to a mental health service.',
  },
  'medication-review': {
    system: CODE_SYSTEM.support,
    code: 'medication-review',
    display: 'Medication review',
    definition: 'Referred for a structured medication review.',
  },
  other: { system: CODE_SYSTEM.support, code: 'other', display: 'Other', definition: 'Another kind of support.' },
};

export type GoalProgress = 'achieved' | 'progressing' | 'not-started' | 'no-longer-relevant';

export const GOAL_PROGRESS: Coded<GoalProgress> = {
  achieved: {
    system: CODE_SYSTEM.goalProgress,
    code: 'achieved',
    display: 'Achieved',
    definition: 'The goal was achieved.',
  },
  progressing: {
    system: CODE_SYSTEM.goalProgress,
    code: 'progressing',
    display: 'Progressing',
    definition: 'Work towards the goal is under way.',
  },
  'not-started': {
    system: CODE_SYSTEM.goalProgress,
    code: 'not-started',
    display: 'Not started',
    definition: 'Nothing has been done towards the goal yet.',
  },
  'no-longer-relevant': {
    system: CODE_SYSTEM.goalProgress,
    code: 'no-longer-relevant',
    display: 'No longer relevant',
    definition: 'The patient no longer wants, or needs, the goal.',
  },
};

export type NextStep = 'continue' | 'step-down' | 'discharge' | 'escalate';

export const NEXT_STEP: Coded<NextStep> = {
  continue: {
    system: CODE_SYSTEM.nextStep,
    code: 'continue',
    display: 'Continue',
    definition: 'Carry on with the plan and check in again.',
  },
  'step-down': {
    system: CODE_SYSTEM.nextStep,
    code: 'step-down',
    display: 'Step down to community support',
    definition: 'The patient no longer needs the programme: community support carries on.',
  },
  discharge: {
    system: CODE_SYSTEM.nextStep,
    code: 'discharge',
    display: 'Discharge',
    definition: 'Discharge from the programme.',
  },
  escalate: {
    system: CODE_SYSTEM.nextStep,
    code: 'escalate',
    display: 'Escalate to the MDT',
    definition: 'The needs have grown: the multidisciplinary team reviews the plan.',
  },
};

export type WellbeingQuestion = 'life-satisfaction' | 'worthwhile' | 'happiness' | 'anxiety';

/**
 * The ONS personal wellbeing questions (ONS4), each answered 0 to 10, and the panel that groups them. Project codes:
 * see the README for why no SNOMED CT or LOINC code is used.
 */
export const WELLBEING: Coded<WellbeingQuestion | 'ons4'> = {
  ons4: {
    system: CODE_SYSTEM.wellbeing,
    code: 'ons4',
    display: 'ONS personal wellbeing (ONS4)',
    definition: 'The four ONS personal wellbeing questions, each scored 0 (not at all) to 10 (completely), kept apart.',
  },
  'life-satisfaction': {
    system: CODE_SYSTEM.wellbeing,
    code: 'life-satisfaction',
    display: 'Life satisfaction',
    definition: 'Overall, how satisfied are you with your life nowadays? (0 to 10)',
  },
  worthwhile: {
    system: CODE_SYSTEM.wellbeing,
    code: 'worthwhile',
    display: 'Things done in life are worthwhile',
    definition: 'Overall, to what extent do you feel that the things you do in your life are worthwhile? (0 to 10)',
  },
  happiness: {
    system: CODE_SYSTEM.wellbeing,
    code: 'happiness',
    display: 'Happiness yesterday',
    definition: 'Overall, how happy did you feel yesterday? (0 to 10)',
  },
  anxiety: {
    system: CODE_SYSTEM.wellbeing,
    code: 'anxiety',
    display: 'Anxiety yesterday',
    definition: 'Overall, how anxious did you feel yesterday? (0 to 10; here a higher score is worse)',
  },
};

export type PlanStatusReason = 'declined-by-patient' | 'stepped-down' | 'discharged-at-check-in' | 'discharged-by-mdt';

/** Why the connector closed a care plan on the care team's word. */
export const PLAN_STATUS_REASON: Coded<PlanStatusReason> = {
  'declined-by-patient': {
    system: CODE_SYSTEM.planStatusReason,
    code: 'declined-by-patient',
    display: 'Declined by the patient',
    definition: 'The patient declined the What Matters to Me conversation: the episode is closed.',
  },
  'stepped-down': {
    system: CODE_SYSTEM.planStatusReason,
    code: 'stepped-down',
    display: 'Stepped down to community support',
    definition: 'At a check-in the care team stepped the patient down to community support.',
  },
  'discharged-at-check-in': {
    system: CODE_SYSTEM.planStatusReason,
    code: 'discharged-at-check-in',
    display: 'Discharged at a check-in',
    definition: 'At a check-in the care team discharged the patient from the programme.',
  },
  'discharged-by-mdt': {
    system: CODE_SYSTEM.planStatusReason,
    code: 'discharged-by-mdt',
    display: 'Discharged by the MDT',
    definition: 'The MDT, reviewing a patient a check-in escalated to them, ended their time in the programme.',
  },
};

/** A referral is a patient referral (SNOMED CT 3457005 |Patient referral|), coded by the kind of support. */
export const REFERRAL_CATEGORY: Code = {
  system: 'http://snomed.info/sct',
  code: '3457005',
  display: 'Patient referral',
};

/** ONS4 scores are survey answers (R4's observation category). */
export const SURVEY_CATEGORY: Code = {
  system: 'http://terminology.hl7.org/CodeSystem/observation-category',
  code: 'survey',
  display: 'Survey',
};
