/** `npm run bench`: performance figures, measured, never asserted in tests. */
import { benchSearchIndex } from './search-index';

async function main(): Promise<void> {
  await benchSearchIndex();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
