import { MANAGED_TAG } from '../vocabulary';

/** Invariants every profile of a resource the connector writes shares. */
export const managed = {
  key: 'hfu-managed',
  human: 'Carries the hfu-connector tag',
  expression: `meta.tag.where(system = '${MANAGED_TAG.system}' and code = '${MANAGED_TAG.code}').exists()`,
};

export const identified = (system: string, key: string) => ({
  key,
  human: `Has a business identifier in ${system}`,
  expression: `identifier.where(system = '${system}' and value.exists()).exists()`,
});

/** A patient, relative (`Patient/1`) or, when the record is not on the source, absolute on the source's base URL. */
export const PATIENT_REFERENCE = '^(https?://[^ ]+/)?Patient/[A-Za-z0-9.-]{1,64}$';
