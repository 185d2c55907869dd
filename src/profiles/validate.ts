import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../server';
import { loadProfile } from './build';

/**
 * Validates a resource against the project profile it declares in meta.profile (Medplum's validator over the
 * published snapshot). Returns the errors; an empty list means valid.
 */
export function validateAgainstProfile(resource: Resource): OperationOutcomeIssue[] {
  loadR4Definitions();
  const url = resource.meta?.profile?.[0];
  if (!url) {
    return [{ severity: 'error', code: 'required', diagnostics: 'no meta.profile' }];
  }
  try {
    validateResource(resource, { profile: loadProfile(url) });
    return [];
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    }
    throw err;
  }
}
