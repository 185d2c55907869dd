export { buildConformanceResources, buildStructureDefinition, fileNameOf, loadProfile, PROFILES_DIR, QUESTIONNAIRES_DIR } from './build';
export type { ProfileSpec } from './structures';
export { codeSystems, valueSets } from './terminology';
export { validateAgainstProfile } from './validate';
