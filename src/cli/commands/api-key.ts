import type { Command } from 'commander';
import { newApiKey } from '../../service';
import type { CliIo } from '../context';
import { writeLine } from '../context';
import { UsageError } from '../options';

/** `hfu api-key`: a new API key for the service, and the hash that goes in its configuration. */
export function registerApiKey(program: Command, io: CliIo): void {
  program
    .command('api-key')
    .description('make an API key for the service: prints the key (give it to the caller) and the config entry')
    .option('--name <name>', 'who the key is for (appears in logs)', 'integration')
    .option('--role <role>', 'read (cohort, explain) or operate (also trigger runs)', 'read')
    .action((flags: { name: string; role: string }) => {
      if (flags.role !== 'read' && flags.role !== 'operate') {
        throw new UsageError(`--role must be read or operate, not '${flags.role}'`);
      }
      const { key, sha256 } = newApiKey();
      writeLine(io.stdout, `key: ${key}`);
      writeLine(io.stdout, `config (service.auth.apiKeys):`);
      writeLine(io.stdout, `  - { name: ${flags.name}, role: ${flags.role}, sha256: ${sha256} }`);
    });
}
