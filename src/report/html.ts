import { readFileSync } from 'node:fs';
import { longDate, longMonth } from '../dates';
import type { Report } from './build';
import { TYPOLOGY_ROWS } from './build';
import type { Chart } from './charts';
import type { OutcomeEstimate } from './impact';
import {
  COMPARISON_LABEL,
  comparisonWords,
  figure,
  FLOW_LABELS,
  OUTCOME_LABELS,
  percent,
  PERSISTENCE_LABELS,
  roleLabel,
  STAGE_LABELS,
  TYPOLOGY_LABELS,
} from './wording';

/** Text for HTML: the report holds codes and numbers only, but a title or a label could hold anything. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string
  );
}

type Cell = string | number;

/**
 * An NHS.UK responsive table: at phone widths each row becomes a block of heading–value pairs (the design system's
 * `nhsuk-table-responsive`), so wide tables never make the page scroll sideways.
 */
function table(caption: string, head: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const th = head.map((h) => `<th scope="col" class="nhsuk-table__header">${escapeHtml(h)}</th>`).join('');
  const cell = (value: Cell, i: number) => {
    const label = `<span class="nhsuk-table-responsive__heading" aria-hidden="true">${escapeHtml(head[i] ?? '')} </span>`;
    const text = `${label}${escapeHtml(String(value))}`;
    return i === 0
      ? `<th scope="row" class="nhsuk-table__header">${text}</th>`
      : `<td class="nhsuk-table__cell">${text}</td>`;
  };
  const body = rows.map((row) => `<tr class="nhsuk-table__row">${row.map(cell).join('')}</tr>`).join('');
  return (
    `<table class="nhsuk-table-responsive"><caption class="nhsuk-table__caption">${escapeHtml(caption)}</caption>` +
    `<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">${th}</tr></thead>` +
    `<tbody class="nhsuk-table__body">${body}</tbody></table>`
  );
}

/** A chart with its caption; the table that follows it is its text alternative (the same figures). */
function chartFigure(chart: Chart | undefined, alternative: string): string {
  if (!chart) {
    return alternative;
  }
  return (
    `<figure class="hfu-chart"><figcaption id="${chart.id}-caption"><strong>${escapeHtml(chart.title)}.</strong> ` +
    `${escapeHtml(chart.description)} The table below gives the same figures.</figcaption>${chart.svg}</figure>` +
    alternative
  );
}

function section(id: string, heading: string, body: string): string {
  return `<section aria-labelledby="${id}"><h2 class="nhsuk-heading-l" id="${id}">${escapeHtml(heading)}</h2>${body}</section>`;
}

const p = (text: string) => `<p class="nhsuk-body">${escapeHtml(text)}</p>`;

/** The report's body as an HTML fragment on NHS.UK frontend classes, for a page (the insights page) to embed. */
export function renderReportHtml(report: Report, charts: readonly Chart[]): string {
  const chart = (id: string) => charts.find((c) => c.id === id);
  return [
    summarySection(report),
    concentrationSection(report, chart('chart-lorenz')),
    typologySection(report, chart('chart-typology')),
    continuitySection(report),
    persistenceSection(report, chart('chart-persistence')),
    programmeSection(report),
    impactSection(report, chart('chart-impact')),
  ].join('\n');
}

function summarySection(report: Report): string {
  const { population } = report;
  const skipped = Object.values(population.skipped).reduce((s, n) => s + n, 0);
  return p(
    `${population.patients.toLocaleString('en-GB')} patients (${population.title}) on ${longDate(report.asOf)}.` +
      (skipped ? ` ${skipped} patients were left out because their records could not be read.` : '') +
      (population.complete ? '' : ' Part of the population could not be read: the figures are incomplete.')
  );
}

function concentrationSection(report: Report, chart?: Chart): string {
  const rows = Object.entries(report.concentration).map(([key, c]) => [
    OUTCOME_LABELS[key] ?? key,
    c.events,
    percent(c.top1),
    percent(c.top5),
    percent(c.top10),
    c.gini.toFixed(3),
  ]);
  const alternative = table(
    'Share of all contacts used by the top 1%, 5% and 10% of patients, in the 12 months to the report date',
    ['Service', 'Contacts', 'Top 1%', 'Top 5%', 'Top 10%', 'Gini'],
    rows
  );
  const lorenz = table(
    'Lorenz curve points: share of contacts used by the least-using share of patients',
    ['Share of patients', ...Object.keys(report.concentration).map((k) => OUTCOME_LABELS[k] ?? k)],
    (report.concentration.gpEncounters.lorenz ?? []).map((point, i) => [
      percent(point.population),
      ...Object.values(report.concentration).map((c) => percent(c.lorenz[i]?.events ?? null)),
    ])
  );
  return section(
    'concentration',
    'Who uses most',
    p('Every patient in scope counts, including those who have since died or left the practice.') +
      chartFigure(chart, alternative) +
      `<details class="nhsuk-details"><summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">The Lorenz curve points</span></summary><div class="nhsuk-details__text">${lorenz}</div></details>`
  );
}

function typologySection(report: Report, chart?: Chart): string {
  const { top, population, topN } = report.typology;
  const rows = TYPOLOGY_ROWS.map((row) => [
    TYPOLOGY_LABELS[row],
    `${top[row].count} (${percent(top[row].share)})`,
    `${population[row].count} (${percent(population[row].share)})`,
  ]);
  return section(
    'typology',
    `Who the top ${topN} GP attenders are`,
    chartFigure(
      chart,
      table(
        `The top ${top.patients} patients by GP practice contacts beside all ${population.patients} patients`,
        ['Characteristic', `Top ${topN}`, 'Everyone'],
        rows
      )
    )
  );
}

function continuitySection(report: Report): string {
  const c = report.continuity;
  if (!c) {
    return section(
      'continuity',
      'Continuity of GP care',
      p('The mapping does not say which practitioner each GP contact was with, so continuity cannot be measured.')
    );
  }
  const groups = [
    [`Top ${report.typology.topN} GP attenders`, c.topN],
    ['Candidates for the programme', c.candidates],
    ['Everyone', c.everyone],
  ] as const;
  return section(
    'continuity',
    'Continuity of GP care',
    p(
      'For patients with at least 2 GP contacts naming the practitioner in the last 12 months. Usual provider of care is the share of contacts with the GP seen most; the continuity of care index is 1 when one GP saw every contact and 0 when each was with a different GP; sequential continuity is the share of contacts with the same GP as the contact before.'
    ) +
      table(
        'Continuity of GP care, medians per group',
        [
          'Group',
          'Patients',
          'Different GPs seen',
          'Usual provider of care',
          'Continuity of care index',
          'Sequential continuity',
        ],
        groups.map(([label, g]) => [
          label,
          g.patients,
          figure(g.medianDistinctGps, 1),
          figure(g.medianUpc),
          figure(g.medianCoc),
          figure(g.medianSecon),
        ])
      )
  );
}

function persistenceSection(report: Report, chart?: Chart): string {
  const labels = PERSISTENCE_LABELS(report.typology.topN);
  const periods = [report.persistence.oneYear, report.persistence.twoYears].filter((x) => x !== null);
  const rows = periods.flatMap((period) =>
    Object.entries(period.groups).map(([group, g]) => [
      labels[group] ?? group,
      `${longDate(period.from)} to ${longDate(period.to)}`,
      g.patients,
      g.stillIn,
      percent(g.share),
    ])
  );
  return section(
    'persistence',
    'Who is still a frequent user a year later',
    p(
      'Patients chosen because their use was high in one year mostly use less the next, whether or not anyone does anything: this is regression to the mean, and it is why a fall in the use of patients picked for high use is no evidence that a programme works.'
    ) +
      (report.persistence.twoYears ? '' : p('The data do not reach two years back, so only one year is shown.')) +
      chartFigure(
        chart,
        table(
          'Share of each group still in the same group at the report date',
          ['Group', 'Period', 'Patients then', 'Still in the group', 'Share'],
          rows
        )
      )
  );
}

function programmeSection(report: Report): string {
  const flow = report.programme;
  const stageRows = Object.entries(flow.stages).map(([stage, n]) => [STAGE_LABELS[stage] ?? stage, n]);
  const monthRows = flow.byMonth.map((m) => [
    `${longMonth(m.month)}, ${m.tier === 'first' ? 'first' : m.tier === 'second' ? 'second' : 'unknown'} priority`,
    ...(Object.keys(FLOW_LABELS) as (keyof typeof FLOW_LABELS)[]).map((k) => m[k as keyof typeof m]),
  ]);
  const caseload = Object.entries(flow.caseloadByRole).map(([role, n]) => [roleLabel(role), n]);
  return section(
    'programme',
    'The programme so far',
    p(
      `Median time from proposal to MDT decision: ${figure(flow.medianDaysProposalToDecision, 1)} days. ` +
        `Median time from acceptance to the What Matters to Me conversation: ${figure(flow.medianDaysAcceptanceToConversation, 1)} days.`
    ) +
      table(
        'Patients by where they stand now',
        ['Stage', 'Patients'],
        stageRows.length ? stageRows : [['None yet', 0]]
      ) +
      table(
        'What happened each month, by priority tier',
        ['Month and tier', ...Object.values(FLOW_LABELS)],
        monthRows
      ) +
      table('Patients in the programme now, by the role that holds their care', ['Role', 'Patients'], caseload)
  );
}

function impactSection(report: Report, chart?: Chart): string {
  const impact = report.impact;
  const comparison = COMPARISON_LABEL;
  const outcomes: [string, OutcomeEstimate][] = [
    ['Emergency admissions', impact.emergencyAdmissions],
    ['A&E attendances', impact.edAttendances],
  ];
  const ci = (e: OutcomeEstimate) =>
    e.difference
      ? `${e.difference.estimate.toFixed(2)} (${e.difference.low.toFixed(2)} to ${e.difference.high.toFixed(2)})`
      : 'not known';
  const rows = outcomes.map(([label, e]) => [
    label,
    `${e.enrolled.before.toFixed(2)} → ${e.enrolled.after.toFixed(2)}`,
    `${e.comparison.before.toFixed(2)} → ${e.comparison.after.toFixed(2)}`,
    ci(e),
    e.naiveBeforeAfter.difference.toFixed(2),
  ]);
  const verdict =
    `<div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: </span>` +
    `<p class="nhsuk-body"><strong>Emergency admissions: ${escapeHtml(impact.verdict)}.</strong> ` +
    `${impact.groups.enrolled} patients enrolled at least ${impact.minFollowUpMonths} months ago, compared with ` +
    `${impact.emergencyAdmissions.comparison.patients} ${escapeHtml(comparisonWords(report))}.</p></div>`;
  const naive =
    `<div class="nhsuk-warning-callout"><h3 class="nhsuk-warning-callout__label"><span role="text"><span class="nhsuk-u-visually-hidden">Important: </span>A before and after comparison misleads</span></h3>` +
    `<p class="nhsuk-body">The enrolled alone went from ${impact.emergencyAdmissions.enrolled.before.toFixed(2)} to ` +
    `${impact.emergencyAdmissions.enrolled.after.toFixed(2)} emergency admissions per patient-year. A fall like this is what regression to the mean produces even when the programme does nothing, because patients are chosen for having had many admissions. Only the difference from the comparison group's change is an estimate of the programme's effect.</p></div>`;
  return section(
    'impact',
    'Does the programme reduce emergency admissions?',
    verdict +
      chartFigure(
        chart,
        table(
          'Use per patient-year, 12 months before the enrolment date and since; the difference in differences with its 95% confidence interval',
          ['Outcome', 'Enrolled', comparison, 'Difference in differences (95% CI)', 'Enrolled before and after alone'],
          rows
        )
      ) +
      naive +
      table(
        'Patients in each group',
        ['Group', 'Patients'],
        [
          ['Enrolled', impact.groups.enrolled],
          ['Candidates a lottery did not draw', impact.groups.lottery],
          ['Qualified on the same date, not enrolled', impact.groups.waitlisted],
          ['Just under the threshold on the same date', impact.groups.justUnder],
        ]
      )
  );
}

/** NHS.UK frontend's stylesheet, inlined so the report is one file that opens anywhere. */
function nhsukCss(): string {
  return readFileSync(require.resolve('nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css'), 'utf8');
}

/** The whole report as one self-contained HTML file: styles inlined, charts inline SVG, no script. */
export function renderReportDocument(report: Report, charts: readonly Chart[]): string {
  const title = `High Frequency Users report, ${longDate(report.asOf)}`;
  return `<!DOCTYPE html>
<html lang="en-GB" class="nhsuk-template">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${nhsukCss()}</style>
<style>.hfu-chart{margin:0 0 24px}.hfu-chart svg{max-width:100%;height:auto}</style>
</head>
<body class="nhsuk-template__body">
<header class="nhsuk-header" role="banner"><div class="nhsuk-header__container nhsuk-width-container"><p class="nhsuk-header__service-name" style="color:#fff;margin:16px 0">High Frequency Users programme</p></div></header>
<div class="nhsuk-width-container"><main class="nhsuk-main-wrapper" id="maincontent">
<h1 class="nhsuk-heading-xl">${escapeHtml(title)}</h1>
${renderReportHtml(report, charts)}
</main></div>
</body>
</html>
`;
}
