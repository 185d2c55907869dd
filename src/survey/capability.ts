import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { CompiledMapping } from '../mappings';
import type { CapabilitySurvey, SettingAdvice } from './report';

/** The types the connector writes back (writeback/), and the search each is found again by. */
const WRITTEN: Record<string, string | undefined> = {
  Group: 'identifier',
  Flag: '_tag',
  Task: '_tag',
  CarePlan: '_tag',
  Provenance: undefined,
};

const WRITTEN_TYPES = Object.keys(WRITTEN);

interface Use {
  use: string;
  area: 'read' | 'write' | 'optional';
  declared: (rest: Rest) => boolean;
}

interface Rest {
  resources: Map<string, CapabilityStatementRestResource>;
  interactions: Set<string>;
  searchParams: Set<string>;
  /** Every operation the statement names, system-wide or on any type (`export`). */
  operations: Set<string>;
  /** The operations declared on Patient, or system-wide (`everything`). */
  patientOperations: Set<string>;
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

/** What the survey saw the server do, beyond what it declares. */
export interface Observed {
  /** Types read one patient at a time because the server refused a list of patients in one search. */
  refusedPatientLists: readonly string[];
}

/** The server's CapabilityStatement against what the connector would use, and the settings that follow. */
export function capabilitySurvey(
  mapping: Pick<CompiledMapping, 'resourceTypes' | 'search'>,
  statement: CapabilityStatement | undefined,
  observed: Observed
): CapabilitySurvey {
  const rest = restOf(statement);
  return {
    read: Boolean(statement),
    ...(statement?.fhirVersion ? { fhirVersion: statement.fhirVersion } : {}),
    ...(statement?.software?.name ? { software: statement.software.name } : {}),
    checks: connectorUses(mapping).map(({ use, area, declared }) => ({ use, area, declared: declared(rest) })),
    settings: settingsThatFollow(mapping, statement ? rest : undefined, observed),
  };
}

function restOf(statement: CapabilityStatement | undefined): Rest {
  const server = statement?.rest?.find((r) => r.mode === 'server');
  const names = (ops: readonly { name: string }[]) => ops.map((o) => o.name.replace(/^\$/, ''));
  const system = server?.operation ?? [];
  const patient = server?.resource?.find((r) => r.type === 'Patient')?.operation ?? [];
  return {
    resources: new Map((server?.resource ?? []).map((r) => [r.type, r])),
    interactions: new Set((server?.interaction ?? []).map((i) => i.code)),
    searchParams: new Set((server?.searchParam ?? []).map((p) => p.name)),
    operations: new Set(names([...system, ...(server?.resource ?? []).flatMap((r) => r.operation ?? [])])),
    patientOperations: new Set(names([...system, ...patient])),
  };
}

/**
 * The settings that follow from what the server declares and what the survey saw it do: for each, the value to use
 * and why. `rest` is undefined when the server gave no CapabilityStatement: only what was seen can be said then.
 */
function settingsThatFollow(
  mapping: Pick<CompiledMapping, 'resourceTypes' | 'search'>,
  rest: Rest | undefined,
  observed: Observed
): SettingAdvice[] {
  const settings: SettingAdvice[] = [subjectSearchAdvice(rest, observed)];
  if (!rest) {
    return [
      ...settings,
      {
        setting: 'writeback.strategy',
        value: 'transaction',
        because: 'the server did not answer GET metadata, so nothing else can be read from it; `auto` would fail',
      },
    ];
  }
  settings.push(...writeAdvice(rest));
  settings.push(incrementalAdvice(mapping, rest), bulkAdvice(rest));
  const undated = mapping.resourceTypes.filter((type) => {
    const date = mapping.search[type]?.date;
    return date !== undefined && !searchParam(type, date)(rest);
  });
  if (undated.length) {
    settings.push({
      setting: 'extract.dateBounds',
      value: 'false, if searches with a date are refused',
      because: `the server does not declare the date parameter for ${undated.join(', ')}, which the searches use to read only the look-back window`,
    });
  }
  settings.push({
    setting: 'fhir.maxUrlLength',
    value: '8000 (the default) unless long searches fail',
    because:
      'a server’s URL length limit cannot be read from metadata; if searches for many patients fail (HTTP 414 or 400), lower it',
  });
  return settings;
}

function subjectSearchAdvice(rest: Rest | undefined, observed: Observed): SettingAdvice {
  const everything = rest?.patientOperations.has('everything') ?? false;
  if (observed.refusedPatientLists.length) {
    return {
      setting: 'extract.subjectSearch',
      value: everything ? 'everything (or per-patient)' : 'per-patient',
      because: `the server refused a list of patients in one search (${observed.refusedPatientLists.join(', ')})${
        everything ? '; it declares Patient/$everything, one request per patient for every type' : ''
      }`,
    };
  }
  return {
    setting: 'extract.subjectSearch',
    value: 'or-list (the default)',
    because: `whether the server takes a comma-separated list of patients cannot be read from metadata; it took the survey’s lists${
      everything ? '. It declares Patient/$everything: `everything` is possible too' : ''
    }`,
  };
}

/** Where and how the connector writes: this server as the target, or a separate one when it is read-only. */
function writeAdvice(rest: Rest): SettingAdvice[] {
  // A statement that lists no resources says nothing either way (as `writeback.strategy: auto` reads it).
  const listsResources = WRITTEN_TYPES.some((type) => rest.resources.has(type));
  const writable = (type: string) => interaction(type, 'create')(rest) && interaction(type, 'update')(rest);
  const unwritable = listsResources ? WRITTEN_TYPES.filter((type) => !writable(type)) : [];
  if (unwritable.length === WRITTEN_TYPES.length) {
    return [
      {
        setting: 'writeback.fhir',
        value: 'a separate, writable endpoint',
        because: `the server declares no create or update of ${WRITTEN_TYPES.join(', ')}: it is read-only for the connector, so the programme’s own records must go to another store`,
      },
    ];
  }
  const advice: SettingAdvice[] = [];
  if (unwritable.length) {
    advice.push({
      setting: 'writeback.fhir',
      value: 'a separate, writable endpoint',
      because: `the server declares no create or update of ${unwritable.join(', ')}`,
    });
  }
  const noConditional = WRITTEN_TYPES.filter(
    (type) => type !== 'Provenance' && rest.resources.get(type)?.conditionalCreate === false
  );
  if (noConditional.length) {
    advice.push({
      setting: 'writeback.fhir',
      value: 'a separate endpoint with conditional create',
      because: `the server does not allow conditional create (If-None-Exist) of ${noConditional.join(', ')}: a re-run could duplicate them, and \`writeback.strategy: auto\` refuses it`,
    });
  }
  const strategy = rest.interactions.has('transaction')
    ? { value: 'transaction (the default)', because: 'the server declares transactions' }
    : rest.interactions.has('batch')
      ? { value: 'batch (or individual)', because: 'the server declares batches but no transactions' }
      : { value: 'individual', because: 'the server declares neither transactions nor batches' };
  advice.push({
    setting: 'writeback.strategy',
    value: strategy.value,
    because: `${strategy.because}; \`auto\` picks the same`,
  });
  return advice;
}

function incrementalAdvice(mapping: Pick<CompiledMapping, 'resourceTypes'>, rest: Rest): SettingAdvice {
  const missing = ['Patient', ...mapping.resourceTypes].filter((type) => !searchParam(type, '_lastUpdated')(rest));
  if (!missing.length) {
    return {
      setting: 'extract.incremental',
      value: 'true is possible',
      because:
        'the server declares _lastUpdated on every type read: later runs can read only the patients whose data changed',
    };
  }
  const bulk = rest.operations.has('export');
  return {
    setting: 'extract.incremental',
    value: bulk ? 'false, or true with extract.mode bulk' : 'false',
    because: `the server does not declare _lastUpdated on ${missing.join(', ')}: incremental reads by search are unavailable${
      bulk ? '; a Bulk Data export with _since still finds what changed' : ''
    }`,
  };
}

function bulkAdvice(rest: Rest): SettingAdvice {
  return rest.operations.has('export')
    ? {
        setting: 'extract.mode',
        value: 'search, or bulk',
        because: 'the server declares $export: one Bulk Data export can read the whole population',
      }
    : {
        setting: 'extract.mode',
        value: 'search (the default)',
        because: 'the server does not declare $export (Bulk Data)',
      };
}
