import type { Config, ReportConfig, WorkforceMember } from '../config';
import type { IsoDate } from '../dates';
import type { TierId } from '../vocabulary';
import type { CollectSettings, Collected, PatientFigures, ReportDeps } from './collect';
import { collect } from './collect';
import type { Concentration } from './concentration';
import { concentration } from './concentration';
import type { GroupContinuity } from './continuity';
import { groupContinuity } from './continuity';
import type { OutcomeEstimate, Verdict } from './impact';
import { estimate, verdict } from './impact';
import type { ProgrammeFlow } from './programme-flow';
import { programmeFlow } from './programme-flow';
import { round } from './stats';

export interface ReportSettings extends Omit<CollectSettings, 'minFollowUpMonths'> {
  report: ReportConfig;
  workforce: readonly WorkforceMember[];
}

/** The report's settings from the configuration, for a report on `asOf` (`hfu report` and the insights page). */
export function reportSettingsFrom(config: Config, asOf: IsoDate): ReportSettings {
  return {
    scope: config.scope,
    asOf,
    concurrency: config.extract.concurrency,
    dateBounds: config.extract.dateBounds,
    subjectSearch: config.extract.subjectSearch,
    report: config.report,
    workforce: config.allocation.workforce,
  };
}

export interface Share {
  count: number;
  share: number;
}

export const TYPOLOGY_ROWS = [
  'mentalHealth',
  'twoOrMoreConditions',
  'noLongTermCondition',
  'under60',
  'twoOrMoreEdAttendances',
  'carer',
] as const;
export type TypologyRow = (typeof TYPOLOGY_ROWS)[number];

export interface TypologyGroup extends Record<TypologyRow, Share> {
  patients: number;
}

export interface PersistenceGroup {
  /** In the group at the earlier date. */
  patients: number;
  /** Of them, in the same group at --now. */
  stillIn: number;
  share: number | null;
}

export interface PersistencePeriod {
  from: IsoDate;
  to: IsoDate;
  groups: Record<string, PersistenceGroup>;
}

export interface ImpactReport {
  minFollowUpMonths: number;
  /** The lottery's candidates not drawn when there was a lottery; else the waitlisted and the just under. */
  comparison: 'lottery' | 'waitlistedAndJustUnder';
  groups: { enrolled: number; lottery: number; waitlisted: number; justUnder: number };
  /** The dates comparison patients were evaluated at: the enrolled's enrolment dates. */
  tierDates: IsoDate[];
  emergencyAdmissions: OutcomeEstimate;
  edAttendances: OutcomeEstimate;
  /** On emergency admissions, the programme's aim. */
  verdict: Verdict;
}

/** The report as one JSON document: its keys are the contract (issue 14). */
export interface Report {
  asOf: IsoDate;
  programmeId: string;
  mapping: string;
  population: { key: string; title: string; patients: number; skipped: Record<string, number>; complete: boolean };
  concentration: Record<'gpEncounters' | 'edAttendances' | 'unplannedAdmissions', Concentration>;
  typology: { topN: number; top: TypologyGroup; population: TypologyGroup };
  continuity: { topN: GroupContinuity; candidates: GroupContinuity; everyone: GroupContinuity } | null;
  persistence: { oneYear: PersistencePeriod; twoYears: PersistencePeriod | null };
  programme: ProgrammeFlow;
  impact: ImpactReport;
}

/** Reads the population and the programme's record, and works out every figure of the report. Reads only. */
export async function buildReport(deps: ReportDeps, settings: ReportSettings): Promise<Report> {
  const collected = await collect(deps, { ...settings, minFollowUpMonths: settings.report.minFollowUpMonths });
  return reportOf(collected, deps, settings);
}

export function reportOf(collected: Collected, deps: ReportDeps, settings: ReportSettings): Report {
  const { patients } = collected;
  const { topN } = settings.report;
  const top = topBy(patients, (p) => p.gpEncounters, topN);
  return {
    asOf: settings.asOf,
    programmeId: deps.programme.id,
    mapping: deps.mapping.name,
    population: {
      key: collected.population.key,
      title: collected.population.title,
      patients: patients.length,
      skipped: collected.skipped,
      complete: collected.complete,
    },
    concentration: {
      gpEncounters: concentration(patients.map((p) => p.gpEncounters)),
      edAttendances: concentration(patients.map((p) => p.edAttendances)),
      unplannedAdmissions: concentration(patients.map((p) => p.unplannedAdmissions)),
    },
    typology: { topN, top: typology(top), population: typology(patients) },
    continuity: deps.mapping.features.some((f) => f.name === 'gpPractitioners')
      ? {
          topN: continuityOf(top),
          candidates: continuityOf(patients.filter((p) => p.tier)),
          everyone: continuityOf(patients),
        }
      : null,
    persistence: persistence(collected, settings.asOf, topN),
    programme: programmeFlow(collected.record, settings.workforce),
    impact: impact(collected, settings.report),
  };
}

/** The top `n` patients by a count, ties broken by patient id so the same data give the same group. */
export function topBy(patients: readonly PatientFigures[], count: (p: PatientFigures) => number, n: number) {
  return [...patients].sort((a, b) => count(b) - count(a) || (a.id < b.id ? -1 : 1)).slice(0, n);
}

function typology(group: readonly PatientFigures[]): TypologyGroup {
  const share = (test: (p: PatientFigures) => boolean): Share => {
    const count = group.filter(test).length;
    return { count, share: group.length ? round(count / group.length, 4) : 0 };
  };
  return {
    patients: group.length,
    mentalHealth: share((p) => p.mentalHealth === true),
    twoOrMoreConditions: share((p) => (p.longTermConditions ?? 0) >= 2),
    noLongTermCondition: share((p) => p.longTermConditions === 0),
    under60: share((p) => p.age !== null && p.age < 60),
    twoOrMoreEdAttendances: share((p) => p.edAttendances >= 2),
    carer: share((p) => p.carer === true),
  };
}

function continuityOf(group: readonly PatientFigures[]): GroupContinuity {
  return groupContinuity(group.flatMap((p) => (p.continuity ? [p.continuity] : [])));
}

/**
 * Of each group at an earlier date, the share in the same group at --now: the top 1% and top N by GP contacts, and
 * each tier. Two years back only where the data reach: at least half as many GP contacts in the 12 months to that
 * date as in the 12 months to --now.
 */
function persistence(collected: Collected, asOf: IsoDate, topN: number): Report['persistence'] {
  const { patients, pastDates } = collected;
  const onePercent = Math.max(1, Math.ceil(patients.length / 100));
  const nowGroups = groupsAt(
    patients,
    (p) => p.gpEncounters,
    (p) => p.tier,
    onePercent,
    topN
  );
  const period = (index: number): PersistencePeriod => {
    const then = groupsAt(
      patients,
      (p) => p.past[index]?.gpEncounters ?? 0,
      (p) => p.past[index]?.tier,
      onePercent,
      topN
    );
    const groups: Record<string, PersistenceGroup> = {};
    for (const [name, members] of Object.entries(then)) {
      const still = [...members].filter((id) => nowGroups[name]?.has(id)).length;
      groups[name] = {
        patients: members.size,
        stillIn: still,
        share: members.size ? round(still / members.size, 4) : null,
      };
    }
    return { from: pastDates[index] as IsoDate, to: asOf, groups };
  };
  const gpNow = patients.reduce((s, p) => s + p.gpEncounters, 0);
  const gpTwoYearsBack = patients.reduce((s, p) => s + (p.past[1]?.gpEncounters ?? 0), 0);
  return { oneYear: period(0), twoYears: gpNow && gpTwoYearsBack >= gpNow / 2 ? period(1) : null };
}

function groupsAt(
  patients: readonly PatientFigures[],
  gp: (p: PatientFigures) => number,
  tier: (p: PatientFigures) => TierId | undefined,
  onePercent: number,
  topN: number
): Record<string, Set<string>> {
  const ranked = [...patients].sort((a, b) => gp(b) - gp(a) || (a.id < b.id ? -1 : 1));
  const ids = (list: readonly PatientFigures[]) => new Set(list.map((p) => p.id));
  return {
    top1: ids(ranked.slice(0, onePercent)),
    topN: ids(ranked.slice(0, topN)),
    first: ids(patients.filter((p) => tier(p) === 'first')),
    second: ids(patients.filter((p) => tier(p) === 'second')),
  };
}

/**
 * The enrolled against the candidates a lottery did not draw, when places were drawn by lottery: a randomised
 * comparison. Otherwise against everyone chosen the same way on the same dates but not enrolled: those who qualified
 * but were over capacity (waitlisted) and those just under the threshold.
 */
function impact(collected: Collected, settings: ReportConfig): ImpactReport {
  const { enrolled, lottery, waitlisted, justUnder } = collected.impact;
  const byLottery = lottery.length > 0;
  const comparison = byLottery ? lottery : [...waitlisted, ...justUnder];
  const admissions = estimate('emergencyAdmissions', enrolled, comparison, settings);
  return {
    minFollowUpMonths: settings.minFollowUpMonths,
    comparison: byLottery ? 'lottery' : 'waitlistedAndJustUnder',
    groups: {
      enrolled: enrolled.length,
      lottery: lottery.length,
      waitlisted: waitlisted.length,
      justUnder: justUnder.length,
    },
    tierDates: collected.tierDates,
    emergencyAdmissions: admissions,
    edAttendances: estimate('edAttendances', enrolled, comparison, settings),
    verdict: verdict(admissions, settings.minGroupSize),
  };
}
