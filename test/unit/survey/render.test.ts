import type { SurveyReport } from '../../../src/survey';
import { surveyHtml, surveyText } from '../../../src/survey';

/** A small report as runSurvey would return it, with an extension url an endpoint could make hostile. */
function report(): SurveyReport {
  return {
    endpoint: 'https://fhir.example.nhs.uk/R4',
    mapping: { name: 'uk-core', file: '/mappings/uk-core/mapping.yaml' },
    asOf: '2026-11-23',
    population: { title: 'all patients', size: 1200 },
    sample: { requested: 500, patients: 500, read: 1200, method: 'reservoir', seed: 1 },
    reads: [
      { resourceType: 'Condition', strategy: 'or-list' },
      { resourceType: 'Encounter', strategy: 'per-patient' },
    ],
    features: [
      {
        name: 'unplannedAdmissions',
        title: 'Unplanned admissions',
        description: 'Emergency inpatient admissions',
        resource: 'Encounter',
        types: ['Encounter'],
        fields: ['class.code', 'period.start'],
        resourcesPerPatient: { median: 4, p90: 11, max: 40 },
        resources: 2600,
        selected: 31,
        patientsWithAny: 25,
      },
    ],
    notEvaluated: [],
    codedFields: [
      {
        id: 'Encounter.hospitalization.extension:admissionMethod',
        label: 'Admission method (extension on Encounter.hospitalization)',
        resource: 'Encounter',
        kind: 'codes',
        features: ['unplannedAdmissions'],
        resourcesWithValue: 40,
        values: [
          {
            value: 'https://x/AdmissionMethod|21',
            count: 26,
            recognised: true,
            note: 'in emergency-admission-methods',
          },
          {
            value: 'https://x/AdmissionMethod|2E',
            count: 14,
            recognised: false,
            note: 'not in emergency-admission-methods',
          },
        ],
      },
    ],
    emptyFields: [],
    unrecognised: [
      {
        field: 'Encounter.hospitalization.extension:admissionMethod',
        value: 'https://x/AdmissionMethod|2E',
        count: 14,
        features: ['unplannedAdmissions'],
        lists: ['emergency-admission-methods'],
        message: 'Admission method: https://x/AdmissionMethod|2E seen 14 times: not in emergency-admission-methods',
      },
    ],
    unusedExtensions: [
      { resource: 'Encounter', path: 'Encounter.extension', url: 'https://x/<script>alert(1)</script>', count: 3 },
    ],
    unreadTypes: [{ resourceType: 'MedicationStatement', count: 812 }],
    quality: [
      {
        resource: 'Encounter',
        resources: 2600,
        futureDates: 2,
        datesBeforeBirth: 0,
        unresolvedPatientReferences: 0,
        withoutPatientOnServer: 5,
        enteredInError: 7,
        withoutPeriod: 1,
      },
    ],
    capability: {
      read: true,
      fhirVersion: '4.0.1',
      checks: [{ use: 'transaction', area: 'write', declared: false }],
      settings: [
        {
          setting: 'writeback.strategy',
          value: 'individual',
          change: true,
          because: 'the server declares neither transactions nor batches',
        },
      ],
    },
  };
}

describe('the survey report', () => {
  it('reads as text: a summary with each unrecognised value, then aligned tables', () => {
    const text = surveyText(report());
    expect(text).toContain('Population: all patients; 500 patients sampled of 1200 (1200 read to draw the sample');
    expect(text).toContain('1 values the mapping does not recognise:');
    expect(text).toContain(
      '  - Admission method: https://x/AdmissionMethod|2E seen 14 times: not in emergency-admission-methods'
    );
    expect(text).toMatch(/Unplanned admissions\s+unplannedAdmissions\s+Encounter\s+2600\s+4, 11\s+31\s+25/);
    expect(text).toMatch(/MedicationStatement\s+812/);
    expect(text).toMatch(/Settings that follow\n-+\n/);
    expect(text).toMatch(
      /writeback\.strategy\s+individual\s+YES\s+the server declares neither transactions nor batches/
    );
    expect(text).toContain('This server needs: writeback.strategy: individual (see Settings that follow).');
    expect(text).toMatch(/transaction\s+write\s+NO/);
    expect(text).toContain('Every sampled patient could be evaluated.');
    expect(text).toContain(
      'The server refused a list of patients in one search (subject=Patient/a,Patient/b): read one patient at a time for Encounter.'
    );
  });

  it('is one self-contained HTML page that escapes what the endpoint sent', () => {
    const html = surveyHtml(report());
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en-GB">/);
    expect(html).not.toContain('<script');
    expect(html).toContain('https://x/&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toMatch(/<link|src=/); // nothing fetched from elsewhere
    expect(html.match(/<h2 id="section-\d+">/g)?.length).toBe(html.match(/<section>/g)?.length);
    expect(html).toContain('<th scope="col">Extension url</th>');
  });
});
