import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Condition, Encounter, MeasureReport, Observation, Patient, Resource, ValueSet } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import { silentLogger } from '../../src/logging';
import type { Report } from '../../src/report';
import { renderReportText } from '../../src/report';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { synthesizePractice } from '../../src/synth';
import { countsFromResources, expectedTiers } from '../helpers/tiers';
import { runCli } from './helpers/cli';
import { AS_OF } from './helpers/server';

/**
 * `hfu report` against a real embedded server holding a synthetic practice. Every figure checked is worked out here
 * again from the resources read back from the server, with plain code: the oracle shares nothing with src/report
 * nor with the mapping's FHIRPath.
 */
let server: RunningFhirServer;
let resources: Resource[];
let report: Report;
let htmlFile: string;
let firstOutcome: string;

const measureEnv = () => ({
  HFU_FHIR__BASE_URL: server.baseUrl,
  HFU_LOG__LEVEL: 'info',
  HFU_REPORT__WRITE_MEASURE_REPORT: 'true',
});
const measureOutcome = (stderr: string): string => {
  const line = stderr.split('\n').find((l) => l.includes('measure report written'));
  return (JSON.parse(line as string) as { outcome: string }).outcome;
};

const VALUESETS = path.join(__dirname, '../../mappings/uk-core/valuesets');
const WINDOW_START = '2025-11-23'; // the 12 months to AS_OF (2026-11-23), London days, both ends included

beforeAll(async () => {
  const practice = synthesizePractice({ patients: 1500, seed: 4, asOf: AS_OF });
  server = await startFhirServer({ resources: withPractitioners(practice.resources) });
  const fhir = configSchema.parse({ fhir: { baseUrl: server.baseUrl } }).fhir;
  const client = FhirClient.fromConfig({ ...fhir, baseUrl: server.baseUrl }, { logger: silentLogger() });
  resources = (
    await Promise.all(
      ['Patient', 'Encounter', 'Condition', 'Observation', 'MedicationRequest', 'Consent'].map((type) =>
        client.searchAll<Resource>(type as Resource['resourceType'], { _count: 1000 })
      )
    )
  ).flat();
  htmlFile = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-report-')), 'report.html');
  // This run also writes the MeasureReport (asked for), so the MeasureReport test needs only the second run.
  const result = await runCli(['report', '--now', AS_OF, '--json', '--out', htmlFile], measureEnv());
  expect(result.code).toBe(0);
  report = JSON.parse(result.stdout) as Report;
  firstOutcome = measureOutcome(result.stderr);
}, 240_000);
afterAll(() => server.stop());

describe('hfu report', () => {
  it('reports concentration over every patient in scope, deceased and inactive included', () => {
    const counts = [...countsFromResources(resources, AS_OF).values()];
    expect(report.population.patients).toBe(resources.filter((r) => r.resourceType === 'Patient').length);
    const measures = {
      gpEncounters: counts.map((c) => c.gpEncounters),
      edAttendances: counts.map((c) => c.edAttendances),
      unplannedAdmissions: counts.map((c) => c.emergencyAdmissions),
    };
    for (const [measure, values] of Object.entries(measures)) {
      const figures = report.concentration[measure as keyof typeof measures];
      const total = values.reduce((s, v) => s + v, 0);
      expect(figures.events).toBe(total);
      const descending = [...values].sort((a, b) => b - a);
      const topShare = (p: number) =>
        descending.slice(0, Math.ceil(p * values.length)).reduce((s, v) => s + v, 0) / total;
      expect(figures.top1).toBeCloseTo(topShare(0.01), 3);
      expect(figures.top5).toBeCloseTo(topShare(0.05), 3);
      expect(figures.top10).toBeCloseTo(topShare(0.1), 3);
      expect(figures.gini).toBeCloseTo(giniByPairs(values), 3);
      expect(figures.lorenz[0]).toEqual({ population: 0, events: 0 });
      expect(figures.lorenz[figures.lorenz.length - 1]).toEqual({ population: 1, events: 1 });
    }
    // the seeds: around 5% of patients use 30-40% of GP appointments
    expect(report.concentration.gpEncounters.top5).toBeGreaterThan(0.25);
  });

  it('reports the typology of the top N GP attenders beside the whole population', () => {
    const people = oracle();
    const top = [...people].sort((a, b) => b.gp - a.gp || (a.id < b.id ? -1 : 1)).slice(0, 100);
    for (const [group, members] of [
      ['top', top],
      ['population', people],
    ] as const) {
      const figures = report.typology[group];
      expect(figures.patients).toBe(members.length);
      const count = (test: (p: OraclePatient) => boolean) => members.filter(test).length;
      expect(figures.mentalHealth.count).toBe(count((p) => p.mentalHealth));
      expect(figures.twoOrMoreConditions.count).toBe(count((p) => p.registers >= 2));
      expect(figures.noLongTermCondition.count).toBe(count((p) => p.registers === 0));
      expect(figures.under60.count).toBe(count((p) => p.age < 60));
      expect(figures.twoOrMoreEdAttendances.count).toBe(count((p) => p.ed >= 2));
      expect(figures.carer.count).toBe(count((p) => p.carer));
      expect(figures.mentalHealth.share).toBeCloseTo(count((p) => p.mentalHealth) / members.length, 4);
    }
    expect(report.typology.top.mentalHealth.share).toBeGreaterThan(report.typology.population.mentalHealth.share);
  });

  it('reports continuity of GP care for the top N, the candidates and everyone', () => {
    const people = oracle();
    const top = [...people].sort((a, b) => b.gp - a.gp || (a.id < b.id ? -1 : 1)).slice(0, 100);
    const tiers = expectedTiers(resources, AS_OF);
    const groups = {
      topN: top,
      candidates: people.filter((p) => tiers.has(p.id)),
      everyone: people,
    };
    for (const [name, members] of Object.entries(groups)) {
      const eligible = members.filter((p) => p.visits.length >= 2);
      const indices = eligible.map((p) => continuityOf(p.visits));
      const figures = report.continuity![name as keyof typeof groups];
      expect(figures.patients).toBe(eligible.length);
      expect(figures.medianDistinctGps).toBeCloseTo(middle(indices.map((i) => i.distinct))!, 3);
      expect(figures.medianUpc).toBeCloseTo(middle(indices.map((i) => i.upc))!, 3);
      expect(figures.medianCoc).toBeCloseTo(middle(indices.map((i) => i.coc))!, 3);
      expect(figures.medianSecon).toBeCloseTo(middle(indices.map((i) => i.secon))!, 3);
    }
    expect(report.continuity!.everyone.patients).toBeGreaterThan(100);
  });

  it('writes the same report as one self-contained HTML file: NHS.UK styles inlined, charts as SVG with tables', () => {
    const html = readFileSync(htmlFile, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('.nhsuk-table'); // the stylesheet itself, not a link to it
    expect(html).not.toMatch(/<link |<script|src="http/);
    expect((html.match(/<svg /g) ?? []).length).toBe(4);
    for (const id of ['chart-lorenz', 'chart-typology', 'chart-persistence', 'chart-impact']) {
      expect(html).toContain(`aria-labelledby="${id}-caption"`);
      expect(html).toContain(`<figcaption id="${id}-caption">`);
    }
    expect(html).toContain(`${(report.concentration.gpEncounters.top5 * 100).toFixed(1)}%`);
    expect(html).toContain('regression to the mean');
  });

  it('writes every date in the HTML and the terminal report as the NHS does ("23 November 2026"), never in ISO form, and keeps ISO in the JSON', () => {
    const html = readFileSync(htmlFile, 'utf8');
    // What a reader sees (and a screen reader hears): the text and the attributes read out, without the stylesheet.
    const visible = html
      .replace(/<style>[\s\S]*?<\/style>/g, ' ')
      .replace(/<[^>]*?\b(?:aria-label|aria-description|title|alt)="([^"]*)"[^>]*>/g, ' $1 ')
      .replace(/<[^>]+>/g, ' ');
    // Noon UTC is on the same London day all year round.
    const nhs = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'Europe/London',
    });
    const words = (iso: string): string => nhs.format(new Date(`${iso}T12:00:00Z`));
    expect(report.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(visible).toContain(`on ${words(report.asOf)}.`);
    expect(html).toContain(`<title>High Frequency Users report, ${words(report.asOf)}</title>`);
    const oneYear = report.persistence.oneYear;
    expect(visible).toContain(`${words(oneYear.from)} to ${words(oneYear.to)}`);
    if (report.persistence.twoYears) {
      expect(visible).toContain(
        `${words(report.persistence.twoYears.from)} to ${words(report.persistence.twoYears.to)}`
      );
    }
    expect(visible).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(visible).not.toContain(report.asOf);
    // the terminal's report (hfu report without --json or --out) says its dates the same way
    const text = renderReportText(report).join('\n');
    expect(text).toContain(`report on ${words(report.asOf)}:`);
    expect(text).toContain(`(${words(oneYear.from)} to ${words(oneYear.to)})`);
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  });

  it('writes the headline figures as a MeasureReport of the project Measure, once, when asked', async () => {
    // The first run (beforeAll) created it; the same report again leaves it as it is.
    const again = await runCli(['report', '--now', AS_OF, '--json'], measureEnv());
    expect(again.code).toBe(0);
    expect([firstOutcome, measureOutcome(again.stderr)]).toEqual(['created', 'unchanged']);
    expect(JSON.parse(again.stdout)).toEqual(report);
    const fhir = configSchema.parse({ fhir: { baseUrl: server.baseUrl } }).fhir;
    const client = FhirClient.fromConfig({ ...fhir, baseUrl: server.baseUrl }, { logger: silentLogger() });
    const reports = await client.searchAll<MeasureReport>('MeasureReport', {});
    expect(reports).toHaveLength(1);
    const [measureReport] = reports;
    expect(measureReport?.measure).toBe('https://fhir.hfu-connector.org/Measure/hfu-insights|1.0.0');
    const score = (code: string) => measureReport?.group?.find((g) => g.code?.coding?.[0]?.code === code);
    expect(score('gp-top5-share')?.measureScore?.value).toBe(report.concentration.gpEncounters.top5);
    expect(score('gp-top5-share')?.population?.[0]?.count).toBe(report.population.patients);
    expect(
      await client.searchAll('Measure', { url: 'https://fhir.hfu-connector.org/Measure/hfu-insights' })
    ).toHaveLength(1);
  });
});

/** The GP contacts of the synthetic practice, each with one of a handful of GPs (until the generator names them). */
function withPractitioners(all: Resource[]): Resource[] {
  return all.map((r, i) => {
    const e = r as Encounter;
    if (r.resourceType !== 'Encounter' || e.participant?.length || !isGpContact(e)) {
      return r;
    }
    return { ...e, participant: [{ individual: { reference: `Practitioner/gp-${(i * 7919) % 6}` } }] } as Encounter;
  });
}

interface OraclePatient {
  id: string;
  gp: number;
  ed: number;
  mentalHealth: boolean;
  registers: number;
  age: number;
  carer: boolean;
  visits: { day: string; gp: string }[];
}

let cached: OraclePatient[] | undefined;

function oracle(): OraclePatient[] {
  if (cached) {
    return cached;
  }
  const counts = countsFromResources(resources, AS_OF);
  const mental = codesOf('mental-health');
  const carerCodes = codesOf('carer');
  const registers = readdirValueSets('ltc-');
  const byId = new Map<string, OraclePatient>();
  for (const r of resources.filter((x): x is Patient => x.resourceType === 'Patient')) {
    const c = counts.get(r.id as string);
    byId.set(r.id as string, {
      id: r.id as string,
      gp: c?.gpEncounters ?? 0,
      ed: c?.edAttendances ?? 0,
      mentalHealth: false,
      registers: 0,
      age: ageOn(r.birthDate as string, AS_OF),
      carer: false,
      visits: [],
    });
  }
  const patientRegisters = new Map<string, Set<string>>();
  for (const r of resources) {
    const subject = (r as { subject?: { reference?: string } }).subject?.reference?.replace('Patient/', '');
    const p = subject ? byId.get(subject) : undefined;
    if (!p) {
      continue;
    }
    if (r.resourceType === 'Condition' && isActive(r as Condition)) {
      const codes = ((r as Condition).code?.coding ?? []).map((c) => c.code ?? '');
      p.mentalHealth ||= codes.some((c) => mental.has(c));
      for (const [name, set] of registers) {
        if (codes.some((c) => set.has(c))) {
          (patientRegisters.get(p.id) ?? patientRegisters.set(p.id, new Set()).get(p.id))!.add(name);
        }
      }
    } else if (r.resourceType === 'Observation') {
      const o = r as Observation;
      const final = ['final', 'amended', 'corrected'].includes(o.status);
      p.carer ||= final && (o.code.coding ?? []).some((c) => carerCodes.has(c.code ?? ''));
    } else if (r.resourceType === 'Encounter') {
      const e = r as Encounter;
      const gp = e.participant?.map((x) => x.individual?.reference).find((ref) => ref?.startsWith('Practitioner'));
      const day = e.period?.start ? londonDay(e.period.start) : undefined;
      const current = e.status !== 'entered-in-error' && e.status !== 'cancelled';
      if (gp && day && current && isGpContact(e) && day >= WINDOW_START && day <= AS_OF) {
        p.visits.push({ day, gp });
      }
    }
  }
  for (const p of byId.values()) {
    p.registers = patientRegisters.get(p.id)?.size ?? 0;
  }
  cached = [...byId.values()];
  return cached;
}

function isGpContact(e: Encounter): boolean {
  const gpServices = codesOf('gp-services');
  return [...(e.type ?? []), ...(e.serviceType ? [e.serviceType] : [])].some((cc) =>
    (cc.coding ?? []).some((c) => gpServices.has(c.code ?? ''))
  );
}

function isActive(c: Condition): boolean {
  const clinical = c.clinicalStatus?.coding?.map((x) => x.code) ?? [];
  const verification = c.verificationStatus?.coding?.map((x) => x.code) ?? [];
  const active = !c.clinicalStatus || clinical.some((code) => ['active', 'recurrence', 'relapse'].includes(code ?? ''));
  return active && !verification.some((code) => code === 'refuted' || code === 'entered-in-error');
}

const valueSets = new Map<string, Set<string>>();
function codesOf(id: string): Set<string> {
  if (!valueSets.has(id)) {
    const vs = JSON.parse(readFileSync(path.join(VALUESETS, `${id}.json`), 'utf8')) as ValueSet;
    valueSets.set(id, new Set((vs.compose?.include ?? []).flatMap((i) => (i.concept ?? []).map((c) => c.code))));
  }
  return valueSets.get(id)!;
}

function readdirValueSets(prefix: string): Map<string, Set<string>> {
  const names = readdirSync(VALUESETS)
    .filter((f) => f.startsWith(prefix))
    .map((f) => f.replace(/\.json$/, ''));
  return new Map(names.map((n) => [n, codesOf(n)]));
}

const londonDays = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', dateStyle: 'short' });
function londonDay(value: string): string {
  return value.length === 10 ? value : londonDays.format(new Date(value));
}

function ageOn(birthDate: string, on: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [y, m, d] = on.split('-').map(Number) as [number, number, number];
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** Gini as the mean absolute difference over all pairs, halved and over the mean: another road to the same figure. */
function giniByPairs(values: number[]): number {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sorted = [...values].sort((a, b) => a - b);
  let pairs = 0;
  let below = 0;
  sorted.forEach((v, i) => {
    pairs += i * v - below; // Σ over j < i of (v - v_j)
    below += v;
  });
  return (2 * pairs) / (n * n * mean) / 2;
}

function continuityOf(visits: { day: string; gp: string }[]) {
  const ordered = [...visits].sort((a, b) => a.day.localeCompare(b.day));
  const n = ordered.length;
  const tally = new Map<string, number>();
  ordered.forEach((v) => tally.set(v.gp, (tally.get(v.gp) ?? 0) + 1));
  const sumSquares = [...tally.values()].reduce((s, c) => s + c * c, 0);
  let same = 0;
  for (let i = 1; i < n; i++) {
    if (ordered[i]!.gp === ordered[i - 1]!.gp) {
      same++;
    }
  }
  return {
    distinct: tally.size,
    upc: Math.max(...tally.values()) / n,
    coc: (sumSquares - n) / (n * (n - 1)),
    secon: same / (n - 1),
  };
}

function middle(values: number[]): number | undefined {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}
