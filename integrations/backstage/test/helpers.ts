import type { LoggerService } from '@backstage/backend-plugin-api';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGovgateCheckAction, type GovgateCheckActionOptions } from '../src';

type CheckAction = ReturnType<typeof createGovgateCheckAction>;
export type CheckInput = Parameters<CheckAction['handler']>[0]['input'];

/** One line the action wrote to the step log. */
export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
}

/** A step logger that keeps what it is given. */
export function capturingLogger(lines: LogLine[]): LoggerService {
  const logger: LoggerService = {
    error: message => void lines.push({ level: 'error', message }),
    warn: message => void lines.push({ level: 'warn', message }),
    info: message => void lines.push({ level: 'info', message }),
    debug: message => void lines.push({ level: 'debug', message }),
    child: () => logger,
  };
  return logger;
}

export interface ActionRun {
  error: Error | undefined;
  outputs: { [name: string]: unknown };
  lines: LogLine[];
  /** The request bodies sent to gate serve. */
  requests: Array<{ [key: string]: unknown }>;
}

export const TEMPLATE_REF = 'template:default/payments-service';
export const USER_REF = 'user:default/jane';

/** Run govgate:check on `workspace` with a mock scaffolder context, recording what it sent and logged. */
export async function runCheck(
  workspace: string,
  input: CheckInput,
  options: Omit<GovgateCheckActionOptions, 'fetchImpl'> = {},
): Promise<ActionRun> {
  const requests: Array<{ [key: string]: unknown }> = [];
  const recordingFetch: typeof fetch = async (url, init) => {
    if (typeof init?.body === 'string') requests.push(JSON.parse(init.body) as { [key: string]: unknown });
    return fetch(url, init);
  };
  const action = createGovgateCheckAction({ env: {}, ...options, fetchImpl: recordingFetch });
  const lines: LogLine[] = [];
  const ctx = createMockActionContext<CheckInput>({
    input,
    workspacePath: workspace,
    logger: capturingLogger(lines),
    templateInfo: { entityRef: TEMPLATE_REF },
    user: { ref: USER_REF },
  });
  let error: Error | undefined;
  try {
    await action.handler(ctx);
  } catch (err) {
    error = err instanceof Error ? err : new Error(String(err));
  }
  const calls = (ctx.output as jest.Mock).mock.calls as Array<[string, unknown]>;
  return { error, outputs: Object.fromEntries(calls), lines, requests };
}

/** A new empty folder, removed by `cleanup`. */
export async function tempDir(prefix: string, cleanup: string[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

/** The messages of the lines at `level`. */
export function messages(run: ActionRun, level?: LogLine['level']): string[] {
  return run.lines.filter(l => level === undefined || l.level === level).map(l => l.message);
}
