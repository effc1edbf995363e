import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** The form a user fills in, plus who they are. */
export interface FormValues {
  parameters: { [name: string]: string };
  userRef: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A parsed file of this package (template, app-config). */
export async function loadYaml(file: string): Promise<{ [key: string]: Json }> {
  return parse(await fs.readFile(path.join(__dirname, '..', file), 'utf8')) as { [key: string]: Json };
}

function parseRepoUrl(value: string): { [field: string]: string } {
  const url = new URL(`https://${value}`);
  return {
    host: url.host,
    owner: url.searchParams.get('owner') ?? '',
    repo: url.searchParams.get('repo') ?? '',
  };
}

/**
 * The value of one template expression: `parameters.X`, `user.ref` and `(parameters.X | parseRepoUrl).field`,
 * the only forms the steps under test use. Anything else fails the test rather than rendering wrongly.
 */
function evaluate(expression: string, form: FormValues): string {
  const param = /^parameters\.(\w+)$/.exec(expression);
  if (param) return required(form.parameters, param[1] ?? '', expression);
  if (expression === 'user.ref') return form.userRef;
  const repo = /^\(parameters\.(\w+) \| parseRepoUrl\)\.(\w+)$/.exec(expression);
  if (repo)
    return required(
      parseRepoUrl(required(form.parameters, repo[1] ?? '', expression)),
      repo[2] ?? '',
      expression,
    );
  throw new Error(`the test renderer does not know the expression \${{ ${expression} }}`);
}

function required(values: { [key: string]: string }, key: string, expression: string): string {
  const value = values[key];
  if (value === undefined) throw new Error(`no value for \${{ ${expression} }}`);
  return value;
}

/** `value` with every `${{ expression }}` replaced, as the scaffolder renders a step's input. */
export function render(value: Json, form: FormValues): Json {
  if (typeof value === 'string')
    return value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_m, expr: string) => evaluate(expr, form));
  if (Array.isArray(value)) return value.map(item => render(item, form));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, form)]));
  }
  return value;
}

/** The step with `id` of a Template document. */
export function step(template: { [key: string]: Json }, id: string): { [key: string]: Json } {
  const spec = template.spec as { steps: Array<{ [key: string]: Json }> };
  const found = spec.steps.find(s => s.id === id);
  if (!found) throw new Error(`no step ${id}`);
  return found;
}

/** app-config.example.yaml with `${VAR}` substitutions from `env`, as Backstage's config loader does. */
export async function exampleAppConfig(env: { [name: string]: string }): Promise<{ [key: string]: Json }> {
  const text = await fs.readFile(path.join(__dirname, '..', 'app-config.example.yaml'), 'utf8');
  const substituted = text.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
    const value = env[name];
    if (value === undefined)
      throw new Error(`app-config.example.yaml uses \${${name}}, which the test does not set`);
    return value;
  });
  return parse(substituted) as { [key: string]: Json };
}
