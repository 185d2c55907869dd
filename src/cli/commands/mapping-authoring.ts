import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadMapping } from '../../mappings';
import type { SurveyFindings } from '../../mappings/authoring';
import {
  applyPlan,
  copyMappingFolder,
  describeProposal,
  parseAssignment,
  scaffoldMapping,
  suggestChanges,
} from '../../mappings/authoring';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { UsageError } from '../options';

/** `hfu mapping suggest` and `hfu mapping new`: authoring a mapping for a source system, always in a copy. */
export function registerMappingAuthoring(mapping: Command, io: CliIo): void {
  mapping
    .command('suggest')
    .description(
      "propose changes to a copy of the mapping from a survey's unrecognised values (the original is never changed)"
    )
    .requiredOption('--survey <file>', 'the JSON document of hfu survey --json')
    .requiredOption('--out <folder>', 'a new folder for the copy of the mapping with the proposed changes')
    .option(
      '--mapping <mapping>',
      "uk-core, synthea, or a path to a mapping YAML file or folder (default: the survey's)"
    )
    .option(
      '--assign <code=list>',
      "put a local code in one of the mapping's lists, e.g. 2E=emergency-admission-methods (repeatable)",
      (value: string, all: string[]) => [...all, value],
      [] as string[]
    )
    .action((flags: { survey: string; out: string; mapping?: string; assign: string[] }, command: Command) => {
      const survey = readSurvey(flags.survey);
      const ctx = commandContext(io, command.optsWithGlobals().config, { mapping: flags.mapping ?? survey.mapping });
      const compiled = loadMapping(ctx.config.mapping);
      const plan = suggestChanges(survey, compiled, flags.assign.map(parseAssignment));
      const copy = copyMappingFolder(compiled.file, flags.out);
      applyPlan(copy, plan, path.basename(flags.survey));
      loadMapping(copy); // the copy must load: a proposal that breaks the mapping is a bug, not a suggestion
      writeLine(
        io.stdout,
        `Copy of ${compiled.name} written to ${path.dirname(copy)} (${compiled.file} is unchanged).`
      );
      writeLine(
        io.stdout,
        plan.proposals.length ? `\nProposed changes (${plan.proposals.length}):` : '\nNo changes proposed.'
      );
      for (const proposal of plan.proposals) {
        const { file, what, why } = describeProposal(proposal);
        writeLine(io.stdout, `  ${file}: ${what}\n      why: ${why}`);
      }
      if (plan.decisions.length) {
        writeLine(io.stdout, `\nNot changed, for you to decide (${plan.decisions.length}):`);
        plan.decisions.forEach((d) =>
          writeLine(
            io.stdout,
            `  ${d.value} seen ${d.count} times${d.fields.length ? ` (${d.fields.join(', ')})` : ''}: ${d.reason}`
          )
        );
      }
      writeLine(io.stdout, `\nReview the copy, then check it: hfu mapping test --mapping ${path.dirname(copy)}`);
    });

  mapping
    .command('new')
    .description('scaffold a mapping folder from a built-in mapping, with its value sets and tests')
    .argument('<name>', "the new mapping's name (lower-case letters, digits, hyphens)")
    .option('--out <folder>', 'where to write it (default: ./<name>)')
    .option('--from <mapping>', 'the built-in mapping to start from (default uk-core)', 'uk-core')
    .action((name: string, flags: { out?: string; from: string }) => {
      const out = flags.out ?? name;
      const file = scaffoldMapping(name, out, flags.from);
      writeLine(io.stdout, `Mapping ${name} written to ${path.dirname(file)}, from ${flags.from}, with its tests.`);
      writeLine(io.stdout, `Check it: hfu mapping test --mapping ${out}`);
    });
}

function readSurvey(file: string): SurveyFindings & { mapping?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `--survey ${file}: not a readable JSON file (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'})`
    );
  }
  const survey = parsed as Partial<SurveyFindings> & { mapping?: { file?: unknown } };
  if (!Array.isArray(survey.unrecognised) || !Array.isArray(survey.unusedExtensions)) {
    throw new UsageError(`--survey ${file}: not the JSON of hfu survey --json (no unrecognised or unusedExtensions)`);
  }
  const mapping = typeof survey.mapping?.file === 'string' ? survey.mapping.file : undefined;
  const unreadTypes = Array.isArray(survey.unreadTypes) ? survey.unreadTypes : [];
  return { unrecognised: survey.unrecognised, unusedExtensions: survey.unusedExtensions, unreadTypes, mapping };
}
