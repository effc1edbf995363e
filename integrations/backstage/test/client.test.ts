import { checkEndpoint, GovgateRequestError, parseDecision, postCheck } from '../src';
import { repositoryUrl } from '../src/actions/check';

function answer(status: number, body: string): typeof fetch {
  return async () => new Response(body, { status, headers: { 'content-type': 'application/json' } });
}

const request = {
  files: [{ path: 'catalog-info.yaml', content: 'kind: Component\n', encoding: 'utf-8' as const }],
};

describe('checkEndpoint', () => {
  it('adds /v1/check to a base URL and keeps a full one', () => {
    expect(checkEndpoint('http://gate:8080')).toBe('http://gate:8080/v1/check');
    expect(checkEndpoint('https://backstage.example.com/api/proxy/govgate/')).toBe(
      'https://backstage.example.com/api/proxy/govgate/v1/check',
    );
    expect(checkEndpoint('http://gate:8080/v1/check')).toBe('http://gate:8080/v1/check');
    expect(() => checkEndpoint('gate:8080')).toThrow(/must be http or https/);
    expect(() => checkEndpoint('http://user:pw@gate')).toThrow(/must not carry credentials/);
  });
});

describe('postCheck', () => {
  it('fails closed on answers that are not decisions', async () => {
    await expect(
      postCheck({
        url: 'http://gate',
        request,
        timeoutMs: 1000,
        fetchImpl: answer(200, '<html>proxy</html>'),
      }),
    ).rejects.toThrow(/HTTP 200 without a decision \(<html>proxy<\/html>\)/);
    await expect(
      postCheck({
        url: 'http://gate',
        request,
        timeoutMs: 1000,
        fetchImpl: answer(200, '{"outcome":"maybe","findings":[]}'),
      }),
    ).rejects.toThrow(/without a decision/);
    await expect(
      postCheck({
        url: 'http://gate',
        request,
        timeoutMs: 1000,
        fetchImpl: answer(502, '{"error":"bad gateway"}'),
      }),
    ).rejects.toThrow(/HTTP 502 at http:\/\/gate\/v1\/check: bad gateway; the check fails closed/);
  });

  it('fails closed when the server does not answer in time', async () => {
    const hang: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    const err = await postCheck({ url: 'http://gate', request, timeoutMs: 50, fetchImpl: hang }).catch(
      e => e,
    );
    expect(err).toBeInstanceOf(GovgateRequestError);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect((err as Error).message).toMatch(/did not answer within 0s/);
  });

  it('sends the token as a bearer token', async () => {
    let seen: string | null = null;
    const capture: typeof fetch = async (_url, init) => {
      seen = new Headers(init?.headers).get('authorization');
      return new Response(
        '{"outcome":"pass","environment":"dev","findings":[],"summary":{"block":0,"warn":0,"waived":0},"audit":null}',
      );
    };
    const res = await postCheck({
      url: 'http://gate',
      token: 't0k',
      request,
      timeoutMs: 1000,
      fetchImpl: capture,
    });
    expect(seen).toBe('Bearer t0k');
    expect(res.decision.outcome).toBe('pass');
  });
});

describe('parseDecision', () => {
  it('rejects findings without a known action', () => {
    expect(
      parseDecision({ outcome: 'pass', findings: [{ check: 'X', action: 'ignore' }], summary: {} }),
    ).toBeUndefined();
  });
});

describe('repositoryUrl', () => {
  it('turns RepoUrlPicker values into repository URLs', () => {
    expect(repositoryUrl('github.com?owner=acme&repo=payments')).toBe('https://github.com/acme/payments');
    expect(repositoryUrl('dev.azure.com?organization=acme&project=shop&repo=payments')).toBe(
      'https://dev.azure.com/acme/shop/payments',
    );
    expect(repositoryUrl('https://gitlab.com/acme/payments')).toBe('https://gitlab.com/acme/payments');
    expect(repositoryUrl('  ')).toBeUndefined();
  });
});
