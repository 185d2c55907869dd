import { parse, View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { PlanView } from '../workspace';
import { formatDate } from './views';

export const WELLBEING_CHART_ID = 'wellbeing-chart';

/** NHS.UK colours: blue, dark blue, warm yellow, grey (as the report's charts). */
const COLOURS = ['#005eb8', '#003087', '#ffb81c', '#768692'];

/**
 * The ONS4 scores over time as a small line chart, an SVG rendered here (no script in the page, no inline style:
 * the CSP allows neither). One image named by its caption; the table after it gives the same figures.
 */
export async function wellbeingChart(wellbeing: PlanView['wellbeing']): Promise<string | undefined> {
  if (!wellbeing.length) {
    return undefined;
  }
  // One step per form, named by its number and date (two forms may share a day).
  const values = wellbeing.flatMap((row, i) =>
    row.scores.map((s) => ({ form: `${i + 1}: ${formatDate(row.date)}`, question: s.label, score: s.value }))
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 480,
    height: 220,
    config: {
      aria: false,
      font: 'Frutiger W01, Arial, sans-serif',
      range: { category: COLOURS },
      axis: { labelFontSize: 13, titleFontSize: 14, labelLimit: 0 },
      legend: { labelFontSize: 13, titleFontSize: 14, orient: 'bottom', labelLimit: 0, columns: 2 },
    },
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2.5 },
    encoding: {
      x: { field: 'form', type: 'ordinal', title: 'Form, by date', sort: null, axis: { labelAngle: -30 } },
      y: { field: 'score', type: 'quantitative', title: 'Score (0 to 10)', scale: { domain: [0, 10] } },
      color: { field: 'question', type: 'nominal', title: 'Question' },
    },
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // Vega's per-mark roles are dropped: the chart is one image, its caption its name.
    return svg
      .replace(/ (role|aria-[a-z]+)="[^"]*"/g, '')
      .replace('<svg ', `<svg role="img" aria-labelledby="${WELLBEING_CHART_ID}-caption" focusable="false" `);
  } finally {
    view.finalize();
  }
}
