import type { Task, TaskInput } from '@medplum/fhirtypes';
import type { LotteryDraw } from '../criteria';
import type { LotteryInput } from '../vocabulary';
import { TASK_INPUT } from '../vocabulary';

const LOTTERY_KINDS: readonly LotteryInput[] = ['lotteryDraw', 'lotterySeed', 'lotteryPlaces', 'lotteryCandidate'];

function type(kind: LotteryInput): TaskInput['type'] {
  const code = TASK_INPUT[kind];
  return { coding: [{ system: code.system, code: code.code, display: code.display }], text: code.display };
}

/**
 * A review Task proposed by lottery records its draw: the draw id, the seed, the places and every candidate drawn
 * from, in draw order, so the record alone shows who was drawn and who waits (the randomised comparison group).
 */
export function lotteryInputs(draw: LotteryDraw): TaskInput[] {
  return [
    { type: type('lotteryDraw'), valueString: draw.drawId },
    { type: type('lotterySeed'), valueInteger: draw.seed },
    { type: type('lotteryPlaces'), valueInteger: draw.places },
    ...draw.order.map((id) => ({ type: type('lotteryCandidate'), valueReference: { reference: `Patient/${id}` } })),
  ];
}

/** The lottery inputs a review Task already holds, kept when the connector refreshes the Task. */
export function lotteryInputsOf(task: Task | undefined): TaskInput[] {
  return (task?.input ?? []).filter((input) =>
    input.type?.coding?.some((c) =>
      LOTTERY_KINDS.some((kind) => c.system === TASK_INPUT[kind].system && c.code === TASK_INPUT[kind].code)
    )
  );
}
