import type { CapabilityStatement } from '@medplum/fhirtypes';
import { ConfigError } from '../config';
import type { FhirClient } from '../fhir';
import type { SubjectSearch } from './chunk';

const EVERYTHING_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';

/**
 * The subject search to read with, once it is known the server can answer it: `everything` only where the
 * CapabilityStatement declares `Patient/[id]/$everything` (on Patient, or among the server's operations), else a
 * configuration error naming `extract.subjectSearch`. The other two need nothing declared.
 */
export async function checkSubjectSearch(
  client: FhirClient,
  setting: SubjectSearch,
  signal?: AbortSignal
): Promise<SubjectSearch> {
  if (setting === 'everything' && !declaresEverything(await client.capabilities(signal))) {
    throw new ConfigError('extract.subjectSearch', [
      'extract.subjectSearch: everything needs Patient/[id]/$everything, which the FHIR server does not declare ' +
        'in its CapabilityStatement: use or-list or per-patient',
    ]);
  }
  return setting;
}

/** Whether the server says it answers `Patient/[id]/$everything`. */
export function declaresEverything(capabilities: CapabilityStatement): boolean {
  const rest = capabilities.rest?.find((r) => r.mode === 'server') ?? capabilities.rest?.[0];
  const operations = [
    ...(rest?.resource?.find((r) => r.type === 'Patient')?.operation ?? []),
    ...(rest?.operation ?? []),
  ];
  return operations.some(
    (op) => op.name === 'everything' || op.name === 'patient-everything' || op.definition === EVERYTHING_DEFINITION
  );
}
