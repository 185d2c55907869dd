import type { CapabilityStatement } from '@medplum/fhirtypes';
import { ConfigError } from '../config';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { ProvenanceInfo, WriteOutcome } from './apply';
import { applyInTransaction, emptyOutcome } from './apply';
import type { WritePlan } from './reconcile';
import type { ReferenceBook } from './resources';
import { applyStepwise } from './stepwise';

/**
 * How one subject's writes reach the server:
 * - `transaction`: one Bundle, all or nothing, with its Provenance;
 * - `batch`: Bundles of independent entries, in waves (a resource that refers to one being created waits for it);
 * - `individual`: one request per resource, in the same order.
 * All three keep the same idempotency: conditional creates on the business identifier, updates with If-Match, a
 * Provenance whose id derives from the changes it records, written last.
 */
export const WRITE_STRATEGIES = ['transaction', 'batch', 'individual'] as const;
export type WriteStrategy = (typeof WRITE_STRATEGIES)[number];
/** `auto`: the best strategy the target's CapabilityStatement declares. */
export type WriteStrategySetting = WriteStrategy | 'auto';

/** What the connector writes, and so what the target must let it create and update. */
const WRITTEN_TYPES = ['Task', 'Flag', 'CarePlan', 'Group', 'Provenance'] as const;

/**
 * The strategy a CapabilityStatement allows: a transaction where declared, else a batch, else one request at a time.
 * Refuses (naming `writeback.strategy`) a server that says it cannot create or update what the connector writes, or
 * cannot create conditionally: without If-None-Exist a re-run could duplicate.
 */
export function strategyFor(capabilities: CapabilityStatement): WriteStrategy {
  const rest = capabilities.rest?.find((r) => r.mode === 'server') ?? capabilities.rest?.[0];
  const problems: string[] = [];
  for (const type of WRITTEN_TYPES) {
    const declared = rest?.resource?.find((r) => r.type === type);
    if (!declared) {
      continue; // a server that lists no resources says nothing either way
    }
    const interactions = new Set(declared.interaction?.map((i) => i.code));
    const missing = ['create', 'update'].filter((code) => !interactions.has(code as 'create'));
    if (missing.length) {
      problems.push(`the FHIR server does not allow ${missing.join(' or ')} of ${type}`);
    }
    if (declared.conditionalCreate === false && type !== 'Provenance') {
      problems.push(`the FHIR server does not allow conditional create of ${type} (If-None-Exist)`);
    }
  }
  if (problems.length) {
    throw new ConfigError('writeback.strategy', problems);
  }
  const interactions = new Set(rest?.interaction?.map((i) => i.code));
  return interactions.has('transaction') ? 'transaction' : interactions.has('batch') ? 'batch' : 'individual';
}

const chosen = new WeakMap<FhirClient, Promise<WriteStrategy>>();

/** The strategy to use with this client: as set, or for `auto` from its CapabilityStatement (read once per client). */
export function resolveStrategy(
  client: FhirClient,
  setting: WriteStrategySetting | undefined,
  signal?: AbortSignal
): Promise<WriteStrategy> {
  if (setting !== 'auto') {
    return Promise.resolve(setting ?? 'transaction');
  }
  let strategy = chosen.get(client);
  if (!strategy) {
    strategy = client.capabilities(signal).then(strategyFor);
    strategy.catch(() => chosen.delete(client)); // a failed read is asked again, not remembered
    chosen.set(client, strategy);
  }
  return strategy;
}

export interface PlanOptions {
  strategy?: WriteStrategySetting;
  /** Entries per transaction or batch the server accepts. */
  maxEntries: number;
  signal?: AbortSignal;
}

/** Applies one subject's plan, with its Provenance, by the strategy set (or the one the server allows). */
export async function applyPlan(
  client: FhirClient,
  plan: WritePlan,
  book: ReferenceBook | undefined,
  info: ProvenanceInfo,
  options: PlanOptions
): Promise<WriteOutcome> {
  let strategy: WriteStrategy;
  try {
    strategy = await resolveStrategy(client, options.strategy, options.signal);
  } catch (err) {
    if (!(err instanceof FhirError) || err.kind === 'aborted') {
      throw err;
    }
    // The CapabilityStatement could not be read: nothing written for this subject, asked again for the next.
    return {
      ...emptyOutcome(),
      unchanged: plan.unchanged.length,
      failures: [{ target: info.subjectKey, reason: err.message }],
    };
  }
  // A patient's changes that outgrow one transaction (the run that reads a conversation with many goals and
  // referrals) are written in batch waves instead: each resource whole, converging on a re-run as a batch does.
  const entries = plan.creates.length + plan.updates.length + 1;
  if (strategy === 'transaction' && entries <= options.maxEntries) {
    return applyInTransaction(client, plan, book, info, options);
  }
  return applyStepwise(client, plan, book, info, {
    ...options,
    strategy: strategy === 'transaction' ? 'batch' : strategy,
  });
}
