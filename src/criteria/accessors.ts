import type { Decision } from './decide';
import type { Programme } from './load';
import type { LifecycleParameter } from './schema';
import { LIFECYCLE_PARAMETERS } from './schema';

/**
 * What generic code asks of a programme, so that it never names one programme's features or rules: the lifecycle's
 * cadences, the evidence a care plan addresses.
 */

/** The lifecycle's cadences and cool-off, as the programme declares them with the site's overrides. */
export function lifecycleParameters(programme: Programme): Readonly<Record<LifecycleParameter, number>> {
  return Object.fromEntries(
    Object.keys(LIFECYCLE_PARAMETERS).map((name) => [name, programme.parameters[name as LifecycleParameter]])
  ) as Record<LifecycleParameter, number>;
}

/** The references a care plan addresses: the evidence of the programme's `carePlanAddresses` features (conditions). */
export function addressedEvidence(programme: Programme, decision: Pick<Decision, 'evidence'>): string[] {
  return [...new Set(programme.carePlanAddresses.flatMap((feature) => decision.evidence[feature] ?? []))];
}
