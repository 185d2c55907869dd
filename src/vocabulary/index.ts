/**
 * The project's own terminology and identifier systems. Every resource the connector writes is tagged with
 * MANAGED_TAG and carries a business identifier from one of the IDENTIFIER systems, which is what makes writes
 * idempotent and lets the connector recognise (and only ever touch) its own resources.
 */
export const CANONICAL_BASE = 'https://fhir.hfu-connector.org';

/** National identifier systems (NHS England). */
export const NHS_SYSTEM = {
  nhsNumber: 'https://fhir.nhs.uk/Id/nhs-number',
  ods: 'https://fhir.nhs.uk/Id/ods-organization-code',
} as const;

export const CODE_SYSTEM = {
  /** Programme-level codes: the HFU flag, the objection to proactive contact, the managed-by tag. */
  hfu: `${CANONICAL_BASE}/CodeSystem/hfu`,
  task: `${CANONICAL_BASE}/CodeSystem/hfu-task`,
  tier: `${CANONICAL_BASE}/CodeSystem/hfu-tier`,
} as const;

export const IDENTIFIER = {
  cohort: `${CANONICAL_BASE}/Id/cohort`,
  task: `${CANONICAL_BASE}/Id/task`,
} as const;

export const MANAGED_TAG = {
  system: CODE_SYSTEM.hfu,
  code: 'managed-by-hfu-connector',
  display: 'Written by hfu-connector',
};

export const TASK_CODE = {
  mdtReview: { system: CODE_SYSTEM.task, code: 'mdt-review', display: 'MDT review of a proposed HFU candidate' },
} as const;

export type TierId = 'first' | 'second';

export const TIER_CODE: Record<TierId, { system: string; code: string; display: string }> = {
  first: { system: CODE_SYSTEM.tier, code: 'first', display: 'First priority' },
  second: { system: CODE_SYSTEM.tier, code: 'second', display: 'Second priority' },
};

/** `system|code` for search parameters. */
export function token(coding: { system: string; code: string }): string {
  return `${coding.system}|${coding.code}`;
}
