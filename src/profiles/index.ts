export { buildConformanceResources, buildStructureDefinition, fileNameOf, loadProfile, PROFILES_DIR } from './build';
export { PROFILE_SPECS } from './structures';
export type { ProfileSpec } from './structures';
export { codeSystems, valueSets } from './terminology';
export { validateAgainstProfile } from './validate';
