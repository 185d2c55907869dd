export { episodeOf, parseReviewIdentifier, readProgrammeRecord } from './record';
export type { ProgrammeRecord } from './record';
export { hasBusinessStatus, isDeclined, patientProgrammeState } from './state';
export type { PatientProgrammeState } from './state';
