import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { SUPPORTED_SEARCH_TYPES } from './query';

/** What this server really does, built from the loaded definitions: only search parameters it can match. */
export function capabilityStatement(baseUrl: string, software: { name: string; version: string }): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = getResourceTypes()
    .sort()
    .map((type) => ({
      type,
      versioning: 'versioned',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalUpdate: true,
      conditionalDelete: 'single',
      interaction: (
        ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'] as const
      ).map((code) => ({ code })),
      searchParam: Object.values(getSearchParameters(type) ?? {})
        .filter((param) => SUPPORTED_SEARCH_TYPES.has(param.type) && param.code !== '_compartment')
        .map((param) => ({ name: param.code as string, type: param.type, definition: param.url })),
    }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software,
    implementation: { description: 'hfu-connector embedded FHIR R4 server (in-memory)', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'In-memory, for development and tests. Unknown or unsupported search parameters, chained parameters and ' +
          'bare-id references are refused with 400. Transactions are not rolled back on failure and take at most 50 ' +
          'updates, or 8 entries when any is conditional.',
        resource: resources,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        searchParam: [
          { name: '_count', type: 'number' },
          { name: '_offset', type: 'number' },
          { name: '_sort', type: 'string' },
          { name: '_summary', type: 'token' },
        ],
      },
    ],
  };
}
