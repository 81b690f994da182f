/**
 * cli/stack: `tsswarm stack deploy` from compose files. Compose text → yaml-tree (lines kept) →
 * interpolate (`${VAR}` from the environment and `.env`) → decode-file / decode-service /
 * decode-deploy (typed, checked: ComposeProject) → merge (override files) → check-project →
 * convert (specs named STACK_*, namespace label) → deploy-plan (what to create, update, remove;
 * pure) → deploy (the calls). stack-view shows `stack ls`.
 */
export { ComposeError, type Pos } from './compose-error.js';
export type { ComposeProject } from './compose-model.js';
export { checkStackName, convertProject, namespaceLabel, type DesiredStack } from './convert.js';
export { deployStack, removeStack, type DeployOptions, type DeployResult, type StackClient, type StackOutput } from './deploy.js';
export { inStack, planObjects, planServices, stackMembers } from './deploy-plan.js';
export { ignoredKeysWarning } from './ignored-keys.js';
export { interpolate } from './interpolate.js';
export { loadProject, type ComposeSource, type LoadInput, type LoadedProject } from './load.js';
export { nextSpec, sameSpec } from './spec-diff.js';
export { stackRows, stackTable } from './stack-view.js';
