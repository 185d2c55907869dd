import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { CompiledMapping } from '../mappings';
import type { CapabilitySurvey } from './report';
import type { Rest } from './rest';
import { interaction, restOf, searchParam, WRITTEN } from './rest';
import type { Observed } from './settings';
import { settingsThatFollow } from './settings';

interface Use {
  use: string;
  area: 'read' | 'write' | 'optional';
  declared: (rest: Rest) => boolean;
}

/** What the connector would ask of the server with this mapping: each search, parameter, interaction, operation. */
export function connectorUses(mapping: Pick<CompiledMapping, 'resourceTypes' | 'search'>): Use[] {
  const uses: Use[] = [
    { use: 'Patient: search', area: 'read', declared: interaction('Patient', 'search-type') },
    { use: 'Patient: _count', area: 'read', declared: searchParam('Patient', '_count') },
    { use: 'Patient: _id', area: 'read', declared: searchParam('Patient', '_id') },
    { use: 'Patient: _summary=count', area: 'optional', declared: searchParam('Patient', '_summary') },
    {
      use: 'Patient: general-practitioner (practice scopes)',
      area: 'optional',
      declared: searchParam('Patient', 'general-practitioner'),
    },
    {
      use: 'Organization: identifier (practice scopes)',
      area: 'optional',
      declared: searchParam('Organization', 'identifier'),
    },
  ];
  for (const type of mapping.resourceTypes) {
    const search = mapping.search[type];
    uses.push({ use: `${type}: search`, area: 'read', declared: interaction(type, 'search-type') });
    if (search) {
      uses.push({ use: `${type}: ${search.subject}`, area: 'read', declared: searchParam(type, search.subject) });
      if (search.date) {
        uses.push({ use: `${type}: ${search.date}`, area: 'optional', declared: searchParam(type, search.date) });
      }
    }
  }
  for (const type of ['Patient', ...mapping.resourceTypes]) {
    uses.push({
      use: `${type}: _lastUpdated (extract.incremental)`,
      area: 'optional',
      declared: searchParam(type, '_lastUpdated'),
    });
  }
  uses.push({
    use: 'Patient/[id]/$everything (extract.subjectSearch everything)',
    area: 'optional',
    declared: (rest) => rest.patientOperations.has('everything'),
  });
  for (const [type, param] of Object.entries(WRITTEN)) {
    uses.push(
      { use: `${type}: create`, area: 'write', declared: interaction(type, 'create') },
      { use: `${type}: update`, area: 'write', declared: interaction(type, 'update') },
      ...(param
        ? [
            { use: `${type}: search`, area: 'write' as const, declared: interaction(type, 'search-type') },
            { use: `${type}: ${param}`, area: 'write' as const, declared: searchParam(type, param) },
          ]
        : []),
      {
        use: `${type}: conditional create`,
        area: 'write',
        declared: (rest) => rest.resources.get(type)?.conditionalCreate === true,
      }
    );
  }
  uses.push(
    { use: 'transaction', area: 'write', declared: (rest) => rest.interactions.has('transaction') },
    { use: 'batch', area: 'optional', declared: (rest) => rest.interactions.has('batch') },
    {
      use: '$export (Bulk Data, extract.mode bulk)',
      area: 'optional',
      declared: (rest) => rest.operations.has('export'),
    },
    {
      use: 'Patient: $everything (extract.subjectSearch everything)',
      area: 'optional',
      declared: (rest) =>
        rest.operations.has('everything') ||
        (rest.resources.get('Patient')?.operation ?? []).some((op) => op.name === 'everything'),
    }
  );
  return uses;
}

/** `GET metadata`; a server that will not say is reported, not fatal. */
export async function readCapabilities(
  client: FhirClient,
  signal?: AbortSignal
): Promise<CapabilityStatement | undefined> {
  try {
    return await client.capabilities(signal);
  } catch (err) {
    if (!(err instanceof FhirError)) {
      throw err;
    }
    return undefined;
  }
}

/** A separate write target (`writeback.fhir`): its base URL and what its `GET metadata` said. */
export interface TargetStatement {
  baseUrl: string;
  statement: CapabilityStatement | undefined;
}

/**
 * The server's CapabilityStatement against what the connector would use, and the settings that follow. With a
 * separate target, the writes are checked against the target's statement instead.
 */
export function capabilitySurvey(
  mapping: Pick<CompiledMapping, 'resourceTypes' | 'search'>,
  statement: CapabilityStatement | undefined,
  observed: Observed,
  target?: TargetStatement
): CapabilitySurvey {
  const rest = restOf(statement);
  const writes = target ? restOf(target.statement) : rest;
  return {
    read: Boolean(statement),
    ...(statement?.fhirVersion ? { fhirVersion: statement.fhirVersion } : {}),
    ...(statement?.software?.name ? { software: statement.software.name } : {}),
    ...(target ? { target: { endpoint: target.baseUrl, read: Boolean(target.statement) } } : {}),
    checks: connectorUses(mapping).map(({ use, area, declared }) => ({
      use,
      area,
      declared: declared(area === 'write' ? writes : rest),
    })),
    settings: settingsThatFollow(
      mapping,
      statement ? rest : undefined,
      observed,
      target ? { kind: 'separate', rest: target.statement ? writes : undefined } : { kind: 'source' }
    ),
  };
}
