export { COVERAGE_MIN_POPULATION, FeatureCoverage } from './coverage';
export { evaluateChunk, evaluatePatient } from './evaluate';
export type { Evaluation, EvaluationContext } from './evaluate';
