import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { scaffolderActionsExtensionPoint, type TemplateAction } from '@backstage/plugin-scaffolder-node';
import scaffolderModuleGovgate from '../src';

describe('scaffolderModuleGovgate', () => {
  it('registers govgate:check with the scaffolder, with input and output schemas', async () => {
    const added: Array<TemplateAction<any, any, any>> = [];
    const backend = await startTestBackend({
      extensionPoints: [
        [scaffolderActionsExtensionPoint, { addActions: (...actions) => void added.push(...actions) }],
      ],
      features: [
        scaffolderModuleGovgate,
        mockServices.rootConfig.factory({ data: { govgate: { baseUrl: 'http://127.0.0.1:8080' } } }),
      ],
    });
    try {
      expect(added.map(action => action.id)).toEqual(['govgate:check']);
      const schema = added[0]?.schema;
      expect(Object.keys((schema?.input as { properties: object }).properties).sort()).toEqual(
        ['environment', 'failOn', 'paths', 'repoUrl', 'service', 'token', 'url'].sort(),
      );
      expect((schema?.output as { required: string[] }).required).toEqual(['outcome', 'record', 'summary']);
    } finally {
      await backend.stop();
    }
  });
});
