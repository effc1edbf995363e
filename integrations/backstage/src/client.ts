import type { CheckFile } from './workspace';

/** The outcome of a decision. */
export type Outcome = 'pass' | 'warn' | 'block' | 'error';

/** What a finding is about. */
export interface Subject {
  kind: string;
  path: string | null;
  ref: string | null;
  line: number | null;
}

/** One violation of one check, with the action the environment gives it. */
export interface Finding {
  check: string;
  title: string;
  severity: string;
  action: 'block' | 'warn' | 'waived';
  message: string;
  subject: Subject;
  remediation: string;
  waiver: { [key: string]: unknown } | null;
}

/** Counts of findings by action. */
export interface Summary {
  block: number;
  warn: number;
  waived: number;
}

/** The decision `gate serve` answers with (the fields this module reads). */
export interface Decision {
  outcome: Outcome;
  environment: string;
  findings: Finding[];
  summary: Summary;
  engine?: { name?: string; version?: string };
  policy?: { digest?: string };
  input?: { digest?: string };
  audit: { record: string; index: number } | null;
  error?: string | null;
}

/** Where the change comes from; recorded in the decision and its audit record. */
export interface CheckContext {
  repository?: string;
  commit?: string;
  ref?: string;
  actor?: string;
  change_id?: string;
  run_id?: string;
}

/** The body of `POST /v1/check`. */
export interface CheckRequest {
  environment?: string;
  service?: string;
  files: CheckFile[];
  context?: CheckContext;
}

/** Why a check could not produce a usable decision. Every kind stops the template. */
export type FailureKind =
  'unreachable' | 'timeout' | 'cancelled' | 'rejected' | 'unauthorized' | 'too-large' | 'protocol';

/** A check that failed before a decision could be used; the message says which failure and what to do. */
export class GovgateRequestError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;

  constructor(kind: FailureKind, message: string, status?: number) {
    super(message);
    this.name = 'GovgateRequestError';
    this.kind = kind;
    this.status = status;
  }
}

/** An answer carrying a decision: HTTP 200 (pass/warn), 422 (block) or 503 (error). */
export interface CheckResponse {
  status: number;
  decision: Decision;
}

export interface PostCheckOptions {
  /** The gate serve base URL (e.g. `http://govgate:8080`), or the full `/v1/check` URL. */
  url: string;
  token?: string;
  request: CheckRequest;
  timeoutMs: number;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
}

/** The `/v1/check` endpoint under a base URL. */
export function checkEndpoint(baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new GovgateRequestError(
      'protocol',
      `govgate URL "${baseUrl}" is not a URL; set govgate.baseUrl or GOVGATE_URL to e.g. http://govgate:8080`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new GovgateRequestError('protocol', `govgate URL "${baseUrl}" must be http or https`);
  }
  if (parsed.username || parsed.password) {
    throw new GovgateRequestError(
      'protocol',
      'govgate URL must not carry credentials; use govgate.token or GOVGATE_TOKEN',
    );
  }
  const base = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = base.endsWith('/v1/check') ? base : `${base}/v1/check`;
  return parsed.toString();
}

function isRecord(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function optStr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

const OUTCOMES: readonly string[] = ['pass', 'warn', 'block', 'error'];
const ACTIONS: readonly string[] = ['block', 'warn', 'waived'];

function parseFinding(raw: unknown): Finding | undefined {
  if (!isRecord(raw) || typeof raw.check !== 'string' || !ACTIONS.includes(str(raw.action))) return undefined;
  const subject = isRecord(raw.subject) ? raw.subject : {};
  return {
    check: raw.check,
    title: str(raw.title),
    severity: str(raw.severity, 'unknown'),
    action: raw.action as Finding['action'],
    message: str(raw.message),
    subject: {
      kind: str(subject.kind),
      path: optStr(subject.path),
      ref: optStr(subject.ref),
      line: typeof subject.line === 'number' ? subject.line : null,
    },
    remediation: str(raw.remediation),
    waiver: isRecord(raw.waiver) ? raw.waiver : null,
  };
}

/** A decision from a response body, or undefined when the body is not one. */
export function parseDecision(body: unknown): Decision | undefined {
  if (!isRecord(body) || !OUTCOMES.includes(str(body.outcome)) || !Array.isArray(body.findings)) {
    return undefined;
  }
  const findings: Finding[] = [];
  for (const raw of body.findings) {
    const finding = parseFinding(raw);
    if (finding === undefined) return undefined;
    findings.push(finding);
  }
  const summary = isRecord(body.summary) ? body.summary : {};
  const audit = isRecord(body.audit) && typeof body.audit.record === 'string' ? body.audit : null;
  return {
    outcome: body.outcome as Outcome,
    environment: str(body.environment),
    findings,
    summary: { block: count(summary.block), warn: count(summary.warn), waived: count(summary.waived) },
    engine: isRecord(body.engine)
      ? { name: str(body.engine.name), version: str(body.engine.version) }
      : undefined,
    policy: isRecord(body.policy) ? { digest: str(body.policy.digest) } : undefined,
    input: isRecord(body.input) ? { digest: str(body.input.digest) } : undefined,
    audit: audit === null ? null : { record: str(audit.record), index: count(audit.index) },
    error: optStr(body.error),
  };
}

function errorText(body: unknown, fallback: string): { error: string; remediation: string } {
  if (isRecord(body)) {
    return { error: str(body.error, fallback), remediation: str(body.remediation) };
  }
  return { error: fallback, remediation: '' };
}

function networkCause(err: unknown): string {
  const cause = isRecord(err) ? err.cause : undefined;
  if (isRecord(cause)) {
    const code = str(cause.code);
    const message = str(cause.message);
    if (code && message) return message.includes(code) ? message : `${code}: ${message}`;
    if (code || message) return code || message;
  }
  return err instanceof Error ? err.message : String(err);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/**
 * Send the files to `POST /v1/check`.
 *
 * Resolves with the decision for 200, 422 and 503 (the caller acts on its outcome); rejects with a
 * GovgateRequestError for everything else: 400, 401, 413, other statuses, bodies that are not a
 * decision, timeouts and an unreachable server. Nothing here resolves to a pass by default.
 */
export async function postCheck(options: PostCheckOptions): Promise<CheckResponse> {
  const endpoint = checkEndpoint(options.url);
  const body = JSON.stringify(options.request);
  const headers: { [key: string]: string } = {
    'content-type': 'application/json',
    accept: 'application/json',
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const doFetch = options.fetchImpl ?? fetch;

  let response: Response;
  let text: string;
  try {
    response = await doFetch(endpoint, { method: 'POST', headers, body, signal });
    text = await response.text();
  } catch (err) {
    if (options.signal?.aborted) {
      throw new GovgateRequestError(
        'cancelled',
        'the govgate check was cancelled with the task; nothing was published',
      );
    }
    if (timeout.aborted) {
      throw new GovgateRequestError(
        'timeout',
        `govgate did not answer within ${Math.round(options.timeoutMs / 1000)}s at ${endpoint}; ` +
          'the check fails closed, so the template stops before publishing',
      );
    }
    throw new GovgateRequestError(
      'unreachable',
      `govgate is unreachable at ${endpoint} (${networkCause(err)}); ` +
        'the check fails closed, so the template stops before publishing. ' +
        'Check that gate serve is running and govgate.baseUrl / GOVGATE_URL points at it',
    );
  }

  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const status = response.status;

  if (status === 200 || status === 422 || status === 503) {
    const decision = parseDecision(parsed);
    if (decision === undefined) {
      throw new GovgateRequestError(
        'protocol',
        `govgate answered HTTP ${status} without a decision (${snippet(text) || 'empty body'}); is ${endpoint} a gate serve?`,
        status,
      );
    }
    return { status, decision };
  }
  if (status === 400) {
    const { error, remediation } = errorText(parsed, snippet(text) || 'bad request');
    throw new GovgateRequestError(
      'rejected',
      `govgate rejected the request (HTTP 400): ${error}${remediation ? `. Fix: ${remediation}` : ''}`,
      status,
    );
  }
  if (status === 401) {
    const { error } = errorText(parsed, 'unauthorized');
    throw new GovgateRequestError(
      'unauthorized',
      `govgate refused the token (HTTP 401): ${error}. ` +
        (options.token
          ? 'Set govgate.token / GOVGATE_TOKEN (or the token input) to the token gate serve was started with'
          : 'No token was sent; set govgate.token or GOVGATE_TOKEN to the token gate serve was started with'),
      status,
    );
  }
  if (status === 413) {
    throw new GovgateRequestError(
      'too-large',
      `the request is too large for govgate (HTTP 413, ${Buffer.byteLength(body)} bytes sent); ` +
        'narrow the files with the paths input, or raise gate serve --max-request-bytes',
      status,
    );
  }
  const { error } = errorText(parsed, snippet(text) || response.statusText || 'no body');
  throw new GovgateRequestError(
    'protocol',
    `govgate answered HTTP ${status} at ${endpoint}: ${error}; the check fails closed`,
    status,
  );
}
