import { median, round } from './stats';

/** One GP contact: its day and the practitioner named on it. */
export interface Visit {
  day: string;
  practitioner: string;
}

/** Continuity of one patient's GP contacts, from two contacts with a named practitioner. */
export interface PatientContinuity {
  visits: number;
  distinctGps: number;
  /** Usual Provider of Care: the share of contacts with the practitioner seen most. */
  upc: number;
  /** Bice–Boxerman Continuity of Care: (Σ nⱼ² − n) / (n(n − 1)); 1 when one practitioner saw every contact. */
  coc: number;
  /** Sequential continuity: the share of consecutive contacts with the same practitioner as the one before. */
  secon: number;
}

export function patientContinuity(visits: readonly Visit[]): PatientContinuity | undefined {
  const n = visits.length;
  if (n < 2) {
    return undefined;
  }
  const ordered = [...visits].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const byGp = new Map<string, number>();
  for (const visit of ordered) {
    byGp.set(visit.practitioner, (byGp.get(visit.practitioner) ?? 0) + 1);
  }
  const counts = [...byGp.values()];
  let same = 0;
  for (let i = 1; i < n; i++) {
    same += ordered[i]?.practitioner === ordered[i - 1]?.practitioner ? 1 : 0;
  }
  return {
    visits: n,
    distinctGps: byGp.size,
    upc: Math.max(...counts) / n,
    coc: (counts.reduce((s, c) => s + c * c, 0) - n) / (n * (n - 1)),
    secon: same / (n - 1),
  };
}

export interface GroupContinuity {
  /** Patients of the group with at least two GP contacts naming a practitioner (the figures are theirs). */
  patients: number;
  medianDistinctGps: number | null;
  medianUpc: number | null;
  medianCoc: number | null;
  medianSecon: number | null;
}

export function groupContinuity(patients: readonly PatientContinuity[]): GroupContinuity {
  const of = (pick: (p: PatientContinuity) => number) => {
    const m = median(patients.map(pick));
    return m === null ? null : round(m, 3);
  };
  return {
    patients: patients.length,
    medianDistinctGps: of((p) => p.distinctGps),
    medianUpc: of((p) => p.upc),
    medianCoc: of((p) => p.coc),
    medianSecon: of((p) => p.secon),
  };
}
