export {
  MANAGED_TYPES,
  managedIdentifierValue,
  parseManagedIdentifier,
  readPatientProgramme,
  readProgrammeRecord,
} from './record';
export type { CompletedForm, Episode, EpisodeForms, ManagedKind, PatientInProgramme, ProgrammeRecord } from './record';
export {
  episodeStage,
  hasBusinessStatus,
  isCoolingOff,
  isOpenStage,
  STAGES,
  isOpenTask,
  standingOf,
  tierOfEpisode,
} from './stage';
export type { Stage, Standing } from './stage';
export {
  decidedOn,
  escalationState,
  latestEscalationDecision,
  openEscalation,
  reallocatedTo,
  unresolvedReallocation,
  stepDownState,
} from './escalation';
export type { EscalationState, StepDownState } from './escalation';
export { isOpenRequest, needsDischarge, openReferrals, openTasks, transitions } from './transitions';
export type { Action, ExitReason, TransitionSettings } from './transitions';
export { cohortEntries } from './view';
export type { CohortEntry } from './view';
export { placementOf, planStep } from './plan';
export type { Placement, Step } from './plan';
