import type { ValueSet } from '@medplum/fhirtypes';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isSeq, parseDocument, Scalar } from 'yaml';
import type { Document } from 'yaml';
import { SuggestionError } from './suggest';
import type { AddCode, Proposal, ReadExtension, SuggestPlan } from './suggest';
import { clauseReadingAlso } from './suggest';

const MAPPING_FILE = 'mapping.yaml';
/** Close to the built-in mappings' own line width, so folded descriptions keep their shape. */
export const YAML_OUTPUT = { lineWidth: 118 };

/**
 * Copies the folder of a mapping file (the mapping, its value sets, its tests) to `out`, which must not exist yet or
 * be empty: a copy never lands on top of another mapping, nor inside the original.
 */
export function copyMappingFolder(mappingFile: string, out: string): string {
  const source = path.dirname(path.resolve(mappingFile));
  const target = path.resolve(out);
  if (path.basename(mappingFile) !== MAPPING_FILE) {
    throw new SuggestionError(`${mappingFile}: a mapping to copy must be a folder's ${MAPPING_FILE}`);
  }
  if (target === source || target.startsWith(source + path.sep) || source.startsWith(target + path.sep)) {
    throw new SuggestionError(`${out}: the copy must be outside the mapping's own folder`);
  }
  if (existsSync(target) && readdirSync(target).length) {
    throw new SuggestionError(`${out}: already exists and is not empty; give a new folder`);
  }
  const valueSets = valueSetFolder(source);
  if (!valueSets.startsWith(source + path.sep)) {
    throw new SuggestionError(`${mappingFile}: its value sets are outside its folder; copy it by hand`);
  }
  cpSync(source, target, { recursive: true });
  return path.join(target, MAPPING_FILE);
}

/** Writes the plan's proposals into the copy (never the original), each marked as proposed, with the review list. */
export function applyPlan(copyFile: string, plan: SuggestPlan, surveyName: string): void {
  const folder = path.dirname(copyFile);
  const doc = parseDocument(readFileSync(copyFile, 'utf8'));
  plan.proposals.filter((p): p is ReadExtension => p.kind === 'read-extension').forEach((p) => readAlso(doc, p));
  plan.proposals.filter((p): p is AddCode => p.kind === 'add-code').forEach((p) => addCode(folder, p));
  const header = [
    `PROPOSED by hfu mapping suggest from ${surveyName}: review every change before using this mapping.`,
    ...plan.proposals.map((p) => `  - ${describeProposal(p).what}`),
    ...(plan.decisions.length ? ['Not changed, for you to decide:'] : []),
    ...plan.decisions.map(
      (d) => `  - ${d.value} (seen ${d.count} times${d.fields.length ? ` in ${d.fields.join(', ')}` : ''}): ${d.reason}`
    ),
  ];
  doc.commentBefore = header.map((line) => ` ${line}`).join('\n');
  writeFileSync(copyFile, doc.toString(YAML_OUTPUT));
}

function readAlso(doc: Document, proposal: ReadExtension): void {
  const where = doc.getIn(['features', proposal.feature, 'where'], true);
  const key = isSeq(where)
    ? ['features', proposal.feature, 'where', proposal.clause]
    : ['features', proposal.feature, 'where'];
  const clause = doc.getIn(key);
  if (typeof clause !== 'string') {
    throw new SuggestionError(`features.${proposal.feature}.where: not the clause the survey was matched against`);
  }
  const node = new Scalar(clauseReadingAlso(clause, proposal.standardUrl, proposal.localUrl));
  node.type = Scalar.BLOCK_LITERAL;
  node.commentBefore = ` PROPOSED: also read ${proposal.localUrl} (on ${proposal.count} resources in the survey)`;
  doc.setIn(key, node);
}

function addCode(folder: string, proposal: AddCode): void {
  const dir = valueSetFolder(folder);
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(dir, f))
    .find((f) => (JSON.parse(readFileSync(f, 'utf8')) as ValueSet).id === proposal.valueSet);
  if (!file) {
    throw new SuggestionError(`no value set '${proposal.valueSet}' in ${dir}`);
  }
  const valueSet = JSON.parse(readFileSync(file, 'utf8')) as ValueSet;
  const include = valueSet.compose?.include.find((i) => i.system === proposal.system);
  if (!include) {
    throw new SuggestionError(`${proposal.valueSet} has no codes of ${proposal.system}`);
  }
  // JSON has no comments: the display says where the code came from, so a reviewer sees it in the list itself.
  (include.concept ??= []).push({
    code: proposal.code,
    display: `PROPOSED by hfu mapping suggest: local code seen ${proposal.count} times, assigned here by the engineer`,
  });
  writeFileSync(file, JSON.stringify(valueSet, null, 2) + '\n');
}

function valueSetFolder(mappingFolder: string): string {
  const doc = parseDocument(readFileSync(path.join(mappingFolder, MAPPING_FILE), 'utf8'));
  const valueSets = doc.get('valueSets');
  return path.resolve(mappingFolder, typeof valueSets === 'string' ? valueSets : 'valuesets');
}

/** One proposal in a sentence: the file it changes, what, why, and how often the survey saw it. */
export function describeProposal(proposal: Proposal): { file: string; what: string; why: string } {
  if (proposal.kind === 'add-code') {
    return {
      file: `valuesets (${proposal.valueSet})`,
      what: `add ${proposal.system}|${proposal.code} to ${proposal.valueSet}`,
      why: `seen ${proposal.count} times in ${proposal.fields.join(', ')}, in no list; you assigned it to ${proposal.valueSet}`,
    };
  }
  const placed = proposal.placed.map((p) => `${p.value.split('|').pop()} ×${p.count} (${p.lists.join(', ')})`);
  return {
    file: MAPPING_FILE,
    what: `features.${proposal.feature}.where: also read ${proposal.localUrl} where it reads ${proposal.standardUrl}`,
    why:
      `${proposal.count} resources carry the local extension, which the mapping does not read` +
      (placed.length ? `; its codes the lists already hold: ${placed.join(', ')}` : ''),
  };
}
