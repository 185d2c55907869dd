import { badRequest, forbidden, notFound } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { OutcomeError } from '../errors';

/**
 * The user may not see or do this: another practice's patient, a viewer deciding. Its message and outcome say
 * nothing about the patient (not even whether they exist), so a page may show it as it is.
 */
export class Forbidden extends OutcomeError {
  override name = 'Forbidden';

  constructor() {
    super('not allowed for this user');
  }

  toOutcome(): OperationOutcome {
    return forbidden;
  }
}

/** No such patient, or nothing of theirs to show: body-free like Forbidden. */
export class NotFound extends OutcomeError {
  override name = 'NotFound';

  constructor() {
    super('not found');
  }

  toOutcome(): OperationOutcome {
    return notFound;
  }
}

/**
 * A decision or filter that cannot be used as given: which field, and why in the workspace's words ("owner: has no room"),
 * never patient data.
 */
export class InvalidInput extends OutcomeError {
  override name = 'InvalidInput';

  constructor(
    readonly field: string,
    readonly problem: string
  ) {
    super(`${field}: ${problem}`);
  }

  toOutcome(): OperationOutcome {
    return badRequest(this.message, this.field);
  }

  override callerDetails(): Record<string, unknown> {
    return { field: this.field };
  }
}
