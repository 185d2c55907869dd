export { applyPlan } from './apply';
export type { WriteCounts, WriteOutcome } from './apply';
export {
  cohortGroup,
  cohortIdentifier,
  describeCandidate,
  MEMBERS_REFRESHED_URL,
  reviewTask,
  reviewTaskIdentifier,
} from './cohort';
export type { CohortContext } from './cohort';
export { canonical, identifierKey, isManaged, mergeOwned, planWrites } from './reconcile';
export type { Desired, WritePlan } from './reconcile';
