/**
 * A small seeded PRNG (mulberry32) and the distributions the synthetic population needs. Deterministic: the same
 * seed gives the same sequence on every machine, which keeps generated populations reproducible.
 */
/**
 * Math's functions, looked up once: under jest a module runs in a vm context, where each global lookup goes through an
 * interceptor and costs some 30 times a local one (jestjs/jest#5163) — the generator draws millions of numbers.
 */
const { imul, floor, exp, sqrt, log, cos, round, max, PI } = Math;

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A generator for item `index` of a stream seeded with `seed`: item i is the same whatever the stream's length. */
  static forItem(seed: number, index: number): Random {
    return new Random(hash32(seed, index));
  }

  /** A generator for one cell of a nested stream (e.g. seed, stream, patient, month): independent of every other. */
  static derive(seed: number, ...parts: number[]): Random {
    return new Random(parts.reduce((h, part) => hash32(h, part), seed >>> 0));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state += 0x6d2b79f5);
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) {
      throw new RangeError('cannot pick from an empty list');
    }
    return items[floor(this.next() * items.length)] as T;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, weight] of items) {
      r -= weight;
      if (r < 0) {
        return item;
      }
    }
    return (items[items.length - 1] as readonly [T, number])[0];
  }

  /** Poisson-distributed count (Knuth's method; a normal approximation above λ = 30). */
  poisson(lambda: number): number {
    if (lambda <= 0) {
      return 0;
    }
    if (lambda > 30) {
      return max(0, round(lambda + sqrt(lambda) * this.normal()));
    }
    const limit = exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }

  /** Gamma with the given shape and mean 1 (Marsaglia–Tsang): over-dispersion for contact rates. */
  gammaUnitMean(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v = (1 + c * x) ** 3;
      if (v > 0 && log(1 - this.next()) < 0.5 * x * x + d - d * v + d * log(v)) {
        return (d * v) / shape;
      }
    }
  }

  /** `count` distinct items, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length) {
      out.push(pool.splice(floor(this.next() * pool.length), 1)[0] as T);
    }
    return out;
  }
}

/** Mixes two integers into a well-spread 32-bit seed. */
function hash32(a: number, b: number): number {
  let h = imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ imul(b + 0x632be59b, 0xc2b2ae35);
  h = imul(h ^ (h >>> 16), 0x7feb352d);
  h = imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
