import { candidateSummary, decide, figure, loadProgramme, reasonSentence } from '../../../src/criteria';
import { loadMapping } from '../../../src/mappings';
import type { FactValue } from '../../../src/mappings';

const ukCore = loadMapping('uk-core');
const hfu = loadProgramme({ features: ukCore.features });
const hiu = loadProgramme({ ref: 'nhse-hiu', features: ukCore.features });

const withFacts = (facts: Record<string, FactValue>) => ({ facts, riskFactors: [] as string[] });

describe('the reason sentence', () => {
  it('gives the headline figures by their titles, with the window and the date, as the issue words it', () => {
    expect(reasonSentence(hfu, withFacts({ unplannedAdmissions: 1, repeatMedications: 14 }), '2026-12-01')).toBe(
      '1 unplanned admission and 14 repeat medicines in the 12 months to 1 December 2026'
    );
  });

  it.each([
    [0, 1, '0 unplanned admissions and 1 repeat medicine'],
    [2, 10, '2 unplanned admissions and 10 repeat medicines'],
    [1, 1, '1 unplanned admission and 1 repeat medicine'],
  ])('says %i admissions and %i medicines with singular and plural right', (admissions, medicines, words) => {
    expect(
      reasonSentence(hfu, withFacts({ unplannedAdmissions: admissions, repeatMedications: medicines }), '2027-03-09')
    ).toBe(`${words} in the 12 months to 9 March 2027`);
  });

  it('groups figures with different windows, each with its own', () => {
    expect(reasonSentence(hiu, withFacts({ edAttendancesLastMonth: 6, edAttendances: 1 }), '2026-07-31')).toBe(
      '6 A&E attendances in the month and 1 A&E attendance in the 12 months to 31 July 2026'
    );
  });

  it('says what is not recorded rather than inventing a figure', () => {
    expect(reasonSentence(hfu, withFacts({ unplannedAdmissions: 2 }), '2026-12-01')).toBe(
      '2 unplanned admissions and repeat medicines: not recorded in the 12 months to 1 December 2026'
    );
  });

  it('falls back to words made from the feature name when the mapping gives no title', () => {
    const bare = loadProgramme();
    expect(figure(bare, 'unplannedAdmissions', 3)).toBe('unplanned admissions 3');
    expect(figure(bare, 'mentalHealth', true)).toBe('mental health: yes');
  });
});

describe('a candidate in a line', () => {
  it('starts with the tier title and ends with the risk factors by title', () => {
    const decision = decide(hfu, 'p', {
      facts: { unplannedAdmissions: 1, repeatMedications: 14, age: 80, carer: true, registered: true },
      evidence: {},
    });
    expect(candidateSummary(hfu, decision, '2026-12-01')).toBe(
      'Second priority: 1 unplanned admission and 14 repeat medicines in the 12 months to 1 December 2026. ' +
        'Risk factors: Age over 75; Carer.'
    );
  });
});
