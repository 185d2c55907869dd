import { parse, View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { Report } from './build';
import { COMPARISON_LABEL, OUTCOME_LABELS, PERSISTENCE_LABELS, TYPOLOGY_LABELS } from './wording';
import { TYPOLOGY_ROWS } from './build';

/** One chart: its SVG (rendered on the server, no browser) and the sentence a screen reader hears for it. */
export interface Chart {
  id: string;
  title: string;
  description: string;
  svg: string;
}

const FONT = 'Frutiger W01, Arial, sans-serif';
/** NHS.UK colours: blue, dark blue, warm yellow, grey. */
const COLOURS = ['#005eb8', '#003087', '#ffb81c', '#768692'];

/** Every chart of the report, as SVG strings. */
export async function reportCharts(report: Report): Promise<Chart[]> {
  const specs = [lorenz(report), typologyChart(report), persistenceChart(report), impactChart(report)];
  return Promise.all(specs.map(async (c) => ({ ...c, svg: accessible(await toSvg(c.spec), c.id) })));
}

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The SVG as one image named by its caption: the table beside it carries the figures for a screen reader, so the
 * roles Vega gives each mark (read out one by one, and unnamed) are dropped.
 */
function accessible(svg: string, id: string): string {
  const plain = svg.replace(/ (role|aria-[a-z]+)="[^"]*"/g, '');
  return plain.replace('<svg ', `<svg role="img" aria-labelledby="${id}-caption" focusable="false" `);
}

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  width: 520,
  height: 300,
  config: {
    aria: false,
    font: FONT,
    range: { category: COLOURS },
    axis: { labelFontSize: 13, titleFontSize: 14, labelLimit: 0 },
    legend: { labelFontSize: 13, titleFontSize: 14, orient: 'bottom', labelLimit: 0, columns: 2 },
  },
} as const;

interface ChartSpec {
  id: string;
  title: string;
  description: string;
  spec: TopLevelSpec;
}

function lorenz(report: Report): ChartSpec {
  const values = Object.entries(report.concentration).flatMap(([measure, c]) =>
    c.lorenz.map((p) => ({ measure: OUTCOME_LABELS[measure] ?? measure, population: p.population, events: p.events }))
  );
  const equality = [0, 1].map((x) => ({ measure: 'Everyone the same', population: x, events: x }));
  return {
    id: 'chart-lorenz',
    title: 'How concentrated use is (Lorenz curves)',
    description:
      'Share of all contacts against share of patients, patients ordered from least to most use; the further a curve bows below the diagonal, the more the use is concentrated in a few patients.',
    spec: {
      ...base,
      data: { values: [...values, ...equality] },
      mark: { type: 'line', strokeWidth: 2.5 },
      encoding: {
        x: { field: 'population', type: 'quantitative', title: 'Share of patients', axis: { format: '%' } },
        y: { field: 'events', type: 'quantitative', title: 'Share of contacts', axis: { format: '%' } },
        color: { field: 'measure', type: 'nominal', title: null },
        strokeDash: {
          condition: { test: "datum.measure === 'Everyone the same'", value: [4, 4] },
          value: [1, 0],
        },
      },
    } as TopLevelSpec,
  };
}

function typologyChart(report: Report): ChartSpec {
  const { top, population, topN } = report.typology;
  const groups = [
    [`Top ${topN} GP attenders`, top],
    ['Everyone', population],
  ] as const;
  const values = groups.flatMap(([group, g]) =>
    TYPOLOGY_ROWS.map((row) => ({ group, row: TYPOLOGY_LABELS[row], share: g[row].share }))
  );
  return {
    id: 'chart-typology',
    title: `Who the top ${topN} GP attenders are`,
    description: `Share of the top ${topN} GP attenders with each characteristic, beside the share of all patients.`,
    spec: {
      ...base,
      height: 34 * TYPOLOGY_ROWS.length,
      data: { values },
      mark: 'bar',
      encoding: {
        y: { field: 'row', type: 'nominal', title: null, sort: null },
        yOffset: { field: 'group', sort: null },
        x: { field: 'share', type: 'quantitative', title: 'Share of the group', axis: { format: '%' } },
        color: { field: 'group', type: 'nominal', title: null, sort: null },
      },
    } as TopLevelSpec,
  };
}

function persistenceChart(report: Report): ChartSpec {
  const periods = [
    ['One year on', report.persistence.oneYear],
    ['Two years on', report.persistence.twoYears],
  ] as const;
  const values = periods.flatMap(([period, p]) =>
    p
      ? Object.entries(p.groups).map(([group, g]) => ({
          period,
          group: PERSISTENCE_LABELS(report.typology.topN)[group] ?? group,
          share: g.share ?? 0,
        }))
      : []
  );
  return {
    id: 'chart-persistence',
    title: 'Who is still a frequent user later',
    description:
      'Of the patients in each group a year (and two years) before, the share still in the same group now: most are not, which is regression to the mean.',
    spec: {
      ...base,
      height: 200,
      data: { values },
      mark: 'bar',
      encoding: {
        y: { field: 'group', type: 'nominal', title: null, sort: null },
        yOffset: { field: 'period', sort: null },
        x: {
          field: 'share',
          type: 'quantitative',
          title: 'Share still in the group',
          axis: { format: '%' },
          scale: { domain: [0, 1] },
        },
        color: { field: 'period', type: 'nominal', title: null, sort: null },
      },
    } as TopLevelSpec,
  };
}

function impactChart(report: Report): ChartSpec {
  const outcome = report.impact.emergencyAdmissions;
  const comparison = COMPARISON_LABEL;
  const values = [
    ['Enrolled', outcome.enrolled],
    [comparison, outcome.comparison],
  ].flatMap(([group, rates]) => {
    const r = rates as typeof outcome.enrolled;
    return [
      { group, when: 'The 12 months before', rate: r.before },
      { group, when: 'Since', rate: r.after },
    ];
  });
  return {
    id: 'chart-impact',
    title: 'Emergency admissions before and after, enrolled and comparison group',
    description:
      'Emergency admissions per patient-year in the 12 months before the enrolment date and since, for the enrolled and for the comparison group; both fall, and only the difference between the two falls can be put down to the programme.',
    spec: {
      ...base,
      height: 260,
      data: { values },
      mark: { type: 'line', point: { size: 80, filled: true }, strokeWidth: 2.5 },
      encoding: {
        x: { field: 'when', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } },
        y: { field: 'rate', type: 'quantitative', title: 'Emergency admissions per patient-year' },
        color: { field: 'group', type: 'nominal', title: null, sort: null },
      },
    } as TopLevelSpec,
  };
}
