export { chunkSearches, forEachConcurrently, patientIdOf, readChunk } from './extract';
export type { ChunkRecords, ChunkSearch } from './extract';
export { resolvePopulation, restrictPopulation } from './population';
export type { Population } from './population';
export { candidateReport, runCohort } from './run';
export type { CandidateReport, RunDeps, RunProgress, RunResult, RunSettings, SkippedPatient } from './run';
export { rulesFrom, runSettingsFrom } from './configure';
export { explainPatient } from './explain';
export type { PatientExplanation } from './explain';
