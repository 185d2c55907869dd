import type { SurveyReport } from './report';

/** One table of the report: the text and HTML reports draw the same tables. */
interface Table {
  title: string;
  /** A sentence under the heading: what the table shows, in plain words. */
  intro: string;
  headers: string[];
  rows: (string | number)[][];
  /** Said instead of an empty table. */
  empty: string;
}

function tables(report: SurveyReport): Table[] {
  const features: Table = {
    title: 'What each feature finds',
    intro:
      'Records of the type per sampled patient, how many records the feature selected, and how many patients it found.',
    headers: [
      'Feature',
      'Name',
      'Reads',
      'Records',
      'Per patient (median, 90th centile)',
      'Selected',
      'Patients',
      'Fields tested',
    ],
    rows: report.features.map((f) => [
      f.title,
      f.name,
      f.types.join(', '),
      f.resources,
      `${f.resourcesPerPatient.median}, ${f.resourcesPerPatient.p90}`,
      f.selected,
      f.patientsWithAny,
      f.fields.join(' '),
    ]),
    empty: 'The mapping has no features.',
  };
  const coded: Table[] = report.codedFields.map((field) => ({
    title: field.label,
    intro: `${field.id}: ${field.resourcesWithValue} ${field.resource} records carry a value.${
      field.kind === 'systems' ? ' Code systems seen, and how many codes are in one of the mapping’s lists.' : ''
    }`,
    headers:
      field.kind === 'systems'
        ? ['Code system', 'Codes seen', 'In a mapping list', 'Recognised', 'Note']
        : ['Value (system|code)', 'Seen', 'Recognised', 'Note'],
    rows: field.values.map((v) =>
      field.kind === 'systems'
        ? [v.value, v.count, v.inLists ?? 0, v.recognised ? 'yes' : 'NO', v.note]
        : [v.value, v.count, v.recognised ? 'yes' : 'NO', v.note]
    ),
    empty: 'None seen in the sample.',
  }));
  return [
    features,
    {
      title: 'Patients the mapping could not evaluate',
      intro: 'Malformed records stop a patient being assessed; a run would skip these patients.',
      headers: ['Feature', 'Problem', 'Patients'],
      rows: report.notEvaluated.map((n) => [n.feature, n.problem, n.patients]),
      empty: 'Every sampled patient could be evaluated.',
    },
    {
      title: 'Values the mapping does not recognise',
      intro: 'Each of these is a code the mapping cannot place: add it to a value set, or change the mapping.',
      headers: ['Field', 'Value', 'Seen', 'Why'],
      rows: report.unrecognised.map((u) => [u.field, u.value, u.count, u.message.replace(/^.*?times?: /, '')]),
      empty: 'None: the mapping recognises every coded value it tests.',
    },
    ...coded,
    {
      title: 'Extensions the mapping does not read',
      intro: 'A local system may record what the mapping looks for in one of these.',
      headers: ['Element', 'Extension url', 'Seen'],
      rows: report.unusedExtensions.map((e) => [e.path, e.url, e.count]),
      empty: 'None.',
    },
    {
      title: 'Record types the mapping does not read',
      intro:
        'Records held for the sampled patients in types the mapping ignores (for example medicines as MedicationStatement).',
      headers: ['Type', 'Records', 'Note'],
      rows: report.unreadTypes.map((t) => [t.resourceType, t.count ?? '', t.problem ?? '']),
      empty: 'None found.',
    },
    {
      title: 'Data quality',
      intro:
        'Per type: dates after the survey date (of what has taken place: a booked appointment may be ahead) or before the patient’s birth (in the dates the mapping reads), references that do not name a sampled patient, records entered in error, encounters with no period and appointments with no start.',
      headers: [
        'Type',
        'Records',
        'Future dates',
        'Before birth',
        'Unresolved patient',
        'No patient (whole server)',
        'Entered in error',
        'No period',
        'No start',
      ],
      rows: report.quality.map((q) => [
        q.resource,
        q.resources,
        q.futureDates,
        q.datesBeforeBirth,
        q.unresolvedPatientReferences,
        q.resource === 'Patient' ? '' : (q.withoutPatientOnServer ?? 'not known'),
        q.enteredInError,
        q.withoutPeriod ?? '',
        q.withoutStart ?? '',
      ]),
      empty: 'No records read.',
    },
    {
      title: 'What the server declares',
      intro: report.capability.read
        ? `From GET metadata (FHIR ${report.capability.fhirVersion ?? 'version not given'}${report.capability.software ? `, ${report.capability.software}` : ''}).${targetNote(report)} Not declared does not always mean not supported: common parameters such as _id are often left out.`
        : 'The server did not answer GET metadata with a CapabilityStatement.',
      headers: ['Used by the connector', 'For', 'Declared'],
      rows: report.capability.checks.map((c) => [c.use, c.area, c.declared ? 'yes' : 'NO']),
      empty: 'Nothing to check.',
    },
    {
      title: 'Settings that follow',
      intro:
        'The configuration this server calls for, from what it declares and what the survey saw it do. Check each before the first run.',
      headers: ['Setting', 'Use', 'Change needed', 'Why'],
      rows: report.capability.settings.map((s) => [s.setting, s.value, s.change ? 'YES' : 'no', s.because]),
      empty: 'Nothing follows.',
    },
  ];
}

function summary(report: SurveyReport): string[] {
  const size = report.population.size === undefined ? '' : ` of ${report.population.size}`;
  return [
    `Survey of ${report.endpoint} against the ${report.mapping.name} mapping, on ${report.asOf}`,
    `Population: ${report.population.title}; ${report.sample.patients} patients sampled${size} (${report.sample.read} read to draw the sample, seed ${report.sample.seed}).`,
    report.unrecognised.length
      ? `${report.unrecognised.length} values the mapping does not recognise:`
      : 'The mapping recognises every coded value it tests.',
    ...report.unrecognised.map((u) => `  - ${u.message}`),
    ...(report.reads.some((r) => r.strategy === 'per-patient')
      ? [
          `The server refused a list of patients in one search (subject=Patient/a,Patient/b): read one patient at a time for ${report.reads
            .filter((r) => r.strategy === 'per-patient')
            .map((r) => r.resourceType)
            .join(
              ', '
            )}. A run against this server needs one search per patient too (extract.subjectSearch: per-patient).`,
        ]
      : []),
    ...settingsToChange(report),
    ...(report.emptyFields.length
      ? [`Coded fields with no value in any sampled record: ${report.emptyFields.join(', ')}.`]
      : []),
  ];
}

/** Where the write checks come from, when the record is written to a separate target. */
function targetNote(report: SurveyReport): string {
  const target = report.capability.target;
  if (!target) {
    return '';
  }
  return target.read
    ? ` Writes are checked against the separate target's metadata (writeback.fhir, ${target.endpoint}).`
    : ` The separate target (writeback.fhir, ${target.endpoint}) did not answer GET metadata.`;
}

/** The settings the server needs changed from their defaults, as one sentence (none: nothing said). */
function settingsToChange(report: SurveyReport): string[] {
  const changes = report.capability.settings.filter((s) => s.change);
  return changes.length
    ? [`This server needs: ${changes.map((s) => `${s.setting}: ${s.value}`).join('; ')} (see Settings that follow).`]
    : [];
}

/** The survey as text for a terminal: a summary, then one table per section. */
export function surveyText(report: SurveyReport): string {
  const lines = [...summary(report)];
  for (const table of tables(report)) {
    lines.push('', table.title, '-'.repeat(table.title.length), table.intro);
    lines.push(...(table.rows.length ? textTable(table.headers, table.rows) : [table.empty]));
  }
  return lines.join('\n') + '\n';
}

function textTable(headers: string[], rows: (string | number)[][]): string[] {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)];
}

const escape = (text: string | number): string => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The survey as one self-contained, accessible HTML page: headings, captioned tables, no scripts. */
export function surveyHtml(report: SurveyReport): string {
  const sections = tables(report).map((table, n) => {
    const body = table.rows.length
      ? `<table aria-labelledby="section-${n}">\n<thead><tr>${table.headers.map((h) => `<th scope="col">${escape(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${table.rows
          .map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`)
          .join('\n')}\n</tbody>\n</table>`
      : `<p>${escape(table.empty)}</p>`;
    return `<section>\n<h2 id="section-${n}">${escape(table.title)}</h2>\n<p>${escape(table.intro)}</p>\n${body}\n</section>`;
  });
  const [heading, ...rest] = summary(report);
  const list = rest.filter((l) => l.startsWith('  - '));
  const paragraphs = rest.filter((l) => !l.startsWith('  - '));
  return `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(heading ?? 'Survey')}</title>
<style>
body { font-family: Arial, sans-serif; color: #212b32; margin: 2rem; max-width: 80rem; line-height: 1.5; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { border-bottom: 1px solid #d8dde0; padding: 0.4rem 0.8rem; text-align: left; vertical-align: top; }
th { background: #f0f4f5; }
</style>
</head>
<body>
<main>
<h1>${escape(heading ?? '')}</h1>
${paragraphs.map((p) => `<p>${escape(p)}</p>`).join('\n')}
${list.length ? `<ul>\n${list.map((l) => `<li>${escape(l.slice(4))}</li>`).join('\n')}\n</ul>` : ''}
${sections.join('\n')}
</main>
</body>
</html>
`;
}
