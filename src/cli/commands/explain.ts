import type { Command } from 'commander';
import type { PatientExplanation, ProgrammePlace } from '../../cohort';
import { explainPatient } from '../../cohort';
import type { Decision, Programme, RuleExplanation } from '../../criteria';
import { candidateSummary, exclusionTitle, featureTitle, reasonSentence, valuesInWords } from '../../criteria';
import { longDate } from '../../dates';
import type { CliIo } from '../context';
import { writeLine } from '../context';
import { EXIT_FAILED, EXIT_OK } from '../exit';
import { UsageError } from '../options';
import { runContext } from '../run-context';

export function registerExplain(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('explain <patient>')
    .description('why a patient is, or is not, a candidate: features with their evidence, and every rule')
    .option('--fhir-base-url <url>', 'FHIR R4 endpoint (overrides fhir.baseUrl)')
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .option('--programme <programme>', 'nhse-hfu-2022, nhse-hiu, or a path to a programme YAML file')
    .option('--now <date>', 'evaluation date YYYY-MM-DD (default: today in London)')
    .option('--json', 'write one JSON document to stdout')
    .option('--verbose', 'also show feature names, rule ids and their expressions')
    .action(async (patient: string, flags: Record<string, string | boolean | undefined>, command: Command) => {
      const id = /^(?:Patient\/)?([A-Za-z0-9\-.]{1,64})$/.exec(patient)?.[1];
      if (!id) {
        throw new UsageError(`expected Patient/<id>, not '${patient}'`);
      }
      const { deps, settings } = runContext(io, command, flags, { dryRun: true });
      const outcome = await explainPatient(deps, settings, id);
      if ('skipped' in outcome) {
        writeLine(io.stderr, `hfu: Patient/${id}: ${outcome.skipped}`);
        setExitCode(EXIT_FAILED);
        return;
      }
      if (flags.json) {
        io.stdout.write(JSON.stringify(outcome.explanation, null, 2) + '\n');
      } else {
        explainText(deps.programme, outcome.decision, outcome.explanation, Boolean(flags.verbose)).forEach((line) =>
          writeLine(io.stdout, line)
        );
      }
      setExitCode(EXIT_OK);
    });
}

/** Where the patient is in the programme, in one line. */
function placeText(place: ProgrammePlace): string {
  const where = place.stage ? `${place.stage} (episode ${place.episode})` : 'not in the programme';
  const owner = place.owner ? `; ${place.owner.status} owner ${place.owner.reference}` : '';
  return `Programme: ${where}; dominant risk ${place.dominantRisk}${owner}`;
}

/**
 * The explanation in plain English: the verdict with its reason, each feature by its title with its evidence, every
 * rule by its title with the values it read. `verbose` adds the feature names, rule ids and expressions.
 */
function explainText(programme: Programme, decision: Decision, v: PatientExplanation, verbose: boolean): string[] {
  const excludedBy = decision.excludedBy.map((id) => exclusionTitle(programme, id));
  const verdict = v.candidate
    ? `CANDIDATE. ${candidateSummary(programme, decision, v.asOf)}`
    : `not a candidate: ${excludedBy.length ? `excluded (${excludedBy.join('; ')})` : "no tier's criteria are met"}. ${reasonSentence(programme, decision, v.asOf)}.`;
  const lines = [
    `Patient/${decision.patientId} on ${longDate(v.asOf)}: ${verdict}`,
    placeText(v.programme),
    '',
    'Features:',
  ];
  const label = (name: string) =>
    verbose ? `${featureTitle(programme, name)} (${name})` : featureTitle(programme, name);
  const width = Math.max(...Object.keys(decision.facts).map((k) => label(k).length));
  for (const [name, value] of Object.entries(decision.facts)) {
    const refs = decision.evidence[name] ?? [];
    const shown = refs.slice(0, 6).join(', ') + (refs.length > 6 ? `, ... (${refs.length} in all)` : '');
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : value === null ? 'not recorded' : String(value);
    lines.push(`  ${label(name).padEnd(width)}  ${text.padEnd(6)}${shown ? `  ${shown}` : ''}`);
  }
  const section = (title: string, rules: RuleExplanation[]): void => {
    lines.push('', `${title}:`);
    for (const rule of rules) {
      const values = valuesInWords(programme, rule.values);
      lines.push(`  [${rule.holds ? 'x' : ' '}] ${rule.title}${values ? ` (${values})` : ''}`);
      if (verbose) {
        lines.push(`        ${rule.id}: ${rule.when}`);
      }
    }
  };
  section(`Tiers (${programme.shortTitle}: the first that holds wins)`, v.tiers);
  section('Exclusions', v.exclusions);
  section('Risk factors (for the MDT, not gates)', v.riskFactors);
  return lines;
}
