export { chunkSearches, mapConcurrently, readChunk, resolvePopulation } from '../read';
export type { Population } from '../read';
export { candidateReport } from './result';
export type { CandidateReport, RunProgress, RunResult, SkippedPatient } from './result';
export { runCohort } from './run';
export type { RunDeps, RunSettings } from './configure';
export { endpointsFrom, rulesFrom, runSettingsFrom, sourceReferences } from './configure';
export { explainPatient } from './explain';
export type { PatientExplanation, ProgrammePlace } from './explain';
