export { createWorkspace } from './workspace';
export type { Workspace, WorkspaceDeps } from './workspace';
export { DECLINE_REASONS } from './decide';
export { auditEvent } from './audit';
export type { AuditedAction } from './audit';
export { PAGE_SIZE, SECTIONS, STAGE_LABELS } from './worklist';
export { Forbidden, InvalidInput, NotFound } from './errors';
export { formatNhsNumber } from './people';
export { SharedRead } from './shared-read';
export { formPath } from './forms';
export { DECISION_KINDS } from './types';
export type { CareFormKind, CareFormResult, CareFormView, PlanGoal, PlanView } from './forms';
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
