export { addressedEvidence, lifecycleParameters } from './accessors';
export { applyCapacity, compareSeverity, lotteryNumber, tierLimits } from './capacity';
export type { Capacity, CapacityOutcome, LotteryDraw, Selection } from './capacity';
export { decide, explainDecision, holds, NO_STATE, substituteParameters } from './decide';
export type { Decision, ProgrammeState, RuleExplanation } from './decide';
export { BUILT_IN_PROGRAMMES_DIR, builtInProgrammes, DEFAULT_PROGRAMME, loadProgramme, ProgrammeError } from './load';
export type { CompiledRule, LoadProgrammeOptions, Programme } from './load';
export { LIFECYCLE_PARAMETERS } from './schema';
export type { LifecycleParameter } from './schema';
export { tune } from './tune';
export type { TuneGrid, TuneResult } from './tune';
export {
  candidateSummary,
  exclusionTitle,
  featureTitle,
  figure,
  longDate,
  reasonSentence,
  valuesInWords,
} from './wording';
export type { FeatureWording, MappingFeature } from './wording';
