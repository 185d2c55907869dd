import type { IsoDate } from '../dates';
import { addDays, addMonths } from '../dates';
import type { Random } from './random';

export type UtilisationClass = 'veryHigh' | 'high' | 'usual';

/**
 * How likely a patient is to be in each class in any one month: the classic single-year model's class shares,
 * which grow with long-term conditions and mental health.
 */
export function classShares(registerCount: number, mentalHealth: boolean): { veryHigh: number; high: number } {
  const boost = 1 + 0.6 * registerCount + (mentalHealth ? 1.5 : 0);
  const veryHigh = Math.min(0.5, 0.0042 * boost);
  return { veryHigh, high: Math.min(0.9, 0.026 * boost) - veryHigh };
}

/**
 * Chance a month that a spell of very high or high use ends. Tuned so that 30-40% of a year's frequent GP attenders
 * are frequent again the next year (the seeds: "only about 30-40% of people attending frequently are long-term
 * consistently high attenders"): spells last about 15 and 9 months on average.
 */
const MONTHLY_EXIT: Record<Exclude<UtilisationClass, 'usual'>, number> = { veryHigh: 1 / 8, high: 1 / 5 };

/**
 * A patient's latent class month by month: a Markov chain whose long-run shares are `classShares`, so a year of
 * the multi-year model has the classic model's population mix, while each patient drifts into and out of spells of
 * high use. Events are then Poisson around the class's rate, so patients selected for a high count one year fall
 * back on average the next (regression to the mean), as they do in practice.
 */
export class LatentChain {
  private state: UtilisationClass | undefined;
  private readonly enter: { veryHigh: number; high: number };

  constructor(
    private readonly rng: Random,
    private readonly shares: { veryHigh: number; high: number }
  ) {
    const usual = 1 - shares.veryHigh - shares.high;
    // Balance: inflow from usual equals outflow from each spell, so the shares stay where they are.
    this.enter = {
      veryHigh: (shares.veryHigh * MONTHLY_EXIT.veryHigh) / usual,
      high: (shares.high * MONTHLY_EXIT.high) / usual,
    };
  }

  /** The class of the next month (the first call draws from the long-run shares). */
  step(): UtilisationClass {
    const r = this.rng.next();
    const state = this.state;
    if (state === undefined) {
      this.state =
        r < this.shares.veryHigh ? 'veryHigh' : r < this.shares.veryHigh + this.shares.high ? 'high' : 'usual';
    } else if (state === 'usual') {
      this.state = r < this.enter.veryHigh ? 'veryHigh' : r < this.enter.veryHigh + this.enter.high ? 'high' : 'usual';
    } else if (r < MONTHLY_EXIT[state]) {
      this.state = 'usual';
    }
    return this.state as UtilisationClass;
  }
}

/** The days of a multi-year history and its months (index ranges into `days`), from the first month on. */
export interface HistoryCalendar {
  days: IsoDate[];
  months: { first: number; last: number }[];
}

let lastCalendar: { key: string; calendar: HistoryCalendar } | undefined;

/**
 * Months of `years` ending on `asOf` (month 0 starts the day after `asOf` minus `years`), continued month by month
 * while a month starts on or before `until`. Computed once per practice: every patient shares it.
 */
export function historyCalendar(asOf: IsoDate, years: number, until: IsoDate = asOf): HistoryCalendar {
  const key = `${asOf}|${years}|${until}`;
  if (lastCalendar?.key !== key) {
    const first = addDays(addMonths(asOf, -12 * years), 1);
    const calendar: HistoryCalendar = { days: [], months: [] };
    for (let m = 0; addMonths(first, m) <= until; m++) {
      const end = addDays(addMonths(first, m + 1), -1);
      const start = calendar.days.length;
      for (let day = addMonths(first, m); day <= end; day = addDays(day, 1)) {
        calendar.days.push(day);
      }
      calendar.months.push({ first: start, last: calendar.days.length - 1 });
    }
    lastCalendar = { key, calendar };
  }
  return lastCalendar.calendar;
}
