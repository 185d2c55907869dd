import type { Command } from 'commander';
import type { PatientExplanation, ProgrammePlace } from '../../cohort';
import { explainPatient } from '../../cohort';
import type { Decision, Programme, RuleExplanation } from '../../criteria';
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
    .option('--mapping <mapping>', 'uk-core, synthea, or a path to a mapping YAML file')
    .option('--now <date>', 'evaluation date YYYY-MM-DD (default: today in London)')
    .option('--json', 'write one JSON document to stdout')
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
        explainText(deps.programme, outcome.decision, outcome.explanation).forEach((line) =>
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

function explainText(programme: Programme, decision: Decision, v: PatientExplanation): string[] {
  const lines = [
    `Patient/${decision.patientId} on ${v.asOf}: ${v.candidate ? `CANDIDATE (${v.tier} priority)` : `not a candidate (${v.reason})`}`,
    placeText(v.programme),
    '',
    'Features:',
  ];
  const width = Math.max(...Object.keys(decision.facts).map((k) => k.length));
  for (const [name, value] of Object.entries(decision.facts)) {
    const refs = decision.evidence[name] ?? [];
    const shown = refs.slice(0, 6).join(', ') + (refs.length > 6 ? `, ... (${refs.length} in all)` : '');
    lines.push(`  ${name.padEnd(width)}  ${String(value).padEnd(6)}${shown ? `  ${shown}` : ''}`);
  }
  const section = (title: string, rules: RuleExplanation[]): void => {
    lines.push('', `${title}:`);
    for (const rule of rules) {
      const values = Object.entries(rule.values)
        .map(([k, val]) => `${k}=${String(val)}`)
        .join(', ');
      lines.push(`  [${rule.holds ? 'x' : ' '}] ${rule.id}: ${rule.when}${values ? `   (${values})` : ''}`);
    }
  };
  section(`Tiers (${programme.id}, first that holds wins)`, v.tiers);
  section('Exclusions', v.exclusions);
  section('Risk factors (for the MDT, not gates)', v.riskFactors);
  return lines;
}
