import type { Task } from '@medplum/fhirtypes';
import type { ProgrammeRecord } from '../lifecycle';
import type { LotteryInput, TierId } from '../vocabulary';
import { TASK_INPUT } from '../vocabulary';

/** A draw as the record holds it: on the review Tasks of the patients it proposed. */
export interface DrawOnRecord {
  drawId: string;
  tier: TierId;
  places: number;
  order: string[];
  /** When its first review Task was written. */
  at: string;
}

function isInput(input: NonNullable<Task['input']>[number], kind: LotteryInput): boolean {
  const code = TASK_INPUT[kind];
  return Boolean(input.type?.coding?.some((c) => c.system === code.system && c.code === code.code));
}

/** The draw a review Task records, if it was proposed by lottery. */
function drawOf(task: Task): DrawOnRecord | undefined {
  const inputs = task.input ?? [];
  const drawId = inputs.find((i) => isInput(i, 'lotteryDraw'))?.valueString;
  const places = inputs.find((i) => isInput(i, 'lotteryPlaces'))?.valueInteger;
  const tier = drawId?.split('/')[1];
  if (!drawId || places === undefined || (tier !== 'first' && tier !== 'second')) {
    return undefined;
  }
  const order = inputs
    .filter((i) => isInput(i, 'lotteryCandidate'))
    .map((i) => /^Patient\/(.+)$/.exec(i.valueReference?.reference ?? '')?.[1])
    .filter((id): id is string => id !== undefined);
  return { drawId, tier, places, order, at: task.authoredOn ?? '' };
}

/**
 * Every lottery the record holds, oldest first, and when each patient was last proposed (their latest review Task):
 * a draw's candidates after its places, not proposed since, are its randomised comparison group.
 */
export function drawsOnRecord(record: ProgrammeRecord): { draws: DrawOnRecord[]; lastProposed: Map<string, string> } {
  const draws = new Map<string, DrawOnRecord>();
  const lastProposed = new Map<string, string>();
  for (const patient of record.patients.values()) {
    for (const episode of patient.episodes) {
      const review = episode.review;
      if (!review) {
        continue;
      }
      const at = review.authoredOn ?? '';
      if (at > (lastProposed.get(patient.patientId) ?? '')) {
        lastProposed.set(patient.patientId, at);
      }
      const draw = drawOf(review);
      // One run's draw is on all its Tasks, written at the run's time; a later run may draw again on the same date.
      if (draw) {
        draws.set(`${draw.drawId}|${draw.at}`, draw);
      }
    }
  }
  const sorted = [...draws.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { draws: sorted, lastProposed };
}

/**
 * By tier, the patients earlier lotteries left waiting, to be offered places first: each draw's candidates after
 * its places, oldest draw first and in draw order, less anyone proposed since the draw (a review Task written after
 * it), who has had their offer.
 */
export function earlierWaitlist(record: ProgrammeRecord): Partial<Record<TierId, string[]>> {
  const { draws, lastProposed } = drawsOnRecord(record);
  const waitlist: Partial<Record<TierId, string[]>> = {};
  for (const draw of draws) {
    const waiting = draw.order.slice(draw.places).filter((id) => (lastProposed.get(id) ?? '') <= draw.at);
    const list = (waitlist[draw.tier] ??= []);
    list.push(...waiting.filter((id) => !list.includes(id)));
  }
  return waitlist;
}
