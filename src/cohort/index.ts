export { patientIdOf, readChunk } from './extract';
export type { ChunkRecords } from './extract';
export { resolvePopulation, restrictPopulation, ScopeError } from './population';
export type { Population } from './population';
export { candidateReport, runCohort } from './run';
export type { CandidateReport, RunDeps, RunProgress, RunResult, RunSettings, SkippedPatient } from './run';
