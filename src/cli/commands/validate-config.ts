import type { Command } from 'commander';
import { rulesFrom } from '../../cohort';
import { uiConfigProblem } from '../../pages';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { NO_ENDPOINT } from '../runtime';

export function registerValidateConfig(program: Command, io: CliIo): void {
  program
    .command('validate-config')
    .description('check configuration, mapping and programme (every expression compiled); exit 2 with every problem')
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .option('--programme <programme>', 'nhse-hfu-2022, nhse-hiu, or a path to a programme YAML file')
    .action((flags: Record<string, string | undefined>, command: Command) => {
      const { config } = commandContext(io, command.optsWithGlobals().config, {
        mapping: flags.mapping,
        'programme.file': flags.programme,
      });
      const { mapping, programme } = rulesFrom(config);
      const uiProblem = uiConfigProblem(config);
      if (uiProblem) {
        throw uiProblem;
      }
      writeLine(io.stdout, 'configuration is valid');
      writeLine(
        io.stdout,
        config.fhir.baseUrl
          ? `  FHIR endpoint: ${config.fhir.baseUrl} (auth: ${config.fhir.auth.type})`
          : `  FHIR endpoint: none configured: ${NO_ENDPOINT}`
      );
      const target = config.writeback.fhir;
      writeLine(
        io.stdout,
        target
          ? `  programme record written to: ${target.baseUrl} (auth: ${target.auth.type}; the source is only read)`
          : '  programme record written to: the FHIR endpoint itself'
      );
      writeLine(
        io.stdout,
        `  mapping: ${mapping.name} (${mapping.features.length} features, ${mapping.valueSets.length} value sets)`
      );
      writeLine(io.stdout, `  programme: ${programme.id} ${programme.version}; scope: ${config.scope.type}`);
      const ui = config.service.ui;
      writeLine(
        io.stdout,
        `  MDT workspace: ${!ui.enabled ? 'off' : ui.oidc ? `sign-in with ${ui.oidc.issuer}` : 'development sign-in (loopback only)'}`
      );
    });
}
