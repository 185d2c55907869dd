export { patientIdOf, readChunk } from './extract';
export type { ChunkRecords } from './extract';
export { resolvePopulation, ScopeError } from './population';
export type { Population } from './population';
export { candidateReport, runCohort } from './run';
export type { CandidateReport, RunDeps, RunResult, RunSettings, SkippedPatient } from './run';
