export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Benchmarks print to stdout: a heading and aligned figures. */
export function report(title: string, figures: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  process.stdout.write(`\n${title}\n`);
  for (const [key, value] of Object.entries(figures)) {
    process.stdout.write(`  ${key.padEnd(width)}  ${value}\n`);
  }
}
