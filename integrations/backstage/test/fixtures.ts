import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

type Json = { [key: string]: unknown };

/** A Backstage Component entity that satisfies every catalog check; `overrides` replaces spec fields. */
export function component(name: string, spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      description: `The ${name} service`,
      annotations: {
        'backstage.io/techdocs-ref': 'dir:.',
        'github.com/project-slug': `acme/${name}`,
        'pagerduty.com/service-id': 'P123ABC',
      },
      ...metadata,
    },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'group:default/payments',
      system: 'shop',
      ...spec,
    },
  };
}

/** A scaffolder template: fetch, the govgate check, publish, register (`steps` replaces them). */
export function template(name: string, steps?: Json[]): Json {
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: { name, title: `${name} template`, description: `Creates a ${name}` },
    spec: {
      owner: 'group:default/platform',
      type: 'service',
      parameters: [{ title: 'Service', required: ['name'], properties: { name: { type: 'string' } } }],
      steps: steps ?? [
        { id: 'fetch', name: 'Fetch', action: 'fetch:template', input: { url: './skeleton' } },
        { id: 'govgate', name: 'Governance check', action: 'govgate:check', input: { environment: 'prod' } },
        {
          id: 'publish',
          name: 'Publish',
          action: 'publish:github',
          input: { repoUrl: '${{ parameters.repoUrl }}' },
        },
        {
          id: 'register',
          name: 'Register',
          action: 'catalog:register',
          input: {
            repoContentsUrl: "${{ steps['publish'].output.repoContentsUrl }}",
            catalogInfoPath: '/catalog-info.yaml',
          },
        },
      ],
    },
  };
}

/** A CycloneDX 1.6 JSON SBOM listing npm packages with the given licenses. */
export function sbom(components: Array<[name: string, version: string, license: string]>): Json {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:6f1e1c52-8a3b-4b36-9d1f-2f0c6b7c1e11',
    version: 1,
    metadata: {
      timestamp: '2026-01-01T00:00:00Z',
      component: { type: 'application', name: 'payments', version: '1.0.0' },
    },
    components: components.map(([name, version, license]) => ({
      type: 'library',
      name,
      version,
      purl: `pkg:npm/${name}@${version}`,
      licenses: [{ license: { id: license } }],
    })),
  };
}

/** Write files into `dir`: YAML for `.yaml`/`.yml` paths, JSON for the rest, strings as they are. */
export async function writeWorkspace(
  dir: string,
  files: { [rel: string]: Json | Json[] | string },
): Promise<string> {
  for (const [rel, value] of Object.entries(files)) {
    const target = path.join(dir, rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    let text: string;
    if (typeof value === 'string') text = value;
    else if (/\.ya?ml$/.test(rel)) {
      const docs = Array.isArray(value) ? value : [value];
      text = docs.map(doc => stringify(doc)).join('---\n');
    } else text = `${JSON.stringify(value, null, 2)}\n`;
    await fs.writeFile(target, text);
  }
  return dir;
}
