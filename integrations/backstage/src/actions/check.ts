import type { RootConfigService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { postCheck, checkEndpoint, type CheckContext, type Decision, type Finding } from '../client';
import { findingLines, logSafe, summaryLine } from '../report';
import { DEFAULT_LIMITS, readFiles, selectFiles, WorkspaceError, type FileLimits } from '../workspace';

export const ACTION_ID = 'govgate:check';

/** How long to wait for gate serve, unless `govgate.timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface GovgateCheckActionOptions {
  /** The backend config; `govgate.*` gives the defaults for the URL, token, environment and limits. */
  config?: RootConfigService;
  /** Where GOVGATE_URL and GOVGATE_TOKEN are read (default: process.env). */
  env?: { [name: string]: string | undefined };
  /** The fetch implementation (default: the global fetch). */
  fetchImpl?: typeof fetch;
}

const ACTION_RANK: { [action in Finding['action']]: number } = { block: 0, warn: 1, waived: 2 };

/**
 * `repoUrl` as the scaffolder's RepoUrlPicker writes it (`github.com?owner=acme&repo=payments`)
 * turned into the repository URL the decision records; full URLs pass through unchanged.
 */
export function repositoryUrl(repoUrl: string): string | undefined {
  const value = repoUrl.trim();
  if (value === '') return undefined;
  if (/^https?:\/\//i.test(value)) return value;
  let parsed: URL;
  try {
    parsed = new URL(`https://${value}`);
  } catch {
    return value;
  }
  const q = parsed.searchParams;
  const parts = [
    q.get('owner') ?? q.get('organization') ?? q.get('workspace'),
    q.get('project'),
    q.get('repo'),
  ]
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .map(part => part.replace(/^\/+|\/+$/g, ''));
  return parts.length
    ? `https://${parsed.host}/${parts.join('/')}`
    : `https://${parsed.host}${parsed.pathname}`;
}

function positiveNumber(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`govgate:check: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * The `govgate:check` scaffolder action: sends the generated workspace's governance inputs to
 * `gate serve` (`POST /v1/check`) and stops the template before publishing unless the gate passes.
 * Every failure (block, engine or audit error, rejected request, bad token, unreachable server)
 * stops it too: the check fails closed.
 */
export function createGovgateCheckAction(options: GovgateCheckActionOptions = {}) {
  const { config, fetchImpl } = options;
  const env = options.env ?? process.env;

  return createTemplateAction({
    id: ACTION_ID,
    description:
      'Runs the govgate policy gate (gate serve, POST /v1/check) on the files of the generated workspace. ' +
      'Fails the step, and so stops the template before publish, when the gate blocks, errors or cannot be reached.',
    examples: [
      {
        description:
          'Check the catalog entity, template files and SBOM of the workspace against the prod tier table',
        example: [
          'steps:',
          '  - id: govgate',
          '    name: Governance check',
          '    action: govgate:check',
          '    input:',
          '      environment: prod',
          '      repoUrl: ${{ parameters.repoUrl }}',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        environment: z =>
          z
            .string()
            .min(1)
            .optional()
            .describe(
              'Environment whose tier table applies (e.g. prod) [govgate.environment, then the server default]',
            ),
        paths: z =>
          z
            .array(z.string().min(1))
            .optional()
            .describe(
              'Workspace-relative files, folders or globs to check [the YAML and JSON files of the workspace, ' +
                'without hidden folders, node_modules and lock files]',
            ),
        url: z =>
          z
            .string()
            .optional()
            .describe('gate serve base URL, e.g. http://govgate:8080 [govgate.baseUrl, then GOVGATE_URL]'),
        token: z =>
          z
            .string()
            .optional()
            .describe('Bearer token of gate serve; pass it from secrets [govgate.token, then GOVGATE_TOKEN]'),
        failOn: z =>
          z
            .enum(['block', 'warn'])
            .optional()
            .describe('Stop the template on a block (default) or already on a warn'),
        service: z => z.string().optional().describe('Service id recorded in the decision'),
        repoUrl: z =>
          z
            .string()
            .optional()
            .describe(
              'The repository the template publishes to (RepoUrlPicker format or URL), recorded in the decision',
            ),
      },
      output: {
        outcome: z =>
          z.enum(['pass', 'warn', 'block', 'error']).describe('The decision: pass, warn, block or error'),
        record: z =>
          z
            .string()
            .nullable()
            .describe('sha256 of the signed audit record of the decision, null when none was written'),
        summary: z =>
          z
            .object({ block: z.number().int(), warn: z.number().int(), waived: z.number().int() })
            .describe('Findings by action'),
      },
    },
    async handler(ctx) {
      const input = ctx.input;
      const configuredUrl = config?.getOptionalString('govgate.baseUrl') || env.GOVGATE_URL;
      const url = input.url || configuredUrl;
      if (!url) {
        throw new Error(
          'govgate:check has no gate serve URL: set govgate.baseUrl in app-config, GOVGATE_URL in the backend ' +
            'environment, or the url input; the check fails closed, so the template stops before publishing',
        );
      }
      const endpoint = checkEndpoint(url);
      if (input.url && configuredUrl && checkEndpoint(configuredUrl) !== endpoint) {
        // Visible in the step log: a template pointing the check at another server than the platform's.
        ctx.logger.warn(
          `govgate: this step's url overrides the configured gate serve (${checkEndpoint(configuredUrl)})`,
        );
      }
      const token =
        input.token || config?.getOptionalString('govgate.token') || env.GOVGATE_TOKEN || undefined;
      const environment = input.environment || config?.getOptionalString('govgate.environment') || undefined;
      const failOn = input.failOn ?? 'block';
      const setting = (key: string, fallback: number): number =>
        positiveNumber(config?.getOptionalNumber(`govgate.${key}`), fallback, `govgate.${key}`);
      const limits: FileLimits = {
        maxFiles: setting('maxFiles', DEFAULT_LIMITS.maxFiles),
        maxBytes: setting('maxBytes', DEFAULT_LIMITS.maxBytes),
      };
      const timeoutMs = setting('timeoutMs', DEFAULT_TIMEOUT_MS);

      let files;
      try {
        const chosen = await selectFiles(ctx.workspacePath, input.paths, limits);
        files = await readFiles(ctx.workspacePath, chosen, limits);
      } catch (err) {
        if (err instanceof WorkspaceError) throw new Error(`govgate:check: ${err.message}`);
        throw err;
      }
      if (files.files.length === 0) {
        throw new Error(
          'govgate:check found no YAML or JSON files in the workspace to check; ' +
            'fetch the skeleton before this step, or name the files with the paths input',
        );
      }

      const context: CheckContext = {};
      const repository = input.repoUrl ? repositoryUrl(input.repoUrl) : undefined;
      if (repository) context.repository = repository;
      if (ctx.user?.ref) context.actor = ctx.user.ref;
      if (ctx.templateInfo?.entityRef) context.change_id = ctx.templateInfo.entityRef;
      if (ctx.task.id) context.run_id = ctx.task.id;

      ctx.logger.info(
        `govgate: checking ${files.files.length} file${files.files.length === 1 ? '' : 's'} ` +
          `(${files.bytes} bytes) at ${endpoint}${environment ? ` for ${environment}` : ''}`,
      );

      const { status, decision } = await postCheck({
        url,
        token,
        request: {
          ...(environment ? { environment } : {}),
          ...(input.service ? { service: input.service } : {}),
          files: files.files,
          context,
        },
        timeoutMs,
        signal: ctx.signal,
        fetchImpl,
      });

      logDecision(ctx.logger, decision);
      ctx.output('outcome', decision.outcome);
      ctx.output('record', decision.audit?.record ?? null);
      ctx.output('summary', { ...decision.summary });

      if (decision.outcome === 'error') {
        throw new Error(
          `govgate could not decide (HTTP ${status}): ${logSafe(decision.error || 'engine or audit failure')}; ` +
            'the check fails closed, so the template stops before publishing',
        );
      }
      if (status !== 200 && decision.outcome !== 'block') {
        throw new Error(
          `govgate answered HTTP ${status} with outcome ${decision.outcome}; the check fails closed`,
        );
      }
      if (decision.outcome === 'block') {
        throw new Error(stopMessage(decision, 'block'));
      }
      if (decision.outcome === 'warn' && failOn === 'warn') {
        throw new Error(stopMessage(decision, 'warn'));
      }
    },
  });
}

interface StepLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Every finding in the step log (blocking first), then one summary line. */
export function logDecision(logger: StepLogger, decision: Decision): void {
  const ordered = [...decision.findings].sort((a, b) => ACTION_RANK[a.action] - ACTION_RANK[b.action]);
  for (const finding of ordered) {
    const { line, fix } = findingLines(finding);
    const log =
      finding.action === 'block' ? logger.error : finding.action === 'warn' ? logger.warn : logger.info;
    log.call(logger, line);
    if (fix) log.call(logger, fix);
  }
  if (decision.outcome === 'error') {
    logger.error(`govgate: ERROR: ${logSafe(decision.error || 'the gate could not decide')}`);
  }
  (decision.outcome === 'block' || decision.outcome === 'error' ? logger.error : logger.info).call(
    logger,
    summaryLine(decision),
  );
}

function stopMessage(decision: Decision, action: 'block' | 'warn'): string {
  const checks = [...new Set(decision.findings.filter(f => f.action === action).map(f => f.check))];
  const count = action === 'block' ? decision.summary.block : decision.summary.warn;
  const env = decision.environment ? ` in ${decision.environment}` : '';
  const what =
    action === 'block'
      ? `govgate blocked this change${env}`
      : `govgate warned on this change${env} and failOn is warn`;
  const record = decision.audit ? `; audit record ${decision.audit.record}` : '';
  return `${what}: ${count} finding${count === 1 ? '' : 's'} (${checks.join(', ')}); the fixes are in the step log${record}`;
}
