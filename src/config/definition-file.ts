import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/**
 * The one way a definition (the configuration, a programme, a mapping) is read: a YAML file, or JSON by its
 * extension, checked against its zod schema. Whatever stops it is thrown as `fail(problems)`, each problem naming the
 * key it is about, so that every definition fails the same way: with every problem, not the first.
 */
export type Fail = (problems: string[]) => Error;

/** The parsed content of a YAML or `.json` file. */
export function readDefinitionFile(file: string, fail: Fail): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail([`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  const json = file.endsWith('.json');
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw fail([`not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message}`]);
  }
}

/**
 * `raw` as `schema` reads it; otherwise every issue as `key.path: message`, an unknown key by its own path.
 * `origin` may add where a key's value came from (an environment variable).
 */
export function validateDefinition<S extends z.ZodType>(
  raw: unknown,
  schema: S,
  fail: Fail,
  origin: (path: string) => string | undefined = () => undefined
): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw fail(issueProblems(result.error.issues, origin));
  }
  return result.data;
}

function issueProblems(issues: readonly z.core.$ZodIssue[], origin: (path: string) => string | undefined): string[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String);
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...base, k].join('.')) : [base.join('.')];
    return paths.map((path) => {
      const from = origin(path);
      const where = (path || '(top level)') + (from ? ` (from ${from})` : '');
      return `${where}: ${issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message}`;
    });
  });
}
