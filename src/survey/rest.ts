import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { MANAGED_TYPES } from '../lifecycle';

/** The types the connector writes back (writeback/), and the search each is found again by. */
export const WRITTEN: Record<string, string | undefined> = {
  Group: 'identifier',
  ...Object.fromEntries(MANAGED_TYPES.map((type) => [type, '_tag'])),
  Provenance: undefined,
};

export const WRITTEN_TYPES = Object.keys(WRITTEN);

/** A CapabilityStatement's server entry, indexed for the survey's questions: what is declared, by type and name. */
export interface Rest {
  resources: Map<string, CapabilityStatementRestResource>;
  interactions: Set<string>;
  searchParams: Set<string>;
  /** Every operation the statement names, system-wide or on any type (`export`). */
  operations: Set<string>;
  /** The operations declared on Patient, or system-wide (`everything`). */
  patientOperations: Set<string>;
}

export const interaction = (type: string, code: string) => (rest: Rest) =>
  rest.resources.get(type)?.interaction?.some((i) => i.code === code) ?? false;
export const searchParam = (type: string, name: string) => (rest: Rest) =>
  rest.searchParams.has(name) || (rest.resources.get(type)?.searchParam?.some((p) => p.name === name) ?? false);

/** The statement's `rest` entry for the server, indexed; empty when there is none. */
export function restOf(statement: CapabilityStatement | undefined): Rest {
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
