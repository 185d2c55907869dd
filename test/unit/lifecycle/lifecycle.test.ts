import type { Episode } from '../../../src/lifecycle';
import {
  episodeStage,
  isCoolingOff,
  managedIdentifierValue,
  needsDischarge,
  parseManagedIdentifier,
  standingOf,
  transitions,
} from '../../../src/lifecycle';
import { BUSINESS_STATUS } from '../../../src/vocabulary';
import { decision, enrolled, episode, flag, inProgramme, plan, review, settings, task } from './fixtures';

describe('business identifiers', () => {
  it('round-trip patient, kind, episode and sequence number', () => {
    const value = managedIdentifierValue('nhse-hfu-2022', 'abc-1', 'check-in', 2, 3);
    expect(value).toBe('nhse-hfu-2022/Patient/abc-1/check-in/2/3');
    expect(parseManagedIdentifier(value, 'nhse-hfu-2022')).toEqual({
      patientId: 'abc-1',
      kind: 'check-in',
      episode: 2,
      n: 3,
    });
    expect(parseManagedIdentifier(value, 'another-programme')).toBeUndefined();
  });
});

describe('stage of an episode', () => {
  it.each<[string, string, Partial<Episode>]>([
    ['review requested', 'under-review', { review: review('requested') }],
    ['review in progress', 'under-review', { review: review('in-progress') }],
    ['review accepted', 'accepted', { review: review('accepted') }],
    [
      'review completed, business status enrol',
      'accepted',
      { review: review('completed', { businessStatus: { coding: [BUSINESS_STATUS.enrol] } }) },
    ],
    ['review rejected', 'declined', { review: review('rejected') }],
    [
      'review completed, business status decline',
      'declined',
      { review: review('completed', { businessStatus: { coding: [BUSINESS_STATUS.decline] } }) },
    ],
    ['review completed with no decision', 'undecided', { review: review('completed') }],
    ['review cancelled', 'closed', { review: review('cancelled') }],
    ['care plan active', 'enrolled', { review: review('accepted'), carePlan: plan('active') }],
    ['care plan completed', 'discharged', { review: review('accepted'), carePlan: plan('completed') }],
    ['care plan revoked', 'discharged', { review: review('accepted'), carePlan: plan('revoked') }],
  ])('%s: %s', (_name, stage, parts) => {
    expect(episodeStage(episode(parts))).toBe(stage);
  });

  it('is read from the latest episode, and the next proposal opens a new one', () => {
    const standing = standingOf(
      inProgramme(episode({ review: review('rejected') }, 1), episode({ review: review('requested') }, 2))
    );
    expect(standing.stage).toBe('under-review');
    expect(standing.nextEpisode).toBe(3);
    expect(standingOf(undefined)).toEqual({ nextEpisode: 1 });
  });
});

describe('cool-off', () => {
  const declinedOn = (day: string) =>
    standingOf(inProgramme(episode({ review: review('rejected', { lastModified: `${day}T10:00:00Z` }) })));

  it('holds for coolOffDays after a decline, at the same tier', () => {
    expect(isCoolingOff(declinedOn('2026-11-01'), 'second', '2026-11-23', 180)).toBe(true);
    expect(isCoolingOff(declinedOn('2026-05-28'), 'second', '2026-11-23', 180)).toBe(true);
    expect(isCoolingOff(declinedOn('2026-05-27'), 'second', '2026-11-23', 180)).toBe(false);
  });

  it('does not hold when the tier has risen since', () => {
    expect(isCoolingOff(declinedOn('2026-11-01'), 'first', '2026-11-23', 180)).toBe(false);
  });

  it('counts from the end of the care plan after a discharge', () => {
    const discharged = standingOf(
      inProgramme(
        episode({
          review: review('accepted'),
          carePlan: plan('completed', { period: { start: '2026-01-01', end: '2026-10-01' } }),
        })
      )
    );
    expect(isCoolingOff(discharged, 'second', '2026-11-23', 180)).toBe(true);
    expect(isCoolingOff(discharged, 'second', '2027-03-30', 180)).toBe(false);
  });

  it('never holds for a patient under review or enrolled', () => {
    expect(isCoolingOff(standingOf(inProgramme(enrolled())), 'second', '2026-11-23', 180)).toBe(false);
  });
});

describe('transitions', () => {
  it('proposes a patient new to the programme when proposable, and nobody else', () => {
    expect(transitions(undefined, decision('first'), true, settings)).toEqual([
      { kind: 'propose', episode: 1, tier: 'first' },
    ]);
    expect(transitions(undefined, decision('first'), false, settings)).toEqual([]);
    expect(transitions(undefined, decision(undefined), true, settings)).toEqual([]);
  });

  it('opens a new episode for a patient declined before (history kept)', () => {
    const patient = inProgramme(episode({ review: review('rejected') }));
    expect(transitions(patient, decision('second'), true, settings)).toEqual([
      { kind: 'propose', episode: 2, tier: 'second' },
    ]);
  });

  it('keeps a pending proposal current, but leaves one the MDT has picked up alone', () => {
    const pending = episode({ review: review('requested') });
    expect(transitions(inProgramme(pending), decision('first'), false, settings)).toEqual([
      { kind: 'refresh-proposal', episode: pending, tier: 'first' },
    ]);
    expect(
      transitions(inProgramme(episode({ review: review('in-progress') })), decision('first'), false, settings)
    ).toEqual([]);
  });

  it('closes a proposal when the patient dies, deregisters or opts out', () => {
    const pending = episode({ review: review('requested') });
    expect(transitions(inProgramme(pending), decision('first', ['deceased']), false, settings)).toEqual([
      { kind: 'exit', episode: pending, reason: 'deceased' },
    ]);
  });

  it('enrols an accepted patient, at the tier they qualify for now', () => {
    const accepted = episode({ review: review('accepted') });
    expect(transitions(inProgramme(accepted), decision('first'), false, settings)).toEqual([
      { kind: 'enrol', episode: accepted, tier: 'first' },
    ]);
  });

  it('never enrols an accepted patient this run could not read, nor one who has died', () => {
    const accepted = inProgramme(episode({ review: review('accepted') }));
    expect(transitions(accepted, undefined, false, settings)).toEqual([]);
    expect(transitions(accepted, decision('first', ['deceased']), false, settings)).toEqual([]);
  });

  it('schedules the first check-in a cadence after the conversation was completed', () => {
    const e = enrolled({ conversation: task('completed', { executionPeriod: { end: '2026-11-10T12:00:00Z' } }) });
    expect(transitions(inProgramme(e), decision('second'), false, settings)).toEqual([
      { kind: 'schedule-check-in', episode: e, n: 1, due: '2026-11-24' },
    ]);
  });

  it('keeps one check-in open at a time, and stops after checkInCount', () => {
    const done = task('completed', { executionPeriod: { end: '2026-11-10' } });
    const open = enrolled({
      conversation: done,
      checkIns: new Map([
        [1, task('completed')],
        [2, task('requested')],
      ]),
    });
    expect(transitions(inProgramme(open), decision('second'), false, settings)).toEqual([]);
    const next = enrolled({
      conversation: done,
      checkIns: new Map([
        [1, task('completed')],
        [2, task('cancelled')],
      ]),
    });
    expect(transitions(inProgramme(next), decision('second'), false, settings)).toEqual([
      { kind: 'schedule-check-in', episode: next, n: 3, due: '2026-12-22' },
    ]);
    const all = enrolled({
      conversation: done,
      checkIns: new Map([1, 2, 3, 4, 5, 6].map((n) => [n, task('completed')])),
    });
    expect(transitions(inProgramme(all), decision('second'), false, settings)).toEqual([]);
  });

  it('asks for a step-down review, once, when an enrolled patient no longer meets the criteria', () => {
    const e = enrolled();
    expect(transitions(inProgramme(e), decision(undefined), false, settings)).toEqual([
      { kind: 'step-down', episode: e },
    ]);
    const asked = enrolled({ stepDown: task('requested') });
    expect(transitions(inProgramme(asked), decision(undefined), false, settings)).toEqual([]);
  });

  it('keeps the flag at the tier the patient qualifies for', () => {
    const e = enrolled();
    expect(transitions(inProgramme(e), decision('first'), false, settings)).toEqual([
      { kind: 'retier', episode: e, tier: 'first' },
    ]);
  });

  it('finishes an enrolment a killed run left half-written', () => {
    const e = enrolled({ flag: undefined, conversation: undefined });
    expect(transitions(inProgramme(e), decision('second'), false, settings)).toEqual([
      { kind: 'enrol', episode: e, tier: 'second' },
    ]);
  });

  it('discharges once the clinician completes the care plan, and not again after', () => {
    const e = enrolled({ carePlan: plan('completed') });
    expect(needsDischarge(e)).toBe(true);
    expect(transitions(inProgramme(e), decision('second'), true, settings)).toEqual([
      { kind: 'discharge', episode: e },
    ]);
    // The record alone decides a discharge: even a patient this run could not evaluate is discharged.
    expect(transitions(inProgramme(e), undefined, false, settings)).toEqual([{ kind: 'discharge', episode: e }]);
    const done = enrolled({ carePlan: plan('completed'), flag: flag('inactive'), conversation: task('cancelled') });
    expect(needsDischarge(done)).toBe(false);
    expect(transitions(inProgramme(done), decision('second'), false, settings)).toEqual([]);
  });

  it('takes an enrolled patient out on death, deregistration or opt-out', () => {
    const e = enrolled();
    for (const reason of ['deceased', 'not-registered', 'opted-out'] as const) {
      expect(transitions(inProgramme(e), decision('second', [reason]), false, settings)).toEqual([
        { kind: 'exit', episode: e, reason },
      ]);
    }
  });
});
