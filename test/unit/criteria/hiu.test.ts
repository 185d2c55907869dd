import type { Encounter, Patient } from '@medplum/fhirtypes';
import { candidateSummary, decide, loadProgramme } from '../../../src/criteria';
import { featureEvaluator, loadMapping } from '../../../src/mappings';
import type { HiuSpec } from '../../helpers/hiu-practice';
import { expectedHiuTier, HIU_SPECS, hiuPatient } from '../../helpers/hiu-practice';

const AS_OF = '2026-12-01';

describe.each(['uk-core', 'synthea'])('nhse-hiu over the %s mapping', (mappingName) => {
  const mapping = loadMapping(mappingName);
  const programme = loadProgramme({ ref: 'nhse-hiu', features: mapping.features });
  const evaluate = featureEvaluator(mapping, AS_OF);
  const decideSpec = (spec: HiuSpec) => {
    const [patient, ...encounters] = hiuPatient(AS_OF, spec);
    const features = evaluate({ patient: patient as Patient, resources: { Encounter: encounters as Encounter[] } });
    return decide(programme, spec.id, features);
  };

  it('loads with its own parameters and rules', () => {
    expect(programme.id).toBe('nhse-hiu');
    expect(programme.tiers.map((t) => t.features)).toEqual([['edAttendancesLastMonth'], ['edAttendances']]);
    expect(programme.parameters).toMatchObject({ monthlyAttendances: 5, yearlyAttendances: 20, adultAge: 18 });
    // The specs straddle both thresholds: two first-tier patients, one second, the rest none.
    expect(HIU_SPECS.map((s) => expectedHiuTier(s, AS_OF))).toEqual([
      'first',
      undefined,
      'second',
      undefined,
      'first',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it.each(HIU_SPECS.map((s) => [s.id, s] as const))('puts %s in the tier its attendances give', (_id, spec) => {
    expect(decideSpec(spec).tier).toBe(expectedHiuTier(spec, AS_OF));
  });

  it('excludes a child and ends the time in the programme of someone who died, by the programme’s own exclusions', () => {
    const child = decideSpec(HIU_SPECS.find((s) => s.id === 'hiu-child') as HiuSpec);
    expect(child).toMatchObject({ qualifyingTier: 'first', excludedBy: ['under-18'] });
    expect(child.exitReason).toBeUndefined();
    const died = decideSpec(HIU_SPECS.find((s) => s.id === 'hiu-deceased') as HiuSpec);
    expect(died).toMatchObject({ qualifyingTier: 'first', excludedBy: ['deceased'], exitReason: 'deceased' });
  });

  it('says why in its own figures', () => {
    const both = decideSpec(HIU_SPECS.find((s) => s.id === 'hiu-both') as HiuSpec);
    expect(candidateSummary(programme, both, AS_OF)).toBe(
      'First priority: 7 A&E attendances in the month and 27 A&E attendances in the 12 months to 1 December 2026.'
    );
  });

  it('moves the thresholds with a site’s overrides', () => {
    const lowered = loadProgramme({
      ref: 'nhse-hiu',
      features: mapping.features,
      parameters: { monthlyAttendances: 4 },
    });
    const [patient, ...encounters] = hiuPatient(AS_OF, HIU_SPECS.find((s) => s.id === 'hiu-month-edge') as HiuSpec);
    const features = evaluate({ patient: patient as Patient, resources: { Encounter: encounters as Encounter[] } });
    expect(decide(lowered, 'p', features).tier).toBe('first');
  });
});
