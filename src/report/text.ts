import { longDate } from '../dates';
import type { Report } from './build';
import { TYPOLOGY_ROWS } from './build';
import {
  comparisonWords,
  figure,
  OUTCOME_LABELS,
  percent,
  PERSISTENCE_LABELS,
  STAGE_LABELS,
  TYPOLOGY_LABELS,
} from './wording';

/** The report for a terminal: the headline figures, a few lines per section. */
export function renderReportText(report: Report): string[] {
  const { population, typology, continuity, persistence, programme, impact } = report;
  const lines = [
    `High Frequency Users report on ${longDate(report.asOf)}: ${population.patients} patients (${population.title}).`,
  ];
  if (!population.complete) {
    lines.push('Part of the population could not be read: the figures are incomplete.');
  }
  lines.push('', 'Who uses most (12 months):');
  for (const [key, c] of Object.entries(report.concentration)) {
    lines.push(
      `  ${(OUTCOME_LABELS[key] ?? key).padEnd(22)} top 1% ${percent(c.top1)}, top 5% ${percent(c.top5)}, top 10% ${percent(c.top10)}, Gini ${c.gini.toFixed(3)}`
    );
  }
  lines.push('', `Top ${typology.topN} GP attenders against everyone:`);
  for (const row of TYPOLOGY_ROWS) {
    lines.push(
      `  ${TYPOLOGY_LABELS[row].padEnd(30)} ${percent(typology.top[row].share).padStart(6)} vs ${percent(typology.population[row].share)}`
    );
  }
  if (continuity) {
    const c = continuity.topN;
    lines.push(
      '',
      `Continuity, top ${typology.topN} (${c.patients} patients): median ${figure(c.medianDistinctGps, 1)} GPs seen, usual provider ${figure(c.medianUpc)}, COC ${figure(c.medianCoc)}, SECON ${figure(c.medianSecon)}`
    );
  }
  const labels = PERSISTENCE_LABELS(typology.topN);
  lines.push(
    '',
    `Still in the group a year later (${longDate(persistence.oneYear.from)} to ${longDate(persistence.oneYear.to)}):`
  );
  for (const [group, g] of Object.entries(persistence.oneYear.groups)) {
    lines.push(`  ${(labels[group] ?? group).padEnd(26)} ${g.stillIn} of ${g.patients} (${percent(g.share)})`);
  }
  const stages = Object.entries(programme.stages).map(([s, n]) => `${STAGE_LABELS[s] ?? s}: ${n}`);
  lines.push('', `Programme: ${stages.length ? stages.join(', ') : 'nobody proposed yet'}.`);
  const a = impact.emergencyAdmissions;
  lines.push(
    '',
    `Impact on emergency admissions: ${impact.verdict}.`,
    `  ${impact.groups.enrolled} enrolled against ${a.comparison.patients} ${comparisonWords(report)}.`,
    a.difference
      ? `  Difference in differences: ${a.difference.estimate.toFixed(2)} per patient-year (95% CI ${a.difference.low.toFixed(2)} to ${a.difference.high.toFixed(2)}).`
      : '  Difference in differences: not known.',
    `  The enrolled alone, before and after: ${a.naiveBeforeAfter.difference.toFixed(2)} per patient-year - what regression to the mean produces even with no effect.`
  );
  return lines;
}
