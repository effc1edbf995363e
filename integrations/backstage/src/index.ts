/**
 * Backstage scaffolder backend module for govgate: the `govgate:check` action.
 *
 * @packageDocumentation
 */
import { scaffolderModuleGovgate } from './module';

export default scaffolderModuleGovgate;
export { scaffolderModuleGovgate };
export { createGovgateCheckAction, ACTION_ID, DEFAULT_TIMEOUT_MS, repositoryUrl } from './actions/check';
export type { GovgateCheckActionOptions } from './actions/check';
export { postCheck, parseDecision, checkEndpoint, GovgateRequestError } from './client';
export type {
  CheckContext,
  CheckRequest,
  CheckResponse,
  Decision,
  FailureKind,
  Finding,
  Outcome,
  Subject,
  Summary,
} from './client';
export { selectFiles, readFiles, globToRegExp, DEFAULT_LIMITS, WorkspaceError } from './workspace';
export type { CheckFile, FileLimits } from './workspace';
