import type { Programme } from '../criteria';
import { ProgrammeError } from '../criteria';

/** The lifecycle's cadences, declared (with their defaults) by the programme and overridable by a site. */
export interface LifecycleParameters {
  /** Days between two check-ins once the What Matters to Me conversation is done. */
  checkInEveryDays: number;
  /** Check-ins in an episode. */
  checkInCount: number;
  /** Days an enrolment gives for the What Matters to Me conversation. */
  conversationWithinDays: number;
  /** After a decline or a discharge, days before the patient may be proposed again (unless their tier rises). */
  coolOffDays: number;
}

const NAMES = ['checkInEveryDays', 'checkInCount', 'conversationWithinDays', 'coolOffDays'] as const;

/** The lifecycle parameters of a programme (its load checks that it declares each one). */
export function lifecycleParameters(programme: Pick<Programme, 'id' | 'parameters'>): LifecycleParameters {
  const values = {} as LifecycleParameters;
  for (const name of NAMES) {
    const value = programme.parameters[name];
    if (typeof value !== 'number') {
      throw new ProgrammeError(programme.id, [`parameters.${name}: not declared, and the lifecycle needs it`]);
    }
    values[name] = value;
  }
  return values;
}
