import type { Decision } from '../criteria';
import type { PatientInProgramme } from './record';
import type { Stage, Standing } from './stage';
import { isOpenStage, standingOf } from './stage';
import type { Action, TransitionSettings } from './transitions';
import { mayBeProposed, transitions } from './transitions';

/** Where a patient stands in the programme and in the cohort Group. */
export interface Placement {
  stage?: Stage;
  /** Their Group entry: inactive while proposed or accepted, active once enrolled; none when out of the cohort. */
  member?: { inactive: boolean };
}

/** One patient's step this run: the actions, and where they leave the patient once written. */
export interface Step {
  actions: Action[];
  /**
   * The step waits for the whole population: a proposal for its ranking against capacity, an enrolment for every
   * place the population's discharges and exits release. Any other step depends on the patient alone.
   */
  needsRanking: boolean;
  after: Placement;
  /** Where an enrolment leaves the patient when nobody in the workforce has room: still accepted, waiting. */
  waitlisted?: Placement;
}

/**
 * The plan for one patient: from their programme record and this run's decision, the next actions (a proposal only
 * when `proposable`: qualifying, not cooling off, within capacity) and the stage and Group membership they lead to.
 */
export function planStep(
  patient: PatientInProgramme | undefined,
  decision: Decision | undefined,
  proposable: boolean,
  parameters: TransitionSettings
): Step {
  const standing = standingOf(patient);
  const actions = transitions(patient, decision, proposable, parameters);
  const enrols = actions.some((a) => a.kind === 'enrol');
  return {
    actions,
    needsRanking: mayBeProposed(standing, decision) || enrols,
    after: placementAfter(standing, actions),
    ...(enrols && standing.stage !== 'enrolled' ? { waitlisted: placementOf(standing.stage) } : {}),
  };
}

/** The placement the actions lead to. */
function placementAfter(standing: Standing, actions: readonly Action[]): Placement {
  const kinds = new Set(actions.map((a) => a.kind));
  if (kinds.has('discharge') || kinds.has('complete-plan')) {
    return { stage: standing.stage === 'declined' ? 'declined' : 'discharged' };
  }
  if (kinds.has('patient-declined')) {
    return { stage: 'declined' };
  }
  if (kinds.has('exit')) {
    return { stage: standing.latest?.carePlan ? 'discharged' : 'closed' };
  }
  if (kinds.has('propose')) {
    return placementOf('under-review');
  }
  return placementOf(kinds.has('enrol') ? 'enrolled' : standing.stage);
}

/** A stage's Group entry: open episodes are in the cohort, active once enrolled. */
export function placementOf(stage: Stage | undefined): Placement {
  if (!isOpenStage(stage)) {
    return stage ? { stage } : {};
  }
  return { stage, member: { inactive: stage !== 'enrolled' } };
}
