import type { CarePlan, Encounter, Practitioner, Resource } from '@medplum/fhirtypes';
import { addMonths } from '../../../src/dates';
import {
  enrolmentDates,
  generatePatient,
  generatePatientProfile,
  generatePatients,
  practiceResources,
  synthesizePractice,
} from '../../../src/synth';
import type { PracticeOptions } from '../../../src/synth';
import { HFU_CODE, MANAGED_TAG } from '../../../src/vocabulary';
import type { PatientCounts } from '../../helpers/tiers';
import { countsFromResources } from '../../helpers/tiers';

/**
 * The multi-year model against the seeds' figures, every figure read back from the emitted resources (by the
 * tests' own tier oracle and the encounters' participants), never from the generator's intentions.
 */
const AS_OF = '2026-11-23';
const OPTIONS: PracticeOptions = { patients: 10_000, seed: 1, asOf: AS_OF, historyYears: 3 };
const YEAR_ENDS = [addMonths(AS_OF, -24), addMonths(AS_OF, -12), AS_OF];
const PRACTITIONERS = new Set(
  practiceResources(OPTIONS)
    .filter((r): r is Practitioner => r.resourceType === 'Practitioner')
    .map((p) => `Practitioner/${p.id}`)
);

/**
 * What the tests need of each patient, read from their emitted resources one patient at a time (so the 10,000
 * patients' records never sit in memory at once): counts per year by the tier oracle, and last year's GP visits by
 * the practitioner the encounter names.
 */
const yearly = YEAR_ENDS.map(() => new Map<string, PatientCounts>());
const lastYearByGp = new Map<string, Map<string, number>>();
const unnamed: string[] = [];
for (const patient of generatePatients(OPTIONS)) {
  YEAR_ENDS.forEach((end, y) => {
    for (const [id, counts] of countsFromResources(patient.resources, end)) {
      yearly[y]?.set(id, counts);
    }
  });
  for (const r of patient.resources) {
    const e = r as Encounter;
    if (r.resourceType !== 'Encounter' || e.serviceProvider?.reference !== 'Organization/y99001') {
      continue;
    }
    const gp = e.participant?.[0]?.individual?.reference ?? '';
    if (!PRACTITIONERS.has(gp)) {
      unnamed.push(e.id ?? '');
    }
    const day = e.period?.start?.slice(0, 10) ?? '';
    if (day > addMonths(AS_OF, -12) && e.status === 'finished') {
      const id = patient.truth.patientId;
      const byGp = lastYearByGp.get(id) ?? new Map<string, number>();
      byGp.set(gp, (byGp.get(gp) ?? 0) + 1);
      lastYearByGp.set(id, byGp);
    }
  }
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/** The top `share` of patients by GP encounters in year `y` (ties broken by id, so the set is well defined). */
function topAttenders(y: number, share: number): Set<string> {
  const counts = [...(yearly[y] as Map<string, { gpEncounters: number }>).entries()];
  counts.sort(([a, ca], [b, cb]) => cb.gpEncounters - ca.gpEncounters || a.localeCompare(b));
  return new Set(counts.slice(0, Math.round(counts.length * share)).map(([id]) => id));
}

describe('multi-year history (10,000 patients, 3 years, seed 1)', () => {
  it('keeps 5% of patients using 30-40% of GP appointments in every year', () => {
    for (const counts of yearly) {
      expect(counts.size).toBe(10_000);
      const gp = [...counts.values()].map((c) => c.gpEncounters).sort((a, b) => b - a);
      const total = gp.reduce((a, b) => a + b, 0);
      const top = gp.slice(0, gp.length / 20).reduce((a, b) => a + b, 0);
      expect(top / total).toBeGreaterThanOrEqual(0.28);
      expect(top / total).toBeLessThanOrEqual(0.4);
    }
  });

  it('has 30-40% of the frequent GP attenders (top 5%) frequent again the next year', () => {
    const shares = [0, 1].map((y) => {
      const before = topAttenders(y, 0.05);
      const after = topAttenders(y + 1, 0.05);
      return [...before].filter((id) => after.has(id)).length / before.size;
    });
    const mean = (shares[0]! + shares[1]!) / 2;
    expect(mean).toBeGreaterThanOrEqual(0.3);
    expect(mean).toBeLessThanOrEqual(0.4);
  });

  it('regresses to the mean: patients picked for 2+ emergency admissions have far fewer the next year', () => {
    for (const y of [0, 1]) {
      const picked = [...yearly[y]!.values()].filter((c) => c.emergencyAdmissions >= 2);
      expect(picked.length).toBeGreaterThan(30);
      const before = picked.reduce((s, c) => s + c.emergencyAdmissions, 0) / picked.length;
      const after = picked.reduce((s, c) => s + (yearly[y + 1]!.get(c.patientId)?.emergencyAdmissions ?? 0), 0);
      expect(after / picked.length).toBeGreaterThan(0);
      expect(after / picked.length).toBeLessThan(before / 2);
    }
  });

  it('names a GP of the practice on every GP encounter; frequent attenders see 8-10 GPs, none for over a third', () => {
    expect(PRACTITIONERS.size).toBe(24);
    expect(unnamed).toEqual([]);
    const frequent = [...topAttenders(2, 0.05)].map((id) => lastYearByGp.get(id) ?? new Map<string, number>());
    const distinct = frequent.map((byGp) => byGp.size);
    const maxShare = frequent.map((byGp) => {
      const visits = [...byGp.values()];
      return Math.max(...visits) / visits.reduce((a, b) => a + b, 0);
    });
    expect(median(distinct)).toBeGreaterThanOrEqual(8);
    expect(median(distinct)).toBeLessThanOrEqual(10);
    expect(median(maxShare)).toBeLessThanOrEqual(1 / 3);
  });
});

describe('follow-up and the programme effect', () => {
  const small: PracticeOptions = { patients: 500, seed: 3, asOf: AS_OF, historyYears: 3 };
  const T1 = addMonths(AS_OF, 6);
  const T2 = addMonths(AS_OF, 12);
  const encounters = (options: PracticeOptions): Encounter[] => {
    const out: Encounter[] = [];
    for (const patient of generatePatients(options)) {
      out.push(...patient.resources.filter((r): r is Encounter => r.resourceType === 'Encounter'));
    }
    return out;
  };
  const ids = (list: readonly Resource[]): string[] => list.map((r) => JSON.stringify(r)).sort();

  it('adds only encounters after the follow-up start, and two follow-ups make the one that spans them', () => {
    const whole = encounters({ ...small, followUp: { from: AS_OF, until: T2 } });
    const first = encounters({ ...small, followUp: { from: AS_OF, until: T1 } });
    const second = encounters({ ...small, followUp: { from: T1, until: T2 } });
    expect(whole.length).toBeGreaterThan(1000);
    expect(whole.every((e) => (e.period?.start?.slice(0, 10) ?? '') > AS_OF)).toBe(true);
    expect(ids([...first, ...second])).toEqual(ids(whole));
    expect(practiceResources({ ...small, followUp: { from: AS_OF, until: T2 } })).toEqual([]);
    const history = new Set(synthesizePractice(small).resources.map((r) => r.id));
    expect(whole.some((e) => history.has(e.id))).toBe(false);
  });

  it('takes away the given share of enrolled patients’ emergency admissions after enrolment, and nothing else', () => {
    // Three patients in four enrolled (some 300 emergency admissions after enrolment, for the binomial check), the
    // fourth not (some 100 admissions the effect must leave).
    const many: PracticeOptions = { ...small, patients: 5600 };
    const record: CarePlan[] = [];
    for (let i = 0; i < 5600; i++) {
      if (i % 4 === 3) {
        continue;
      }
      record.push({
        resourceType: 'CarePlan',
        meta: { tag: [MANAGED_TAG] },
        status: i % 2 === 0 ? 'active' : 'completed',
        intent: 'plan',
        category: [{ coding: [HFU_CODE.carePlanCategory] }],
        subject: { reference: `Patient/y99001-p${String(i).padStart(6, '0')}` },
        period: { start: AS_OF },
      });
    }
    const enrolments = enrolmentDates(record);
    expect(enrolments.size).toBe(4200);
    const followUp = { from: AS_OF, until: T2 };
    const none = encounters({ ...many, followUp, enrolments, programmeEffect: 0 });
    const effect = encounters({ ...many, followUp, enrolments, programmeEffect: -0.4 });
    const emergency = (e: Encounter): boolean =>
      e.class.code === 'IMP' &&
      [...(e.hospitalization?.extension ?? []), ...(e.extension ?? [])].some((x) =>
        /^2/.test(x.valueCodeableConcept?.coding?.[0]?.code ?? '')
      );
    const enrolled = (e: Encounter): boolean => enrolments.has(e.subject?.reference?.slice(8) ?? '');
    const kept = new Set(effect.map((e) => e.id));
    const lost = none.filter((e) => !kept.has(e.id));
    expect(lost.every((e) => emergency(e) && enrolled(e))).toBe(true);
    expect(none.filter((e) => emergency(e) && !enrolled(e)).length).toBeGreaterThan(50);
    const all = new Map(none.map((e) => [e.id, JSON.stringify(e)]));
    expect(effect.every((e) => all.get(e.id) === JSON.stringify(e))).toBe(true);
    const before = none.filter((e) => emergency(e) && enrolled(e)).length;
    expect(before).toBeGreaterThan(200);
    const fall = lost.length / before;
    // Binomial: ± 3 standard errors around the true 0.4.
    const se = Math.sqrt((0.4 * 0.6) / before);
    expect(fall).toBeGreaterThan(0.4 - 3 * se);
    expect(fall).toBeLessThan(0.4 + 3 * se);
  });

  it('reads enrolment only from the programme’s own care plans, earliest first', () => {
    const plan = (patient: string, start: string, extra: Partial<CarePlan> = {}): CarePlan => ({
      resourceType: 'CarePlan',
      meta: { tag: [MANAGED_TAG] },
      status: 'active',
      intent: 'plan',
      category: [{ coding: [HFU_CODE.carePlanCategory] }],
      subject: { reference: `Patient/${patient}` },
      period: { start },
      ...extra,
    });
    const dates = enrolmentDates([
      plan('a', '2026-05-01'),
      plan('a', '2025-01-01'),
      plan('b', '2026-01-01', { status: 'entered-in-error' }),
      plan('c', '2026-01-01', { meta: {} }),
      plan('d', '2026-01-01', { category: [] }),
    ]);
    expect([...dates]).toEqual([['a', '2025-01-01']]);
  });

  it('refuses follow-ups and effects outside the multi-year model, and effects outside -1 to 0', () => {
    expect(() => synthesizePractice({ patients: 1, seed: 1, asOf: AS_OF, programmeEffect: -0.2 })).toThrow(
      /multi-year/
    );
    expect(() => synthesizePractice({ ...small, patients: 1, programmeEffect: 0.5 })).toThrow(/programmeEffect/);
    expect(() => synthesizePractice({ ...small, patients: 1, followUp: { from: T1, until: AS_OF } })).toThrow(
      /follow-up/
    );
  });
});

describe('a patient without their encounters (for picking patients out of a very large population)', () => {
  const options: PracticeOptions = { patients: 1000, seed: 5, asOf: AS_OF, historyYears: 3 };
  const EVENT_COUNTS = [
    'emergencyAdmissions',
    'electiveAdmissions',
    'edAttendances',
    'gpEncounters',
    'calls999',
    'calls111',
    'emergencyAdmissionsAverted',
  ] as const;
  const withoutIds = (resources: readonly Resource[]): string[] =>
    resources.filter((r) => r.resourceType !== 'Encounter').map((r) => JSON.stringify({ ...r, id: undefined }));

  it('is the full patient less their encounters: the same truth, conditions, medication and the rest', () => {
    const zeroed = Object.fromEntries(EVENT_COUNTS.map((k) => [k, 0]));
    const fulls: string[] = [];
    const profiles: string[] = [];
    let withRepeats = 0;
    for (let i = 0; i < options.patients; i++) {
      const full = generatePatient(options, i);
      const profile = generatePatientProfile(options, i);
      fulls.push(JSON.stringify([withoutIds(full.resources), { ...full.truth, ...zeroed }]));
      profiles.push(JSON.stringify([withoutIds(profile.resources), profile.truth]));
      expect(profile.resources.some((r) => r.resourceType === 'Encounter')).toBe(false);
      withRepeats += full.truth.repeatMedications >= 10 ? 1 : 0;
    }
    expect(profiles).toEqual(fulls);
    expect(withRepeats).toBeGreaterThan(10); // the patients a screen by repeat medication keeps are among them
  });

  it('needs the multi-year model, without a follow-up', () => {
    expect(() => generatePatientProfile({ ...options, historyYears: undefined }, 0)).toThrow(/multi-year/);
    expect(() =>
      generatePatientProfile({ ...options, followUp: { from: AS_OF, until: addMonths(AS_OF, 12) } }, 0)
    ).toThrow(/follow-up/);
  });
});
