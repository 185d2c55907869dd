import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { CompiledMapping } from '../mappings';
import type { CapabilitySurvey } from './report';

/** The types the connector writes back (writeback/), and the search each is found again by. */
const WRITTEN: Record<string, string | undefined> = {
  Group: 'identifier',
  Flag: '_tag',
  Task: '_tag',
  CarePlan: '_tag',
  Provenance: undefined,
};

interface Use {
  use: string;
  area: 'read' | 'write' | 'optional';
  declared: (rest: Rest) => boolean;
}

interface Rest {
  resources: Map<string, CapabilityStatementRestResource>;
  interactions: Set<string>;
  searchParams: Set<string>;
  operations: Set<string>;
}

const interaction = (type: string, code: string) => (rest: Rest) =>
  rest.resources.get(type)?.interaction?.some((i) => i.code === code) ?? false;
const searchParam = (type: string, name: string) => (rest: Rest) =>
  rest.searchParams.has(name) || (rest.resources.get(type)?.searchParam?.some((p) => p.name === name) ?? false);

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

/** `GET metadata` against what the connector would use. A server that will not say is reported, not fatal. */
export async function capabilitySurvey(
  client: FhirClient,
  mapping: CompiledMapping,
  signal?: AbortSignal
): Promise<CapabilitySurvey> {
  let statement: CapabilityStatement | undefined;
  try {
    statement = await client.capabilities(signal);
  } catch (err) {
    if (!(err instanceof FhirError)) {
      throw err;
    }
  }
  const server = statement?.rest?.find((r) => r.mode === 'server');
  const rest: Rest = {
    resources: new Map((server?.resource ?? []).map((r) => [r.type, r])),
    interactions: new Set((server?.interaction ?? []).map((i) => i.code)),
    searchParams: new Set((server?.searchParam ?? []).map((p) => p.name)),
    operations: new Set(
      [...(server?.operation ?? []), ...(server?.resource ?? []).flatMap((r) => r.operation ?? [])].map((o) =>
        o.name.replace(/^\$/, '')
      )
    ),
  };
  return {
    read: Boolean(statement),
    ...(statement?.fhirVersion ? { fhirVersion: statement.fhirVersion } : {}),
    ...(statement?.software?.name ? { software: statement.software.name } : {}),
    checks: connectorUses(mapping).map(({ use, area, declared }) => ({ use, area, declared: declared(rest) })),
  };
}
