import {
  mockCredentials,
  mockServices,
  startTestBackend,
  type TestBackend,
} from '@backstage/backend-test-utils';
import proxyPlugin from '@backstage/plugin-proxy-backend';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, startGateServe, type GateServe } from './gateServe';
import { runCheck, tempDir } from './helpers';
import { exampleAppConfig, loadYaml, render, step, type FormValues } from './template';

// The example templates, rendered from a filled-in form, against the real gate serve: the proxy
// variant through Backstage's real proxy plugin configured by app-config.example.yaml, the action
// variant through govgate:check configured by the same file.
const TOKEN = 'backstage-template-test-token-0123';

const form: FormValues = {
  parameters: {
    name: 'payments-api',
    description: 'Takes card payments for the shop',
    owner: 'group:default/payments',
    system: 'system:default/shop',
    lifecycle: 'production',
    pagerdutyServiceId: 'PX1Y2Z3',
    repoUrl: 'github.com?owner=acme&repo=payments-api',
  },
  userRef: 'user:default/jane',
};

const cleanup: string[] = [];
let gate: GateServe;
let backend: TestBackend;
let appConfig: Awaited<ReturnType<typeof exampleAppConfig>>;

beforeAll(async () => {
  gate = await startGateServe({ token: TOKEN });
  appConfig = await exampleAppConfig({ GOVGATE_URL: gate.url, GOVGATE_TOKEN: TOKEN });
  backend = await startTestBackend({
    features: [
      proxyPlugin,
      mockServices.rootConfig.factory({ data: appConfig }),
      // As in a real backend: a request without a token has no credentials.
      mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
    ],
  });
}, 120_000);

afterAll(async () => {
  await backend?.stop();
  await gate?.stop();
  await Promise.all(cleanup.map(dir => fs.rm(dir, { recursive: true, force: true })));
});

/** Send the govgate step's request as http:backstage:request does: JSON body, the user's Backstage token. */
async function sendProxyStep(
  values: FormValues,
  authorization?: string,
  via: TestBackend = backend,
): Promise<{ status: number; body: any }> {
  const input = render(step(await loadYaml('template.yaml'), 'govgate').input ?? null, values) as {
    method: string;
    path: string;
    headers: { [name: string]: string };
    body: unknown;
  };
  expect(input.method).toBe('POST');
  expect(input.path).toBe('/proxy/govgate/v1/check');
  const url = `http://localhost:${via.server.port()}/api${input.path}`;
  const res = await fetch(url, {
    method: input.method,
    headers: { ...input.headers, ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(input.body),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json');
  return { status: res.status, body: json && text ? JSON.parse(text) : text };
}

describe('template.yaml (http:backstage:request through the Backstage proxy)', () => {
  it('passes a well-filled form, with the gate token added by the proxy', async () => {
    const { status, body } = await sendProxyStep(form, mockCredentials.user.header(form.userRef));
    expect(status).toBe(200);
    expect(body.outcome).toBe('pass');
    expect(body.environment).toBe('prod');
    expect(body.audit.record).toMatch(/^sha256:/);
  });

  it('answers 422 with the decision when the rendered entity blocks, so the step fails before publish', async () => {
    const bad = { ...form, parameters: { ...form.parameters, name: 'Payments API!' } };
    const { status, body } = await sendProxyStep(bad, mockCredentials.user.header(form.userRef));
    expect(status).toBe(422);
    expect(body.outcome).toBe('block');
    expect(body.findings.map((f: { check: string }) => f.check)).toContain('CATALOG-VALID');
  });

  it('refuses callers without a Backstage token (the proxy requires credentials)', async () => {
    const { status } = await sendProxyStep(form);
    expect(status).toBe(401);
  });
  it('answers an error status when gate serve is down, so the step fails closed', async () => {
    const down = await startTestBackend({
      features: [
        proxyPlugin,
        mockServices.rootConfig.factory({
          data: await exampleAppConfig({
            GOVGATE_URL: `http://127.0.0.1:${await freePort()}`,
            GOVGATE_TOKEN: TOKEN,
          }),
        }),
      ],
    });
    try {
      const { status } = await sendProxyStep(form, mockCredentials.user.header(form.userRef), down);
      expect(status).toBeGreaterThanOrEqual(500);
    } finally {
      await down.stop();
    }
  });
});

describe('template-check-action.yaml (govgate:check)', () => {
  it('passes the entity catalog:write renders, with URL and token from app-config.example.yaml', async () => {
    const template = await loadYaml('template-check-action.yaml');
    const write = render(step(template, 'entity').input ?? null, form) as {
      filePath: string;
      entity: object;
    };
    const ws = await tempDir('govgate-tpl-', cleanup);
    await fs.writeFile(path.join(ws, write.filePath), stringify(write.entity));

    const govgate = step(template, 'govgate');
    expect(govgate.action).toBe('govgate:check');
    const input = render(govgate.input ?? null, form) as {
      environment: string;
      service: string;
      repoUrl: string;
    };
    const run = await runCheck(ws, input, { config: mockServices.rootConfig({ data: appConfig }) });

    expect(run.error).toBeUndefined();
    expect(run.outputs.outcome).toBe('pass');
    expect(run.requests[0]?.context).toMatchObject({ repository: 'https://github.com/acme/payments-api' });
  });
});
