import type { FactValue, PatientFeatures } from '../mappings';
import type { TierId } from '../vocabulary';
import type { CompiledRule, Programme } from './load';

/** What the record says of a patient's place in the programme, as the exclusions see it (`%state`). */
export interface ProgrammeState {
  coolingOff: boolean;
}

export const NO_STATE: ProgrammeState = { coolingOff: false };

export interface Decision {
  patientId: string;
  facts: Record<string, FactValue>;
  evidence: Record<string, string[]>;
  /** The tier the criteria give, before exclusions. */
  qualifyingTier?: TierId;
  /** Exclusions that hold (ids). */
  excludedBy: string[];
  /** The tier the patient is a candidate in: the qualifying tier when nothing excludes them. */
  tier?: TierId;
  riskFactors: string[];
  /** The first exclusion that holds and that the programme says ends a patient's time in it (`exit: true`). */
  exitReason?: string;
  /** The programme state the exclusions saw, so an explanation re-reads the rules as the decision did. */
  state?: ProgrammeState;
}

/**
 * Applies a programme to one patient's features. `stateOf` receives the qualifying tier, because whether a recent
 * decline still holds depends on it (a patient whose tier rises is proposed again within the cool-off).
 */
export function decide(
  programme: Programme,
  patientId: string,
  features: PatientFeatures,
  stateOf: (qualifyingTier: TierId | undefined) => ProgrammeState = () => NO_STATE
): Decision {
  const base = { f: features.facts, p: programme.parameters };
  const qualifyingTier = programme.tiers.find((tier) => holds(tier, base))?.id;
  const vars = { ...base, state: stateOf(qualifyingTier) };
  const excluding = programme.exclusions.filter((rule) => holds(rule, vars));
  const excludedBy = excluding.map((rule) => rule.id);
  const exitReason = excluding.find((rule) => rule.exit)?.id;
  return {
    patientId,
    facts: features.facts,
    evidence: features.evidence,
    qualifyingTier,
    excludedBy,
    tier: excludedBy.length ? undefined : qualifyingTier,
    riskFactors: programme.riskFactors.filter((rule) => holds(rule, vars)).map((rule) => rule.id),
    ...(exitReason ? { exitReason } : {}),
    state: vars.state,
  };
}

/** A rule holds only when its expression gives exactly `true` (empty or anything else does not). */
export function holds(rule: CompiledRule, variables: Record<string, unknown>): boolean {
  const result = rule.test({}, variables);
  return result.length === 1 && result[0] === true;
}

export interface RuleExplanation {
  id: string;
  title: string;
  when: string;
  holds: boolean;
  /** The features the rule reads, with this patient's values. */
  values: Record<string, FactValue>;
}

/**
 * Every tier, exclusion and risk factor with whether it holds and the values it read: the explanation. The state is
 * the one the decision was made with unless given.
 */
export function explainDecision(
  programme: Programme,
  decision: Decision,
  state: ProgrammeState = decision.state ?? NO_STATE
): Record<string, RuleExplanation[]> {
  const vars = { f: decision.facts, p: programme.parameters, state };
  const explain = (rules: CompiledRule[]): RuleExplanation[] =>
    rules.map((rule) => ({
      id: rule.id,
      title: rule.title,
      when: substituteParameters(rule.when, programme.parameters),
      holds: holds(rule, vars),
      values: Object.fromEntries(rule.features.map((f) => [f, decision.facts[f] ?? null])),
    }));
  return {
    tiers: explain(programme.tiers),
    exclusions: explain(programme.exclusions),
    riskFactors: explain(programme.riskFactors),
  };
}

/** `%p.repeatItems` → `10`, so an explanation reads as the thresholds in force. */
export function substituteParameters(expression: string, parameters: Readonly<Record<string, number>>): string {
  return expression.replace(/%p\.([A-Za-z][A-Za-z0-9]*)/g, (whole, name: string) =>
    name in parameters ? String(parameters[name]) : whole
  );
}
