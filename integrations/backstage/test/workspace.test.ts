import { promises as fs } from 'node:fs';
import path from 'node:path';
import { globToRegExp, readFiles, selectFiles, WorkspaceError } from '../src';
import { component, writeWorkspace } from './fixtures';
import { tempDir } from './helpers';

const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map(dir => fs.rm(dir, { recursive: true, force: true })));
});

async function workspace(): Promise<string> {
  const dir = await tempDir('govgate-sel-', cleanup);
  return writeWorkspace(dir, {
    'catalog-info.yaml': component('payments'),
    'docs/mkdocs.yml': 'site_name: payments\n',
    'api/openapi.json': { openapi: '3.1.0' },
    'src/index.ts': 'export {};\n',
    'node_modules/dep/package.json': { name: 'dep' },
    '.github/workflows/ci.yaml': 'on: push\n',
    '.hidden.yaml': 'a: 1\n',
    'skeleton/catalog-info.yaml': 'name: ${{ values.name }}\n',
    'package-lock.json': { lockfileVersion: 3 },
  });
}

describe('globToRegExp', () => {
  it.each([
    ['*.yaml', 'catalog-info.yaml', true],
    ['*.yaml', 'a/catalog-info.yaml', false],
    ['**/*.yaml', 'catalog-info.yaml', true],
    ['**/*.yaml', 'a/b/c.yaml', true],
    ['services/**', 'services/a/b.json', true],
    ['services/**/catalog-info.yaml', 'services/catalog-info.yaml', true],
    ['services/**/catalog-info.yaml', 'other/services/catalog-info.yaml', false],
    ['sbom.?dx.json', 'sbom.cdx.json', true],
    ['[ab].json', 'b.json', true],
    ['[!ab].json', 'b.json', false],
    ['a.b', 'axb', false],
  ])('%s against %s is %s', (glob, candidate, expected) => {
    expect(globToRegExp(glob).test(candidate)).toBe(expected);
  });
});

describe('selectFiles', () => {
  it('defaults to the YAML and JSON files, without hidden, dependency and skeleton folders or lock files', async () => {
    const ws = await workspace();
    expect(await selectFiles(ws, undefined)).toEqual([
      'api/openapi.json',
      'catalog-info.yaml',
      'docs/mkdocs.yml',
    ]);
  });

  it('takes files, folders and globs, and refuses entries that match nothing or leave the workspace', async () => {
    const ws = await workspace();
    // A glob is taken at its word (the lock file too), but never reaches into hidden or dependency folders.
    expect(await selectFiles(ws, ['src/index.ts', 'docs', '**/*.json'])).toEqual([
      'api/openapi.json',
      'docs/mkdocs.yml',
      'package-lock.json',
      'src/index.ts',
    ]);
    await expect(selectFiles(ws, ['missing.yaml'])).rejects.toThrow(/"missing.yaml" does not exist/);
    await expect(selectFiles(ws, ['**/*.xml'])).rejects.toThrow(/matches no file/);
    await expect(selectFiles(ws, ['../etc/passwd'])).rejects.toThrow(/outside the workspace/);
    await expect(selectFiles(ws, ['/etc/passwd'])).rejects.toThrow(/is absolute/);
  });

  it('fails rather than sending part of the workspace when there are too many files', async () => {
    const ws = await workspace();
    await expect(selectFiles(ws, undefined, { maxFiles: 2, maxBytes: 1 << 20 })).rejects.toThrow(
      /3 files to check, more than the limit of 2/,
    );
  });
});

describe('readFiles', () => {
  it('sends UTF-8 text as is and other bytes as base64', async () => {
    const ws = await workspace();
    await fs.writeFile(path.join(ws, 'blob.json'), Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    const { files, bytes } = await readFiles(ws, ['catalog-info.yaml', 'blob.json']);
    expect(files[0]).toMatchObject({ path: 'catalog-info.yaml', encoding: 'utf-8' });
    expect(files[0]?.content).toContain('kind: Component');
    expect(files[1]).toEqual({ path: 'blob.json', encoding: 'base64', content: '//4AQQ==' });
    expect(bytes).toBeGreaterThan(4);
  });

  it('fails past the byte limit', async () => {
    const ws = await workspace();
    await expect(readFiles(ws, ['catalog-info.yaml'], { maxFiles: 10, maxBytes: 10 })).rejects.toThrow(
      WorkspaceError,
    );
  });

  it('does not follow symbolic links out of the workspace', async () => {
    const ws = await workspace();
    const outside = await tempDir('govgate-outside-', cleanup);
    await fs.writeFile(path.join(outside, 'secret.yaml'), 'token: x\n');
    await fs.symlink(path.join(outside, 'secret.yaml'), path.join(ws, 'linked.yaml'));
    await fs.symlink(outside, path.join(ws, 'linkdir'));
    expect(await selectFiles(ws, undefined)).not.toContain('linked.yaml');
    await expect(selectFiles(ws, ['linked.yaml'])).rejects.toThrow(/not a regular file or folder/);
    await expect(readFiles(ws, ['linkdir/secret.yaml'])).rejects.toThrow(
      /not a regular file inside the workspace/,
    );
  });
});
