import { mockServices } from '@backstage/backend-test-utils';
import { promises as fs } from 'node:fs';
import { component, sbom, template, writeWorkspace } from './fixtures';
import { freePort, startGateServe, type GateServe } from './gateServe';
import { messages, runCheck, tempDir, TEMPLATE_REF, USER_REF } from './helpers';

// These tests run the action against a real `gate serve` process: nothing here mocks the server.
const TOKEN = 'backstage-test-token-0123456789';
const MAX_REQUEST_BYTES = 256 * 1024;

const cleanup: string[] = [];
let server: GateServe;

beforeAll(async () => {
  server = await startGateServe({ token: TOKEN, maxRequestBytes: MAX_REQUEST_BYTES });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all(cleanup.map(dir => fs.rm(dir, { recursive: true, force: true })));
});

/** A workspace as fetch:template leaves it: entity, template, SBOM, plus files the check must leave out. */
async function goodWorkspace(overrides: Parameters<typeof writeWorkspace>[1] = {}): Promise<string> {
  const dir = await tempDir('govgate-ws-', cleanup);
  return writeWorkspace(dir, {
    'catalog-info.yaml': component('payments'),
    'template.yaml': template('payments-service'),
    'sbom.cdx.json': sbom([
      ['express', '4.21.2', 'MIT'],
      ['left-pad', '1.3.0', 'MIT'],
    ]),
    'tsconfig.json': { compilerOptions: { strict: true } },
    'README.md': '# payments\n',
    // Would block if sent: a dependency's entity without an owner, and a lock file.
    'node_modules/some-dep/catalog-info.yaml': component('some-dep', { owner: undefined }),
    '.git/info/attributes.json': { ignored: true },
    'package-lock.json': { lockfileVersion: 3, packages: {} },
    ...overrides,
  });
}

describe('govgate:check against a real gate serve', () => {
  it('passes a clean workspace, sets the outputs and sends the workspace files with the template context', async () => {
    const ws = await goodWorkspace();
    const run = await runCheck(ws, {
      environment: 'prod',
      url: server.url,
      token: TOKEN,
      repoUrl: 'github.com?owner=acme&repo=payments',
    });

    expect(run.error).toBeUndefined();
    expect(run.outputs.outcome).toBe('pass');
    expect(run.outputs.record).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs.summary).toEqual({ block: 0, warn: 0, waived: 0 });
    expect(messages(run, 'info')).toContainEqual(
      expect.stringMatching(
        /^govgate: PASS in prod: 0 blocking findings, 0 warnings, 0 waived; audit record sha256:[0-9a-f]{64} \(#\d+\)$/,
      ),
    );

    expect(run.requests).toHaveLength(1);
    const request = run.requests[0] as {
      files: Array<{ path: string; encoding: string }>;
      context: unknown;
      environment: string;
    };
    expect(request.environment).toBe('prod');
    expect(request.files.map(f => f.path)).toEqual([
      'catalog-info.yaml',
      'sbom.cdx.json',
      'template.yaml',
      'tsconfig.json',
    ]);
    expect(request.files.every(f => f.encoding === 'utf-8')).toBe(true);
    expect(request.context).toEqual({
      repository: 'https://github.com/acme/payments',
      actor: USER_REF,
      change_id: TEMPLATE_REF,
      run_id: 'mock-task-id',
    });
  });

  it('passes on warn: the findings and their fixes are in the step log, the outputs are set', async () => {
    const ws = await goodWorkspace({
      'catalog-info.yaml': component('payments', {}, { description: undefined }),
    });
    const run = await runCheck(ws, { environment: 'prod', url: server.url, token: TOKEN });

    expect(run.error).toBeUndefined();
    expect(run.outputs.outcome).toBe('warn');
    expect(run.outputs.summary).toEqual({ block: 0, warn: 1, waived: 0 });
    expect(run.outputs.record).toMatch(/^sha256:/);
    const warns = messages(run, 'warn');
    expect(warns).toEqual([
      expect.stringMatching(
        /^WARN low CATALOG-DESCRIPTION catalog-info\.yaml:\d+ \(component:default\/payments\): .*description/,
      ),
      expect.stringMatching(/^ {2}fix: \S/),
    ]);
    expect(messages(run, 'info')).toContainEqual(
      expect.stringMatching(/^govgate: WARN in prod: 0 blocking findings, 1 warning, 0 waived/),
    );
  });

  it('stops the template on block, with each finding and its fix in the step log', async () => {
    const ws = await goodWorkspace({
      'catalog-info.yaml': component('payments', { owner: undefined }),
      'sbom.cdx.json': sbom([['left-pad', '1.3.0', 'GPL-3.0-only']]),
    });
    const run = await runCheck(ws, { environment: 'prod', url: server.url, token: TOKEN });

    expect(run.error?.message).toMatch(
      /^govgate blocked this change in prod: \d+ findings \(.*CATALOG-OWNER.*\); the fixes are in the step log; audit record sha256:/,
    );
    expect(run.error?.message).toContain('SBOM-LICENSE-DENIED');
    expect(run.outputs.outcome).toBe('block');
    expect((run.outputs.summary as { block: number }).block).toBeGreaterThanOrEqual(2);

    const errors = messages(run, 'error');
    const owner = errors.findIndex(m =>
      /^BLOCK high CATALOG-OWNER catalog-info\.yaml:\d+ \(component:default\/payments\): .*no spec\.owner/.test(
        m,
      ),
    );
    expect(owner).toBeGreaterThanOrEqual(0);
    expect(errors[owner + 1]).toMatch(/^ {2}fix: Set spec\.owner/);
    const license = errors.findIndex(m =>
      m.startsWith('BLOCK critical SBOM-LICENSE-DENIED sbom.cdx.json (pkg:npm/left-pad@1.3.0): '),
    );
    expect(license).toBeGreaterThanOrEqual(0);
    expect(errors[license + 1]).toMatch(/^ {2}fix: /);
    expect(errors[errors.length - 1]).toMatch(/^govgate: BLOCK in prod: \d+ blocking findings/);
  });

  it('stops on warn when failOn is warn', async () => {
    const ws = await goodWorkspace({
      'catalog-info.yaml': component('payments', {}, { description: undefined }),
    });
    const run = await runCheck(ws, { environment: 'prod', url: server.url, token: TOKEN, failOn: 'warn' });

    expect(run.error?.message).toMatch(
      /^govgate warned on this change in prod and failOn is warn: 1 finding \(CATALOG-DESCRIPTION\)/,
    );
    expect(run.outputs.outcome).toBe('warn');
  });

  it('checks only the paths given (files and globs)', async () => {
    const ws = await goodWorkspace({
      'sbom.cdx.json': sbom([['left-pad', '1.3.0', 'GPL-3.0-only']]),
      'services/api/catalog-info.yaml': component('api'),
    });
    const run = await runCheck(ws, {
      environment: 'prod',
      url: server.url,
      token: TOKEN,
      paths: ['catalog-info.yaml', 'services/**/*.yaml'],
    });

    expect(run.error).toBeUndefined();
    expect(run.outputs.outcome).toBe('pass');
    const request = run.requests[0] as { files: Array<{ path: string }> };
    expect(request.files.map(f => f.path)).toEqual(['catalog-info.yaml', 'services/api/catalog-info.yaml']);
  });

  it('takes the URL and token from the backend config, then from GOVGATE_URL / GOVGATE_TOKEN', async () => {
    const ws = await goodWorkspace();
    const config = mockServices.rootConfig({
      data: { govgate: { baseUrl: server.url, token: TOKEN, environment: 'prod' } },
    });
    const fromConfig = await runCheck(ws, {}, { config });
    expect(fromConfig.error).toBeUndefined();
    expect(fromConfig.outputs.outcome).toBe('pass');
    expect(fromConfig.requests[0]?.environment).toBe('prod');

    const fromEnv = await runCheck(ws, {}, { env: { GOVGATE_URL: `${server.url}/`, GOVGATE_TOKEN: TOKEN } });
    expect(fromEnv.error).toBeUndefined();
    expect(fromEnv.outputs.outcome).toBe('pass');
    expect(fromEnv.requests[0]?.environment).toBeUndefined();
  });

  it('says so in the step log when a step points the check at another server than the configured one', async () => {
    const ws = await goodWorkspace();
    const config = mockServices.rootConfig({ data: { govgate: { baseUrl: server.url, token: TOKEN } } });
    const other = server.url.replace('127.0.0.1', 'localhost');
    const run = await runCheck(ws, { environment: 'prod', url: other }, { config });

    expect(run.error).toBeUndefined();
    expect(messages(run, 'warn')).toEqual([
      `govgate: this step's url overrides the configured gate serve (${server.url}/v1/check)`,
    ]);
  });

  it('fails closed on a wrong token (401)', async () => {
    const ws = await goodWorkspace();
    const run = await runCheck(ws, { environment: 'prod', url: server.url, token: 'not-the-token-at-all' });

    expect(run.error?.message).toMatch(
      /^govgate refused the token \(HTTP 401\): missing or wrong bearer token/,
    );
    expect(run.error?.message).not.toContain('not-the-token-at-all');
    expect(run.outputs).toEqual({});
  });

  it('fails closed without a token when the server requires one (401)', async () => {
    const ws = await goodWorkspace();
    const run = await runCheck(ws, { environment: 'prod', url: server.url });

    expect(run.error?.message).toMatch(/HTTP 401.*No token was sent/);
  });

  it('fails closed on a request gate serve rejects (400), with its remediation', async () => {
    const ws = await goodWorkspace();
    const run = await runCheck(ws, { environment: 'nowhere', url: server.url, token: TOKEN });

    expect(run.error?.message).toMatch(/^govgate rejected the request \(HTTP 400\): .*nowhere.*\. Fix: /);
    expect(run.outputs).toEqual({});
  });

  it('fails closed when the request is larger than gate serve accepts (413)', async () => {
    const ws = await goodWorkspace({
      'sbom.cdx.json': sbom(
        Array.from({ length: 4000 }, (_, i): [string, string, string] => [`pkg-${i}`, '1.0.0', 'MIT']),
      ),
    });
    const run = await runCheck(ws, { environment: 'prod', url: server.url, token: TOKEN });

    expect(run.error?.message).toMatch(/^the request is too large for govgate \(HTTP 413, \d+ bytes sent\)/);
  });

  it('fails closed when gate serve is unreachable', async () => {
    const ws = await goodWorkspace();
    const port = await freePort();
    const run = await runCheck(ws, { environment: 'prod', url: `http://127.0.0.1:${port}`, token: TOKEN });

    expect(run.error?.message).toMatch(
      new RegExp(
        `^govgate is unreachable at http://127\\.0\\.0\\.1:${port}/v1/check \\(.*ECONNREFUSED.*\\); the check fails closed`,
      ),
    );
    expect(run.outputs).toEqual({});
  });

  it('fails closed when no URL is configured anywhere', async () => {
    const ws = await goodWorkspace();
    const run = await runCheck(ws, { environment: 'prod' });

    expect(run.error?.message).toMatch(/^govgate:check has no gate serve URL/);
    expect(run.requests).toEqual([]);
  });

  it('fails closed on a workspace with nothing to check', async () => {
    const ws = await tempDir('govgate-empty-', cleanup);
    await writeWorkspace(ws, { 'README.md': 'nothing here\n' });
    const run = await runCheck(ws, { url: server.url, token: TOKEN });

    expect(run.error?.message).toMatch(/found no YAML or JSON files/);
    expect(run.requests).toEqual([]);
  });
});

describe('govgate:check when gate serve cannot decide', () => {
  let broken: GateServe | undefined;

  afterAll(async () => {
    await broken?.stop();
  });

  it('fails closed on an audit failure (503), logging the error', async () => {
    broken = await startGateServe({ token: TOKEN });
    // The audit log cannot be opened: a regular file sits where its folder belongs.
    await fs.rm(broken.auditLog, { recursive: true, force: true });
    await fs.writeFile(broken.auditLog, 'not a log\n');

    const ws = await goodWorkspace();
    const run = await runCheck(ws, { environment: 'prod', url: broken.url, token: TOKEN });

    expect(run.error?.message).toMatch(
      /^govgate could not decide \(HTTP 503\): audit record not written: .*; the check fails closed/,
    );
    expect(run.outputs.outcome).toBe('error');
    expect(run.outputs.record).toBeNull();
    expect(messages(run, 'error')).toContainEqual(
      expect.stringMatching(/^govgate: ERROR: audit record not written/),
    );
  }, 120_000);
});
