export { Forbidden, InvalidInput, NotFound } from './errors';
export { formatNhsNumber } from './people';
export { SharedRead } from './shared-read';
export type {
  Caseload,
  CaseloadPatient,
  CaseloadView,
  Decision,
  DecisionRecord,
  DecisionResult,
  EpisodeHistory,
  EvidenceItem,
  EvidenceTimeline,
  Labelled,
  OwnerOption,
  PatientReview,
  PatientSummary,
  Practice,
  ProgrammeSummary,
  RuleInWords,
  WorklistFilters,
  WorklistRow,
  WorklistSection,
  WorklistView,
  WorkspaceRole,
  WorkspaceUser,
} from './types';
