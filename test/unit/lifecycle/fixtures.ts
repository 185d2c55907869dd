import type { CarePlan, Flag, Task } from '@medplum/fhirtypes';
import type { Decision } from '../../../src/criteria';
import type { Episode, PatientInProgramme, TransitionSettings } from '../../../src/lifecycle';
import { TIER_CODE } from '../../../src/vocabulary';

/** Programme records and decisions for the lifecycle's tests: one patient, `p`. */
export const settings: TransitionSettings = { asOf: '2026-11-23', checkInEveryDays: 14, checkInCount: 6 };

export const review = (status: Task['status'], extra: Partial<Task> = {}): Task => ({
  resourceType: 'Task',
  id: 'r',
  status,
  intent: 'proposal',
  reasonCode: { coding: [TIER_CODE.second] },
  ...extra,
});
export const task = (status: Task['status'], extra: Partial<Task> = {}): Task => ({
  resourceType: 'Task',
  status,
  intent: 'order',
  ...extra,
});
export const plan = (status: CarePlan['status'], extra: Partial<CarePlan> = {}): CarePlan => ({
  resourceType: 'CarePlan',
  id: 'cp',
  status,
  intent: 'plan',
  subject: { reference: 'Patient/p' },
  ...extra,
});
export const flag = (status: Flag['status'], tier: 'first' | 'second' = 'second'): Flag => ({
  resourceType: 'Flag',
  id: 'f',
  status,
  category: [{ coding: [TIER_CODE[tier]] }],
  code: {},
  subject: { reference: 'Patient/p' },
});

export const episode = (parts: Partial<Episode> = {}, number = 1): Episode => ({
  number,
  checkIns: new Map(),
  ...parts,
});
export const inProgramme = (...episodes: Episode[]): PatientInProgramme => ({ patientId: 'p', episodes });
export const enrolled = (parts: Partial<Episode> = {}): Episode =>
  episode({
    review: review('accepted'),
    flag: flag('active'),
    carePlan: plan('active'),
    conversation: task('requested'),
    ...parts,
  });

export const decision = (
  tier: 'first' | 'second' | undefined,
  excludedBy: string[] = [],
  exitReason: string | undefined = excludedBy[0]
): Decision => ({
  patientId: 'p',
  facts: {},
  evidence: {},
  qualifyingTier: tier,
  excludedBy,
  tier: excludedBy.length ? undefined : tier,
  riskFactors: [],
  exitReason,
});
