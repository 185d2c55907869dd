/** Small statistics for the survey: counts per patient summarised without keeping anything but numbers. */

/** The value at a quantile by nearest rank (p = 0.5 is the median, 0.9 the 90th centile); 0 for no values. */
export function quantile(values: readonly number[], p: number): number {
  if (!values.length) {
    return 0;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] as number;
}

export interface Spread {
  median: number;
  p90: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: quantile(values, 0.5), p90: quantile(values, 0.9), max: values.length ? Math.max(...values) : 0 };
}

/** Counts by key, most frequent first (ties by key, so reports are stable). */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get size(): number {
    return this.counts.size;
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }
}
