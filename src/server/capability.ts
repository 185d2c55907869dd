import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from '@medplum/fhirtypes';
import type { ServerBehaviour } from './behaviour';
import { answersEverything, HAPI_MAX_PAGE_SIZE } from './behaviour';
import { SUPPORTED_SEARCH_TYPES } from './query';

const READS = ['read', 'vread', 'history-instance', 'search-type'] as const;
const WRITES = ['update', 'patch', 'delete', 'create'] as const;

/** `Patient/[id]/$everything` with `_type`, `_count` and `_offset` (not `start`, `end` or `_since`). */
const EVERYTHING = {
  name: 'everything',
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  documentation: 'The patient and the resources whose subject or patient they are; takes _type, _count and _offset.',
};

const BEHAVIOUR_NOTES: Record<ServerBehaviour, string> = {
  default: '',
  hapi:
    ` Behaving like HAPI FHIR: next links are opaque (_getpages), pages hold at most ${HAPI_MAX_PAGE_SIZE} entries ` +
    'and no total unless asked for (_summary=count, _total=accurate), and an update or delete with a stale If-Match ' +
    'is refused with 409.',
  'read-only': ' Read-only: every create, update, delete, batch and transaction is refused with 405.',
  minimal:
    ' Minimal: no batch or transaction; one reference per reference search parameter (comma-separated lists are ' +
    'refused); no _lastUpdated; no $everything.',
};

/** What this server really does, built from the loaded definitions: only search parameters it can match. */
export function capabilityStatement(
  baseUrl: string,
  software: { name: string; version: string },
  behave: ServerBehaviour = 'default'
): CapabilityStatement {
  const writable = behave !== 'read-only';
  const bundles = behave === 'default' || behave === 'hapi';
  const resources: CapabilityStatementRestResource[] = getResourceTypes()
    .sort()
    .map((type) => ({
      type,
      versioning: 'versioned',
      readHistory: true,
      updateCreate: writable,
      conditionalCreate: writable,
      conditionalUpdate: writable,
      conditionalDelete: writable ? 'single' : 'not-supported',
      interaction: (writable ? [...READS, ...WRITES] : READS).map((code) => ({ code })),
      searchParam: searchParamsOf(type, behave),
      ...(type === 'Patient' && answersEverything(behave) ? { operation: [EVERYTHING] } : {}),
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
          'updates, or 8 entries when any is conditional.' +
          BEHAVIOUR_NOTES[behave],
        resource: resources,
        ...(bundles ? { interaction: [{ code: 'transaction' as const }, { code: 'batch' as const }] } : {}),
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

function searchParamsOf(type: string, behave: ServerBehaviour): CapabilityStatementRestResourceSearchParam[] {
  return Object.values(getSearchParameters(type) ?? {})
    .filter((param) => SUPPORTED_SEARCH_TYPES.has(param.type) && param.code !== '_compartment')
    .filter((param) => behave !== 'minimal' || param.code !== '_lastUpdated')
    .map((param) => ({
      name: param.code as string,
      type: param.type,
      definition: param.url,
      ...(behave === 'minimal' && param.type === 'reference'
        ? { documentation: 'One reference per search: comma-separated lists are refused with 400.' }
        : {}),
    }));
}
