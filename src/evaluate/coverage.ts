import type { Decision } from '../criteria';

/** A population smaller than this may well have no patient with a rare feature (a carer, frailty): no warning. */
export const COVERAGE_MIN_POPULATION = 500;

/**
 * Which features matched at least one resource across the population. A feature that matched nothing over a whole
 * population of hundreds is more likely a mapping that reads the wrong element than a population without it.
 */
export class FeatureCoverage {
  private readonly matched = new Set<string>();
  private readonly features = new Set<string>();
  private patients = 0;

  add(decision: Decision): void {
    this.patients++;
    for (const [feature, evidence] of Object.entries(decision.evidence)) {
      this.features.add(feature);
      if (evidence.length) {
        this.matched.add(feature);
      }
    }
  }

  /** Features with no match at all, when the population is big enough to tell. */
  unmatched(): { features: string[]; patients: number } {
    const features =
      this.patients < COVERAGE_MIN_POPULATION ? [] : [...this.features].filter((f) => !this.matched.has(f)).sort();
    return { features, patients: this.patients };
  }
}
