import type { Task } from '@medplum/fhirtypes';
import { patientProgrammeState } from '../../../src/lifecycle';
import { IDENTIFIER, TIER_CODE } from '../../../src/vocabulary';

const review = (episode: number, extra: Partial<Task>): Task => ({
  resourceType: 'Task',
  status: 'requested',
  intent: 'proposal',
  identifier: [{ system: IDENTIFIER.task, value: `nhse-hfu-2022/Patient/p1/mdt-review/${episode}` }],
  reasonCode: { coding: [TIER_CODE.second] },
  ...extra,
});

describe('cool-off after a decline', () => {
  const declined = review(1, { status: 'rejected', lastModified: '2026-09-01T10:00:00+01:00' });

  it('holds within the cool-off', () => {
    expect(patientProgrammeState([declined], 'nhse-hfu-2022', 'second', '2026-11-23', 180)).toMatchObject({
      coolingOff: true,
    });
  });

  it('ends after the cool-off, and a new episode begins', () => {
    expect(patientProgrammeState([declined], 'nhse-hfu-2022', 'second', '2027-03-01', 180)).toEqual({
      coolingOff: false,
      nextEpisode: 2,
    });
  });

  it('does not hold when the tier has risen since the decline', () => {
    expect(patientProgrammeState([declined], 'nhse-hfu-2022', 'first', '2026-11-23', 180).coolingOff).toBe(false);
  });

  it('counts a completed review with business status decline as a decline', () => {
    const completed = review(1, {
      status: 'completed',
      businessStatus: { coding: [{ code: 'decline' }] },
      lastModified: '2026-11-01',
    });
    expect(patientProgrammeState([completed], 'nhse-hfu-2022', 'second', '2026-11-23', 180).coolingOff).toBe(true);
  });

  it('keeps an open review as the current one', () => {
    const open = review(1, {});
    expect(patientProgrammeState([open], 'nhse-hfu-2022', 'second', '2026-11-23', 180)).toMatchObject({
      coolingOff: false,
      currentReview: open,
      nextEpisode: 1,
    });
  });
});
