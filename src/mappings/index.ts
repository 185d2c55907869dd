export { FeatureEvaluationError, featureEvaluator, mappingOn, recordEvaluation, windowStart } from './evaluate';
export type {
  DatedMapping,
  FactValue,
  FeatureEvaluator,
  PatientFeatures,
  PatientRecord,
  RecordEvaluation,
} from './evaluate';
export { elementChecks } from './elements';
export type { ElementCheck, MappingChecks } from './elements';
export { ageOn } from './functions';
export { BUILT_IN_MAPPINGS_DIR, loadMapping, MAPPING_VARIABLES, MappingError, resolveMappingFile } from './load';
export type { CompiledFeature, CompiledMapping } from './load';
export { SOURCE_TYPES } from './schema';
export type { Duration, SourceType } from './schema';
export { mappingTestsFile, runMappingTests } from './testing';
export type { MappingTestResult } from './testing';
