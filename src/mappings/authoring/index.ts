export { applyPlan, copyMappingFolder, describeProposal } from './copy';
export { scaffoldMapping } from './scaffold';
export { clauseReadingAlso, parseAssignment, suggestChanges, SuggestionError } from './suggest';
export type { Assignment, Decision, Proposal, SuggestPlan, SurveyFindings } from './suggest';
